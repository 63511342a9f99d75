package provider

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/mcpai/terraform-provider-mcpai/internal/remote"
)

// configureData unwraps what the provider's Configure handed over; before
// that (validation runs) there is none and nothing is to be done.
func configureData(raw any, diags *diag.Diagnostics) *providerData {
	if raw == nil {
		return nil
	}
	d, ok := raw.(*providerData)
	if !ok {
		diags.AddError("Unexpected Provider Data", fmt.Sprintf("Expected *providerData, got %T. This is a bug in the provider; please report it.", raw))
		return nil
	}
	return d
}

// client resolves an ssh object to a pooled client. It does not dial:
// the first command does.
func (d *providerData) client(sshObj types.Object) (*remote.Client, diag.Diagnostics) {
	cfg, diags := remoteConfig(sshObj, d.defaults)
	if diags.HasError() {
		return nil, diags
	}
	return d.pool.Client(cfg), diags
}

// begin starts an operation on the host of sshObj: it bounds ctx by the
// operation's timeout, as the timeouts block resolved it (with timeoutDiags),
// and resolves the pooled client.
func (d *providerData) begin(ctx context.Context, sshObj types.Object, timeout time.Duration, timeoutDiags diag.Diagnostics) (context.Context, context.CancelFunc, *remote.Client, diag.Diagnostics) {
	diags := timeoutDiags
	if diags.HasError() {
		return ctx, func() {}, nil, diags
	}
	client, clientDiags := d.client(sshObj)
	diags.Append(clientDiags...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	return ctx, cancel, client, diags
}

// hostError turns a transport error into a diagnostic that says what was
// tried, what the host said and what to do; connection problems point at
// the ssh attribute.
func hostError(summary, action string, c *remote.Client, err error) diag.Diagnostic {
	var mismatch *remote.HostKeyMismatchError
	var auth *remote.AuthError
	var dial *remote.DialError
	var config *remote.ConfigError
	detail := fmt.Sprintf("%s on %s failed: %v", action, c.Config(), err)
	connecting := fmt.Sprintf("Connecting to %s failed: %v", c.Config(), err)
	switch {
	case errors.As(err, &mismatch), errors.Is(err, remote.ErrNoHostKey):
		return diag.NewAttributeErrorDiagnostic(path.Root("ssh"), "Host Key Verification Failed", connecting)
	case errors.As(err, &config):
		return diag.NewAttributeErrorDiagnostic(path.Root("ssh"), "Invalid SSH Configuration", connecting)
	case errors.As(err, &auth):
		return diag.NewAttributeErrorDiagnostic(path.Root("ssh"), "SSH Authentication Failed", connecting)
	case errors.As(err, &dial):
		return diag.NewAttributeErrorDiagnostic(path.Root("ssh"), "Unable to Connect to Host", connecting)
	case errors.Is(err, remote.ErrSudoPassword):
		return diag.NewAttributeErrorDiagnostic(path.Root("ssh").AtName("sudo"), summary, detail)
	case errors.Is(err, context.DeadlineExceeded):
		return diag.NewErrorDiagnostic(summary, detail+". The operation ran out of time: raise the timeouts block's value or ssh.timeout.")
	}
	return diag.NewErrorDiagnostic(summary, detail)
}
