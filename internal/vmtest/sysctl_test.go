package vmtest

import (
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/mcpai/terraform-provider-mcpai/internal/acctest"
)

const vmSysctlFile = "/etc/sysctl.d/90-mcpai-vm.conf"

// TestAccVMHostSysctl: as a sudo user on a systemd host, a setting is in
// effect after apply and after a reboot, and after destroy and a reboot the
// host is back to its own value.
func TestAccVMHostSysctl(t *testing.T) {
	v := acctest.VMAt(t, 0)
	finTimeout := func() string { return v.InHost(t, "cat /proc/sys/net/ipv4/tcp_fin_timeout") }
	if got := finTimeout(); got != "60" {
		t.Fatalf("tcp_fin_timeout is %s before the test, not the kernel's 60", got)
	}
	wantLive := func(want string) resource.TestCheckFunc {
		return func(*terraform.State) error {
			if got := finTimeout(); got != want {
				return fmt.Errorf("tcp_fin_timeout on the VM is %s, want %s", got, want)
			}
			return nil
		}
	}
	config := fmt.Sprintf(`
terraform {
  required_providers {
    mcpai = { source = "mcpai/mcpai" }
  }
}

resource "mcpai_host_sysctl" "test" {
  ssh      = %s
  file     = %q
  settings = { "net.ipv4.tcp_fin_timeout" = "17" }
}
`, v.SudoSSHBlock(t), vmSysctlFile)

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providers,
		CheckDestroy: func(s *terraform.State) error {
			v.Reboot(t)
			if out := v.InHost(t, "test -e "+vmSysctlFile+" && echo left || echo gone"); out != "gone" {
				return fmt.Errorf("%s is still on the VM after destroy", vmSysctlFile)
			}
			return wantLive("60")(s)
		},
		Steps: []resource.TestStep{
			{
				Config: config,
				Check:  wantLive("17"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
			{
				// Persisted: systemd-sysctl loads the file at boot.
				PreConfig: func() { v.Reboot(t) },
				Config:    config,
				Check:     wantLive("17"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
		},
	})
}
