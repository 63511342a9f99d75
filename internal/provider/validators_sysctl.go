package provider

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"

	"github.com/mcpai/terraform-provider-mcpai/internal/sysctl"
)

// stringCheck adapts a pure check (nil or a reason) into a string validator.
type stringCheck struct {
	summary string
	desc    string
	check   func(string) error
}

func (v stringCheck) Description(context.Context) string         { return v.desc }
func (v stringCheck) MarkdownDescription(context.Context) string { return v.desc }
func (v stringCheck) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if err := v.check(req.ConfigValue.ValueString()); err != nil {
		msg := err.Error() + "."
		if len(req.Path.Steps()) > 1 {
			// Terraform names only the resource for a nested attribute.
			msg = req.Path.String() + " " + msg
		}
		resp.Diagnostics.AddAttributeError(req.Path, v.summary, msg)
	}
}

var (
	sysctlKeyValidator = func() validator.String {
		return stringCheck{"Invalid Sysctl Key", "must be a sysctl key such as net.core.somaxconn", sysctl.ValidateKey}
	}
	sysctlValueValidator = func() validator.String {
		return stringCheck{"Invalid Sysctl Value", "must be one line of text without control characters", sysctl.ValidateValue}
	}
	// noDotDotValidator also wants the clean form: "//dev/sda" or
	// "/./proc/x" would slip past a check of the path's prefix.
	noDotDotValidator = func() validator.String {
		return stringCheck{"Invalid File Path", "must not contain '..' and must be in clean form", func(s string) error {
			if strings.Contains(s, "..") {
				return errDotDot
			}
			if clean := path.Clean(s); clean != s {
				return fmt.Errorf("%q is not in clean form (no \"//\", \"/./\" or trailing \"/\"): write %q", s, clean)
			}
			return nil
		}}
	}
)

var errDotDot = errors.New("the path must not contain '..'")
