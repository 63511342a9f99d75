package vmtest

import (
	"testing"
	"time"

	"github.com/mcpai/terraform-provider-mcpai/internal/acctest"
)

// TestAccVMSandbox proves the VM tier is what the tests that use it need:
// a sudo user, systemd with the services running, and partitions. Power
// cuts and reboots are proven where they are used, with the services
// checked after them: TestAccVMPowerCutMidApply, TestAccVMTuningAcrossReboots.
func TestAccVMSandbox(t *testing.T) {
	v := acctest.VMAt(t, 0)

	if got := v.SudoHost().InHost(t, "sudo -n true && id -un && sudo -n id -un"); got != v.SudoUser+"\nroot" {
		t.Fatalf("sudo user: %q", got)
	}
	servicesUp(t, v, "after up")

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
