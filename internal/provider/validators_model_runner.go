package provider

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"regexp"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"

	"github.com/mcpai/terraform-provider-mcpai/internal/kernel"
	"github.com/mcpai/terraform-provider-mcpai/internal/modelrunner"
)

var (
	absPathRE       = regexp.MustCompile(`^/[^\x00]*$`)
	containerNameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$`)
	volumeSourceRE  = regexp.MustCompile(`^(/[^\x00:]*|[a-zA-Z0-9][a-zA-Z0-9_.-]*)$`)
	// A bind is "source:target[:ro]": a ':' in the target would be read as
	// the start of the mount's options.
	volumeTargetRE = regexp.MustCompile(`^/[^\x00:]*$`)
	httpPathRE     = regexp.MustCompile(`^/[\x21-\x7e]*$`)
)

// sizeValidator checks sizes such as 64g.
type sizeValidator struct{}

func (sizeValidator) Description(context.Context) string {
	return "a size such as 64g or 512m (units are powers of 1024)"
}
func (v sizeValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }
func (sizeValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if _, err := modelrunner.ParseSize(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid Size", err.Error()+".")
	}
}

func checkDockerHost(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	switch {
	case u.Scheme == "unix" && u.Host == "" && len(u.Path) > 1:
		return nil
	case u.Scheme == "tcp" && u.Host != "" && u.Port() != "" && (u.Path == "" || u.Path == "/"):
		return nil
	}
	return fmt.Errorf("%q is not unix:///path/to/docker.sock or tcp://host:port", s)
}

func checkIP(s string) error {
	if _, err := netip.ParseAddr(s); err != nil {
		return fmt.Errorf("%q is not an IP address", s)
	}
	return nil
}

func checkCPUs(s string) error {
	_, err := modelrunner.ParseCPUs(s)
	return err
}

func checkCPUList(s string) error {
	if s == "" {
		return errors.New("the CPU list is empty")
	}
	_, err := kernel.ParseRangeList(s)
	return err
}
