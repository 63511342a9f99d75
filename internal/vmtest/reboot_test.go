package vmtest

import (
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/mcpai/terraform-provider-mcpai/internal/acctest"
)

// tuningNow is what the tuning of TestAccVMTuningAcrossReboots touches, as
// the VM has it now: the live sysctl and THP mode, systemd's default
// open-file limits, a new login session's limits, and the files.
func tuningNow(t testing.TB, v acctest.VM) string {
	t.Helper()
	return v.InHost(t, `cat /proc/sys/net/ipv4/tcp_fin_timeout /sys/kernel/mm/transparent_hugepage/enabled
systemctl show -p DefaultLimitNOFILESoft -p DefaultLimitNOFILE
ls -d /etc/sysctl.d/*mcpai* /etc/tmpfiles.d/*mcpai* /etc/security/limits.d/*mcpai* /etc/systemd/system.conf.d/*mcpai* 2>/dev/null; true`) +
		"\nsession: " + v.SudoHost().InHost(t, "echo $(ulimit -Sn) $(ulimit -Hn)")
}

// TestAccVMTuningAcrossReboots: as the sudo user on a systemd host, sysctl
// and kernel tuning (THP through tmpfiles.d, the open-file limit through
// limits.d and system.conf.d) are in effect after apply and after a reboot;
// after destroy and a reboot nothing of them is back. The VM has no
// cpufreq, so no governor is set.
func TestAccVMTuningAcrossReboots(t *testing.T) {
	v := acctest.VMAt(t, 0)
	before := tuningNow(t, v)
	const sysctlFile = "/etc/sysctl.d/90-mcpai-vm.conf"
	want := `17
always madvise [never]
DefaultLimitNOFILE=131072
DefaultLimitNOFILESoft=65536
/etc/security/limits.d/90-mcpai.conf
/etc/sysctl.d/90-mcpai-vm.conf
/etc/systemd/system.conf.d/90-mcpai.conf
/etc/tmpfiles.d/mcpai-kernel.conf
session: 65536 131072`
	wantTuning := func(when string) resource.TestCheckFunc {
		return func(*terraform.State) error {
			if got := tuningNow(t, v); got != want {
				return fmt.Errorf("%s, the VM has:\n%s\nwant:\n%s", when, got, want)
			}
			return nil
		}
	}
	config := providerBlock(t, v, false) + fmt.Sprintf(`
resource "mcpai_host_sysctl" "test" {
  ssh      = %[1]s
  file     = %[2]q
  settings = { "net.ipv4.tcp_fin_timeout" = "17" }
}

resource "mcpai_host_kernel" "test" {
  ssh                          = %[1]s
  transparent_hugepage_enabled = "never"
  nofile_limit                 = { soft = "65536", hard = "131072" }
}
`, sshTarget(v), sysctlFile)

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providers,
		CheckDestroy: func(*terraform.State) error {
			v.Reboot(t)
			if got := tuningNow(t, v); got != before {
				return fmt.Errorf("after destroy and a reboot the VM has:\n%s\nnot as before:\n%s", got, before)
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				Config: config,
				// systemd reads system.conf.d when it starts: the reboot
				// shows the rest.
				Check: func(*terraform.State) error {
					if got := v.InHost(t, "cat /proc/sys/net/ipv4/tcp_fin_timeout /sys/kernel/mm/transparent_hugepage/enabled"); got != "17\nalways madvise [never]" {
						return fmt.Errorf("live after apply: %q", got)
					}
					return nil
				},
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
			{
				PreConfig: func() {
					v.Reboot(t)
					servicesUp(t, v, "after a reboot")
				},
				Config: config,
				Check:  wantTuning("after a reboot"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
		},
	})
}
