package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/mcpai/terraform-provider-mcpai/internal/remote"
)

// What the resources of network services (PostgreSQL, Redis) share: they
// reach the server directly or through an optional SSH tunnel, restart it
// only through SSH, and refuse settings that hold secrets.

const restartAllowed = "allowed"

// tunnel resolves the optional ssh object: nil without one.
func (d *providerData) tunnel(sshObj types.Object) (*remote.Client, diag.Diagnostics) {
	if sshObj.IsNull() {
		return nil, nil
	}
	return d.client(sshObj)
}

// tunnelError names an SSH failure (host key, credentials, unreachable) as
// such when err came from the tunnel; ok is false for any other error.
func tunnelError(summary string, tunnel *remote.Client, err error) (diag.Diagnostic, bool) {
	if tunnel == nil {
		return nil, false
	}
	d := hostError(summary, "Opening the SSH tunnel", tunnel, err)
	return d, d.Summary() != summary
}

// serviceChecks are the plan-time checks of a service resource's config.
type serviceChecks struct {
	restartDoes    string                 // what a restart does, for the error: "restarts the server on its host"
	refuse         func(name string) bool // settings that hold credentials
	refusalSummary string
	refusalDetail  string // %q is the setting's name
}

func (c serviceChecks) validate(ctx context.Context, config tfsdk.Config, ssh types.Object, restart types.String, settings types.Map, diags *diag.Diagnostics) {
	if !ssh.IsNull() {
		diags.Append(insecureWarning(ctx, config, path.Root("ssh"))...)
	}
	if restart.ValueString() == restartAllowed && ssh.IsNull() {
		diags.AddAttributeError(path.Root("restart"), "Restart Needs SSH",
			"restart = \"allowed\" "+c.restartDoes+", which needs the ssh block. Add ssh, or set restart = \"never\".")
	}
	// Secrets would sit in plain text in the plan and the state.
	names, _ := stringMap(ctx, settings, diags)
	for name := range names {
		if c.refuse(name) {
			diags.AddAttributeError(path.Root("settings").AtMapKey(name), c.refusalSummary, fmt.Sprintf(c.refusalDetail, name))
		}
	}
}

// restartCommandAttribute is a user-given restart command: arguments, run
// without a shell.
func restartCommandAttribute(desc string) schema.ListAttribute {
	return schema.ListAttribute{
		MarkdownDescription: desc,
		Optional:            true,
		ElementType:         types.StringType,
		Validators:          []validator.List{listvalidator.SizeAtLeast(1), listvalidator.ValueStringsAre(stringvalidator.LengthAtLeast(1))},
	}
}
