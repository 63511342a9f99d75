package vmtest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/mcpai/terraform-provider-mcpai/internal/acctest"
)

// The four sequences of issue 13 that lost files or let someone in, on a
// Debian host with systemd, as the sudo user: each once went wrong here.

// Import then destroy keeps Debian's own /etc/sysctl.conf, with a site's
// line added, byte for byte.
func TestAccVMTrust_importedSysctlConfSurvivesDestroy(t *testing.T) {
	v := acctest.VMAt(t, 0)
	orig := v.InHost(t, "base64 -w0 /etc/sysctl.conf")
	t.Cleanup(func() { v.InHost(t, "echo "+orig+" | base64 -d > /etc/sysctl.conf") })
	if !strings.Contains(v.InHost(t, "head -n3 /etc/sysctl.conf"), "/etc/sysctl.conf - Configuration file") {
		t.Fatal("the VM's /etc/sysctl.conf is not Debian's")
	}
	v.InHost(t, "printf '\\n# Site setting, kept on purpose.\\nnet.ipv4.tcp_keepalive_time = 7200\\n' >> /etc/sysctl.conf")
	want := fileSum(t, v, "/etc/sysctl.conf")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providers,
		CheckDestroy: func(*terraform.State) error {
			if got := fileSum(t, v, "/etc/sysctl.conf"); got != want {
				return fmt.Errorf("destroy changed /etc/sysctl.conf (%s): %s", got, v.InHost(t, "cat /etc/sysctl.conf 2>&1"))
			}
			if got := v.InHost(t, "cat /proc/sys/net/ipv4/tcp_keepalive_time"); got != "7200" {
				return fmt.Errorf("tcp_keepalive_time = %s after destroy, want 7200", got)
			}
			return nil
		},
		Steps: []resource.TestStep{{
			Config: providerBlock(t, v, false) + fmt.Sprintf(`
resource "mcpai_host_sysctl" "test" {
  ssh      = %s
  file     = "/etc/sysctl.conf"
  settings = { "net.ipv4.tcp_keepalive_time" = "7200" }
}`, sshTarget(v)),
			ResourceName:       "mcpai_host_sysctl.test",
			ImportState:        true,
			ImportStateId:      hostID(v) + ":/etc/sysctl.conf",
			ImportStatePersist: true,
			ImportStateCheck: func(s []*terraform.InstanceState) error {
				if len(s) != 1 || s[0].Attributes["settings.net.ipv4.tcp_keepalive_time"] != "7200" {
					return fmt.Errorf("import did not read the site's setting: %v", s)
				}
				return nil
			},
		}},
	})
}

// A state lost between two applies (here a removed block, as after
// `terraform state rm`) does not make our own 17 "what was there": destroy
// puts back the kernel's 60 and removes the file.
func TestAccVMTrust_lostStateRestoresHostValue(t *testing.T) {
	v := acctest.VMAt(t, 0)
	const file = "/etc/sysctl.d/91-mcpai-vm-trust.conf"
	finTimeout := func() string { return v.InHost(t, "cat /proc/sys/net/ipv4/tcp_fin_timeout") }
	if got := finTimeout(); got != "60" {
		t.Fatalf("tcp_fin_timeout is %s before the test, not the kernel's 60", got)
	}
	config := providerBlock(t, v, false) + fmt.Sprintf(`
resource "mcpai_host_sysctl" "test" {
  ssh      = %s
  file     = %q
  settings = { "net.ipv4.tcp_fin_timeout" = "17" }
}`, sshTarget(v), file)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providers,
		CheckDestroy: func(*terraform.State) error {
			if got := finTimeout(); got != "60" {
				return fmt.Errorf("tcp_fin_timeout = %s after destroy, want the VM's own 60", got)
			}
			if got := fileSum(t, v, file); got != "absent" {
				return fmt.Errorf("%s is still there after destroy", file)
			}
			return nil
		},
		Steps: []resource.TestStep{
			{Config: config},
			{
				Config: providerBlock(t, v, false) + `
removed {
  from = mcpai_host_sysctl.test
  lifecycle { destroy = false }
}`,
				Check: func(*terraform.State) error {
					if got := finTimeout(); got != "17" {
						return fmt.Errorf("forgetting the resource changed the host: tcp_fin_timeout = %s", got)
					}
					return nil
				},
			},
			{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("mcpai_host_sysctl.test", tfjsonpath.New("previous_values").AtMapKey("net.ipv4.tcp_fin_timeout"), knownvalue.StringExact("60")),
					statecheck.ExpectKnownValue("mcpai_host_sysctl.test", tfjsonpath.New("previous_file_content"), knownvalue.Null()),
				},
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
		},
	})
}

// A validate command that prints the file and fails: the error shows a
// placeholder for its output, never the secret, and nothing is left on the
// host; with a command that passes, the next apply converges.
func TestAccVMTrust_validateOutputHidesSecret(t *testing.T) {
	v := acctest.VMAt(t, 0)
	const p = "/etc/mcpai-vm-secret.conf"
	config := func(validate string) string {
		return providerBlock(t, v, false) + fmt.Sprintf(`
resource "mcpai_host_file" "secret" {
  ssh               = %s
  path              = %q
  sensitive_content = "user=app\npassword=vm-hunter2-very-secret\n"
  validate_command  = %s
}`, sshTarget(v), p, validate)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providers,
		CheckDestroy: func(*terraform.State) error {
			if got := fileSum(t, v, p); got != "absent" {
				return fmt.Errorf("%s is still there after destroy", p)
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				// The whole output is the placeholder: no line of the file.
				Config:      config(`["sh", "-c", "cat \"$1\"; exit 1", "sh", "{}"]`),
				ExpectError: messageRE("was left as it was: (sensitive value) (the output is hidden because sensitive_content is set"),
			},
			{
				PreConfig: func() {
					if got := v.InHost(t, "ls -A /etc | grep -e mcpai-vm-secret -e '^\\.mcpai'; grep -rl hunter2 /var/lib/mcpai /etc 2>/dev/null; true"); got != "" {
						t.Fatalf("the refused file left traces: %s", got)
					}
				},
				Config: config(`["grep", "-q", "^user=app$", "{}"]`),
				Check: func(*terraform.State) error {
					if got := v.InHost(t, "stat -c %a:%U "+p+"; cat "+p); got != "644:root\nuser=app\npassword=vm-hunter2-very-secret" {
						return fmt.Errorf("%s on the VM: %q", p, got)
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

// A user who owns /home/mallory makes app a link to /root: a file "in" it
// is refused, as root and as the sudo user, and /root is as before.
func TestAccVMTrust_noWriteThroughOtherUsersLink(t *testing.T) {
	v := acctest.VMAt(t, 0)
	v.InHost(t, "id mallory >/dev/null 2>&1 || useradd -m mallory; su mallory -c 'ln -sfn /root /home/mallory/app'")
	t.Cleanup(func() { v.InHost(t, "userdel -r mallory 2>/dev/null; true") })
	before := v.InHost(t, "ls -lA --time-style=+%s /root; find /root -type f -exec sha256sum {} +")
	for _, asRoot := range []bool{true, false} {
		t.Run(map[bool]string{true: "root", false: "sudo"}[asRoot], func(t *testing.T) {
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: providers,
				Steps: []resource.TestStep{{
					Config: providerBlock(t, v, asRoot) + fmt.Sprintf(`
resource "mcpai_host_file" "keys" {
  ssh     = %s
  path    = "/home/mallory/app/authorized_keys"
  content = "ssh-ed25519 AAAA mallory\n"
}`, sshTarget(v)),
					ExpectError: messageRE("/home/mallory belongs to mallory, not root, and mallory could point the path elsewhere"),
				}},
			})
			if after := v.InHost(t, "ls -lA --time-style=+%s /root; find /root -type f -exec sha256sum {} +"); after != before {
				t.Fatalf("/root changed:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		})
	}
}
