package vmtest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/mcpai/terraform-provider-mcpai/internal/acctest"
)

// sshd killed in the middle of a large mcpai_host_file upload (the sudo
// user's sessions, as a crashed or restarted sshd would): the apply fails
// saying the transfer broke, the old file is there byte for byte, no temp
// file is left, and the next apply converges; destroy puts the old file
// back.
func TestAccVMHostFile_sshdKilledMidUpload(t *testing.T) {
	v := acctest.VMAt(t, 0)
	const dir = "/opt/mcpai-vm-upload"
	const p = dir + "/model.txt"
	// The cut leaves the provider's record of p, on purpose; one left by an
	// earlier, aborted run would stand for another old file.
	forget := fmt.Sprintf("rm -rf %s; grep -lF '\"path\":\"%s\"' /var/lib/mcpai/ledger/* 2>/dev/null | xargs -r rm -f", dir, p)
	v.InHost(t, forget+fmt.Sprintf("; mkdir -p %s && head -c 4096 /dev/urandom | base64 > %s", dir, p))
	t.Cleanup(func() { v.InHost(t, forget) })
	old := fileSum(t, v, p)

	// 3 MiB of text: seconds through SSH to an emulated guest.
	raw := make([]byte, 9<<18)
	if _, err := rand.Read(raw); err != nil {
		t.Fatal(err)
	}
	content := base64.StdEncoding.EncodeToString(raw)
	sum := sha256.Sum256([]byte(content))
	local := filepath.Join(t.TempDir(), "model.txt")
	if err := os.WriteFile(local, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	config := providerBlock(t, v, false) + fmt.Sprintf(`
resource "mcpai_host_file" "big" {
  ssh     = %s
  path    = %q
  content = file(%q)
}`, sshTarget(v), p, local)

	unchanged := func(when string) {
		t.Helper()
		if got := fileSum(t, v, p); got != old {
			t.Fatalf("%s: %s changed (sha256 %s, was %s)", when, p, got, old)
		}
		if left := tempFiles(t, v, dir); left != "" {
			t.Fatalf("%s: temp files left in %s: %s", when, dir, left)
		}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providers,
		CheckDestroy: func(*terraform.State) error {
			if got := fileSum(t, v, p); got != old {
				return fmt.Errorf("destroy did not put back the old %s (sha256 %s, was %s)", p, got, old)
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				PreConfig:   func() { go killSSHDMidUpload(t, v, dir) },
				Config:      config,
				ExpectError: messageRE("File Not Written", "Writing "+p, "on "+v.SudoUser+"@"+hostID(v)+" failed"),
			},
			{
				PreConfig: func() { unchanged("after the cut") },
				Config:    config,
				Check: func(*terraform.State) error {
					if got := fileSum(t, v, p); got != hex.EncodeToString(sum[:]) {
						return fmt.Errorf("%s on the VM has sha256 %s, want %x", p, got, sum)
					}
					if left := tempFiles(t, v, dir); left != "" {
						return fmt.Errorf("temp files left in %s: %s", dir, left)
					}
					return nil
				},
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
		},
	})
}

// killSSHDMidUpload waits for an upload's temp file in dir to pass
// 256 KiB, then kills every sshd process of the sudo user: their sessions
// end as if sshd crashed, while root's connection (this one) stays.
func killSSHDMidUpload(t *testing.T, v acctest.VM, dir string) {
	script := fmt.Sprintf(`for i in $(seq 1 600); do
  s=$(find %s -maxdepth 1 -name '.mcpai.*' -size +256k | head -n1)
  if [ -n "$s" ]; then pkill -KILL -u %s -x sshd; echo "killed at $(stat -c %%s "$s") bytes"; exit 0; fi
  sleep 0.1
done
echo "no upload seen"`, dir, v.SudoUser)
	out, err := v.Try(2*time.Minute, script)
	if err != nil || !strings.HasPrefix(out, "killed at") {
		t.Errorf("killing sshd mid-upload: %v: %s", err, out)
		return
	}
	t.Log(out)
}
