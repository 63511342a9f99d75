package provider

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"

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
