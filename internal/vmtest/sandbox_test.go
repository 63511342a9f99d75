package vmtest

import (
	"strings"
	"testing"
	"time"

	"github.com/mcpai/terraform-provider-mcpai/internal/acctest"
)

// TestAccVMSandbox proves the VM tier is what the tests that use it need:
// a sudo user, systemd with the services running, power cuts, reboots and
// partitions.
func TestAccVMSandbox(t *testing.T) {
	v := acctest.VMAt(t, 0)

	if got := v.SudoHost().InHost(t, "sudo -n true && id -un && sudo -n id -un"); got != v.SudoUser+"\nroot" {
		t.Fatalf("sudo user: %q", got)
	}
	servicesUp := func(when string) {
		t.Helper()
		if got := v.InHost(t, "systemctl is-system-running --wait || true"); got != "running" && got != "degraded" {
			t.Fatalf("%s: systemd is %q: %s", when, got, v.InHost(t, "systemctl --failed --no-legend"))
		}
		got := v.InHost(t, "systemctl is-active ssh docker postgresql@15-main redis-server || true")
		if strings.Join(strings.Fields(got), " ") != "active active active active" {
			t.Fatalf("%s: ssh, docker, postgresql, redis: %q", when, got)
		}
	}
	servicesUp("after up")

	t.Run("power cut", func(t *testing.T) {
		before := v.BootID(t)
		v.PowerCut(t)
		if _, err := v.Try(5*time.Second, "true"); err == nil {
			t.Fatal("the VM still answers after the power cut")
		}
		v.Boot(t)
		if v.BootID(t) == before {
			t.Fatal("same boot id after a cold boot")
		}
		servicesUp("after a power cut and a cold boot")
	})

	t.Run("reboot", func(t *testing.T) {
		v.Reboot(t)
		servicesUp("after a reboot")
	})

	t.Run("partition", func(t *testing.T) {
		v.Partition(t)
		healed := false
		defer func() {
			if !healed {
				v.Heal(t)
			}
		}()
		start := time.Now()
		if out, err := v.Try(10*time.Second, "true"); err == nil {
			t.Fatalf("a command ran across the partition: %q", out)
		}
		t.Logf("partitioned: the command failed after %s", time.Since(start).Round(time.Millisecond))
		v.Heal(t)
		healed = true
		v.WaitSSH(t, 30*time.Second)
	})
}
