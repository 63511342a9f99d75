package provider

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
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

// crudOp picks one operation's value from a timeouts block: the method
// expression timeouts.Value.Create, .Read, .Update or .Delete.
type crudOp = func(timeouts.Value, context.Context, time.Duration) (time.Duration, diag.Diagnostics)

// timedModel is a resource model with a timeouts block.
type timedModel interface {
	timeoutsBlock() timeouts.Value
}

// hostModel is a timed model of something on a host reached over SSH.
type hostModel interface {
	timedModel
	sshBlock() types.Object
}

// modelSource is where a CRUD method reads its model: req.Plan or req.State.
type modelSource interface {
	Get(ctx context.Context, target any) diag.Diagnostics
}

// begin is how a CRUD method starts: it reads the model from src into m and
// bounds ctx by op's timeout (the timeouts block's value, else def). cancel
// is never nil, for the caller to defer at once; ok is false when diags
// hold an error, one appended before included.
func begin(ctx context.Context, src modelSource, m timedModel, op crudOp, def time.Duration, diags *diag.Diagnostics) (context.Context, context.CancelFunc, bool) {
	if diags.Append(src.Get(ctx, m)...); diags.HasError() {
		return ctx, func() {}, false
	}
	return withTimeout(ctx, m.timeoutsBlock(), op, def, diags)
}

// withTimeout bounds ctx by op's timeout in t, else def: begin's second
// half, for a method whose default depends on the model it has read.
func withTimeout(ctx context.Context, t timeouts.Value, op crudOp, def time.Duration, diags *diag.Diagnostics) (context.Context, context.CancelFunc, bool) {
	timeout, d := op(t, ctx, def)
	if diags.Append(d...); diags.HasError() {
		return ctx, func() {}, false
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	return ctx, cancel, true
}

// beginOnHost is begin for a resource on a host: it also resolves the
// pooled client of m's ssh block.
func (d *providerData) beginOnHost(ctx context.Context, src modelSource, m hostModel, op crudOp, def time.Duration, diags *diag.Diagnostics) (context.Context, context.CancelFunc, *remote.Client, bool) {
	ctx, cancel, ok := begin(ctx, src, m, op, def, diags)
	if !ok {
		return ctx, cancel, nil, false
	}
	client, clientDiags := d.client(m.sshBlock())
	if diags.Append(clientDiags...); diags.HasError() {
		return ctx, cancel, nil, false
	}
	return ctx, cancel, client, true
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
