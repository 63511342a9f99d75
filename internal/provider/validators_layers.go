package provider

import (
	"fmt"
	"net"
	"strconv"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"

	"github.com/mcpai/terraform-provider-mcpai/internal/dockerd"
	"github.com/mcpai/terraform-provider-mcpai/internal/kernel"
)

var (
	governorValidator = func() validator.String {
		return stringCheck{"Invalid CPU Governor", "must be a governor name such as performance", func(s string) error {
			if !kernel.ValidWord(s) {
				return fmt.Errorf("%q is not a governor name: use a lower-case name such as performance, powersave or schedutil", s)
			}
			return nil
		}}
	}
	limitValueValidator = func(item string) validator.String {
		return stringCheck{"Invalid Limit", "must be a whole number (or unlimited where the limit allows it)", func(s string) error {
			_, _, err := kernel.ParseLimitValue(item, s)
			return err
		}}
	}
)

// daemonJSONValidator checks that a configuration is one JSON object
// without repeated keys, before any host is contacted.
func daemonJSONValidator() validator.String {
	return stringCheck{"Invalid Docker Configuration", "must be a JSON object, e.g. jsonencode({...})", func(s string) error {
		_, err := dockerd.Parse([]byte(s))
		return err
	}}
}

// hostPortValidator checks a "host:port" address.
func hostPortValidator() validator.String {
	return stringCheck{"Invalid Address", "must be host:port, e.g. 10.0.0.5:6379", func(s string) error {
		host, port, err := net.SplitHostPort(s)
		if err != nil || host == "" {
			return fmt.Errorf("%q is not host:port: use e.g. 10.0.0.5:6379 or [::1]:6379", s)
		}
		if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
			return fmt.Errorf("%q: the port must be a number from 1 to 65535", s)
		}
		return nil
	}}
}
