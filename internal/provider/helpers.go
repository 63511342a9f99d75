package provider

import (
	"context"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

const (
	defaultApplyTimeout = 10 * time.Minute
	defaultReadTimeout  = 5 * time.Minute
)

// stringMap converts a known map value; known is false for an unknown one.
func stringMap(ctx context.Context, v types.Map, diags *diag.Diagnostics) (m map[string]string, known bool) {
	if v.IsUnknown() {
		return nil, false
	}
	m = map[string]string{}
	if v.IsNull() {
		return m, true
	}
	// A known map can still hold unknown values (one from a resource not
	// yet created); the caller must then wait for the apply.
	var elems map[string]types.String
	diags.Append(v.ElementsAs(ctx, &elems, false)...)
	for k, e := range elems {
		if e.IsUnknown() {
			return nil, false
		}
		m[k] = e.ValueString()
	}
	return m, true
}

func mapValue(m map[string]string, diags *diag.Diagnostics) types.Map {
	v, d := types.MapValueFrom(context.Background(), types.StringType, m)
	diags.Append(d...)
	return v
}

// restrict returns the entries of m whose keys are in keys, and whether m
// had every one of them.
func restrict(m, keys map[string]string) (map[string]string, bool) {
	out := make(map[string]string, len(keys))
	for k := range keys {
		v, ok := m[k]
		if !ok {
			return nil, false
		}
		out[k] = v
	}
	return out, true
}

// ledgerNote is what every resource that writes files says of destroy.
const ledgerNote = "The host keeps a record of each file this provider writes (`/var/lib/mcpai/ledger`, root's, or `~/.local/state/mcpai/ledger` for a login user without sudo): " +
	"after a lost state, what was there before the first apply still comes from it, never this provider's own values; " +
	"destroy replaces or removes a file only while it is the one written here. A file imported, or changed since, stays as it is, with a warning."
