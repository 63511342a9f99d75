package provider

import (
	"fmt"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/mcpai/terraform-provider-mcpai/internal/acctest"
)

func moduleSource(name string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "modules", name)
}

func hostNetworkConfig(t *testing.T, hosts []acctest.Host, extra string) string {
	var addrs []string
	for _, h := range hosts {
		addrs = append(addrs, fmt.Sprintf("%q", h.Address))
	}
	return acctest.ProviderBlock(t) + fmt.Sprintf(`
module "net" {
  source = %q
  hosts  = [%s]
  file   = "/etc/sysctl.d/90-mcpai-module-acc.conf"
  %s
}
output "previous" { value = module.net.previous_values }
`, moduleSource("host-network"), strings.Join(addrs, ", "), extra)
}

// The module tunes every host, plans empty afterwards, and destroy restores
// each host as it was.
func TestAccModuleHostNetwork(t *testing.T) {
	hosts := acctest.Hosts(t)
	before := map[string]string{}
	for _, h := range hosts {
		before[h.Name] = hostSnapshot(t, h)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy: func(*terraform.State) error {
			for _, h := range hosts {
				if after := hostSnapshot(t, h); after != before[h.Name] {
					return fmt.Errorf("%s not restored:\nbefore:\n%s\nafter:\n%s", h.Name, before[h.Name], after)
				}
			}
			return nil
		},
		Steps: []resource.TestStep{{
			Config: hostNetworkConfig(t, hosts, `extra_settings = { "net.ipv4.tcp_fin_timeout" = "21" }`),
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
			},
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownOutputValueAtPath("previous", tfjsonpathFor(hosts[0].Address, "net.core.somaxconn"), knownvalue.NotNull()),
			},
			Check: func(*terraform.State) error {
				for _, h := range hosts {
					if got := liveValue(t, h, "net.core.somaxconn"); got != "65535" {
						return fmt.Errorf("%s somaxconn = %s", h.Name, got)
					}
					if got := liveValue(t, h, "net.ipv4.tcp_fin_timeout"); got != "21" {
						return fmt.Errorf("%s extra setting tcp_fin_timeout = %s", h.Name, got)
					}
				}
				return nil
			},
		}},
	})
}

// Bad module inputs are refused at plan time, before any host is touched.
func TestAccModuleHostNetwork_validation(t *testing.T) {
	hosts := acctest.Hosts(t)
	h := hosts[0]
	before := hostSnapshot(t, h)
	for name, tc := range map[string]struct{ extra, want string }{
		"port range":  {`local_port_range = [80, 65535]`, `local_port_range must be`},
		"somaxconn":   {`somaxconn = 10`, `somaxconn must be a whole number`},
		"file":        {`file = "/etc/sysctl.d/../x.conf"`, `file must be an absolute path`},
		"bad setting": {`extra_settings = { "vm.swappiness; reboot" = "1" }`, `Invalid Sysctl Key`},
	} {
		t.Run(name, func(t *testing.T) {
			config := hostNetworkConfig(t, []acctest.Host{h}, tc.extra)
			if name == "file" {
				config = strings.Replace(config, `file   = "/etc/sysctl.d/90-mcpai-module-acc.conf"`, "", 1)
			}
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: testAccProviders,
				Steps: []resource.TestStep{{Config: config, PlanOnly: true, ExpectError: regexp.MustCompile(strings.ReplaceAll(tc.want, " ", `\s+`))}},
			})
			if after := hostSnapshot(t, h); after != before {
				t.Fatalf("the host changed:\n%s\n%s", before, after)
			}
		})
	}
}
