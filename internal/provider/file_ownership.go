package provider

import (
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"

	"github.com/mcpai/terraform-provider-mcpai/internal/remote"
)

// notOurs says why destroy may not replace or remove a file found on the
// host (exists, data), given the ledger's record of it; "" when the file is
// the one written here, or gone.
func notOurs(rec *remote.LedgerRecord, exists bool, data []byte) string {
	switch {
	case !exists:
		return ""
	case rec == nil:
		return "was not written by this provider (it was imported, copied from another host, or written by an older release)"
	case !rec.Wrote(data):
		return "changed since this provider wrote it"
	}
	return ""
}

// fileLeftWarning says that destroy left file as it is, why, and what the
// user can do.
func fileLeftWarning(diags *diag.Diagnostics, attr path.Path, client *remote.Client, file, why, then string) {
	diags.AddAttributeWarning(attr, "File Left In Place", fmt.Sprintf(
		"%s on %s %s, so destroy left it as it is rather than lose it. %s", file, client.Config(), why, then))
}
