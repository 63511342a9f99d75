package moduletest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/mcpai/terraform-provider-mcpai/internal/acctest"
)

func hostNetworkWorkspace(t *testing.T, hosts []acctest.Host, extra string) *acctest.Workspace {
	var addrs []string
	for _, h := range hosts {
		addrs = append(addrs, fmt.Sprintf("%q", h.Address))
	}
	w := acctest.NewWorkspace(t, acctest.ProviderBlock(t)+fmt.Sprintf(`
module "net" {
  source = %q
  hosts  = [%s]
  %s
}
output "previous" { value = module.net.previous_values }
`, moduleSource("host-network"), strings.Join(addrs, ", "), extra))
	w.Run([]int{0}, "get")
	return w
}

// The module tunes every host, plans empty afterwards, and destroy restores
// each host as it was.
func TestAccModuleHostNetwork(t *testing.T) {
	if testing.Short() {
		t.Skip("drives the terraform CLI")
	}
	hosts := acctest.Hosts(t)
	before := map[string]string{}
	for _, h := range hosts {
		before[h.Name] = h.SysctlSnapshot(t)
	}
	w := hostNetworkWorkspace(t, hosts, `file = "/etc/sysctl.d/90-mcpai-module-acc.conf"
  extra_settings = { "net.ipv4.tcp_fin_timeout" = "21" }`)
	w.Run([]int{0}, "apply", "-auto-approve")
	destroyed := false
	t.Cleanup(func() {
		if !destroyed {
			w.Run([]int{0}, "destroy", "-auto-approve")
		}
	})
	for _, h := range hosts {
		if got := h.Sysctl(t, "net.core.somaxconn"); got != "65535" {
			t.Errorf("%s somaxconn = %s", h.Name, got)
		}
		if got := h.Sysctl(t, "net.ipv4.tcp_fin_timeout"); got != "21" {
			t.Errorf("%s extra setting tcp_fin_timeout = %s", h.Name, got)
		}
	}
	if _, out := w.Run([]int{0}, "output", "-json", "previous"); !strings.Contains(out, hosts[0].Address) || !strings.Contains(out, "net.core.somaxconn") {
		t.Errorf("previous_values output: %s", out)
	}
	// -detailed-exitcode: 0 means nothing to change.
	w.Run([]int{0}, "plan", "-detailed-exitcode")
	w.Run([]int{0}, "destroy", "-auto-approve")
	destroyed = true
	for _, h := range hosts {
		if after := h.SysctlSnapshot(t); after != before[h.Name] {
			t.Errorf("%s not restored:\nbefore:\n%s\nafter:\n%s", h.Name, before[h.Name], after)
		}
	}
}

// A bad sysctl name is refused at plan time by the resource's own check,
// before any host is touched (the module's validation is tested in
// modules/host-network/tests).
func TestAccModuleHostNetwork_validation(t *testing.T) {
	if testing.Short() {
		t.Skip("drives the terraform CLI")
	}
	h := acctest.FirstHost(t)
	before := h.SysctlSnapshot(t)
	w := hostNetworkWorkspace(t, []acctest.Host{h}, `extra_settings = { "vm.swappiness; reboot" = "1" }`)
	_, out := w.Run([]int{1}, "plan")
	if want := "Invalid Sysctl Key"; !acctest.ErrorWords(want).MatchString(out) {
		t.Errorf("plan output lacks %q:\n%s", want, out)
	}
	if after := h.SysctlSnapshot(t); after != before {
		t.Fatalf("the host changed:\n%s\n%s", before, after)
	}
}
