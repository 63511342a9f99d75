package provider

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/mcpai/terraform-provider-mcpai/internal/remote"
)

// durationValidator accepts a positive Go duration such as "30s".
type durationValidator struct{}

func (durationValidator) Description(context.Context) string {
	return "must be a positive Go duration, e.g. 30s or 2m"
}
func (v durationValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }
func (durationValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	d, err := time.ParseDuration(req.ConfigValue.ValueString())
	if err != nil || d <= 0 {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid Duration",
			fmt.Sprintf("%q is not a positive duration: use a Go duration such as 30s or 2m.", req.ConfigValue.ValueString()))
	}
}

// hostKeyValidator accepts one SSH public key.
type hostKeyValidator struct{}

func (hostKeyValidator) Description(context.Context) string {
	return "must be an SSH public key such as `ssh-ed25519 AAAA...`"
}
func (v hostKeyValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }
func (hostKeyValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if _, err := remote.ParseHostKey(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid Host Key", err.Error())
	}
}

// programValidator refuses a command whose first word, the program to run,
// holds '=': a shell reads `FOO=bar prog` as a variable assignment, so such
// a command would run something else than it says, or nothing at all.
type programValidator struct{}

func (programValidator) Description(context.Context) string {
	return "the first word must be a program, not a variable assignment (NAME=value)"
}
func (v programValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }
func (programValidator) ValidateList(_ context.Context, req validator.ListRequest, resp *validator.ListResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() || len(req.ConfigValue.Elements()) == 0 {
		return
	}
	first, ok := req.ConfigValue.Elements()[0].(types.String)
	if !ok || first.IsNull() || first.IsUnknown() || !strings.Contains(first.ValueString(), "=") {
		return
	}
	at := req.Path.AtListIndex(0)
	resp.Diagnostics.AddAttributeError(at, "Variable Assignment As Program",
		fmt.Sprintf("%s is the program to run, but %q holds '=', which a shell reads as a variable assignment: the command would not run what it says. "+
			"Set the variable through env instead, e.g. [\"env\", %q, ...].", at, first.ValueString(), first.ValueString()))
}
