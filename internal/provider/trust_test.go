package provider

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/mcpai/terraform-provider-mcpai/internal/acctest"
	"github.com/mcpai/terraform-provider-mcpai/internal/kernel"
)

// The sequences a new user hits that once lost files or kept our tuning:
// import then destroy, a state lost between applies, a secret printed by a
// validate command, and a path through another user's link. Each test here
// failed before the fix it names.

// siteSysctlConf stands for a distribution's /etc/sysctl.conf with a site's
// own settings in it: nothing of ours.
const siteSysctlConf = `#
# /etc/sysctl.conf - Configuration file for setting system variables
# See /etc/sysctl.d/ for additional system variables.
# See sysctl.conf (5) for information.
#

#kernel.domainname = example.com

# Uncomment the following to stop low-level messages on console
#kernel.printk = 3 4 1 3

# Site setting, kept on purpose.
net.ipv4.tcp_keepalive_time = 7200
`

// ledgerListing is what the host's ledger holds, for before/after checks.
func ledgerListing(t *testing.T, h acctest.Host) string {
	return h.InHost(t, "ls -A /var/lib/mcpai/ledger 2>/dev/null; true")
}

// Import then destroy keeps a file the provider never wrote, byte for byte.
func TestAccTrust_importedSysctlFileSurvivesDestroy(t *testing.T) {
	h := acctest.FirstHost(t)
	orig := h.InHost(t, "base64 -w0 /etc/sysctl.conf")
	t.Cleanup(func() { h.InHost(t, "echo "+orig+" | base64 -d > /etc/sysctl.conf") })
	h.InHost(t, "cat > /etc/sysctl.conf <<'EOF'\n"+siteSysctlConf+"EOF")
	want := h.InHost(t, "md5sum < /etc/sysctl.conf")
	keepalive := h.Sysctl(t, "net.ipv4.tcp_keepalive_time")
	config := acctest.ProviderBlock(t) + fmt.Sprintf(`
resource "mcpai_host_sysctl" "test" {
  ssh      = { host = %q }
  file     = "/etc/sysctl.conf"
  settings = { "net.ipv4.tcp_keepalive_time" = "7200" }
}`, h.Address)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy: func(*terraform.State) error {
			if got := h.InHost(t, "md5sum < /etc/sysctl.conf 2>&1"); got != want {
				return fmt.Errorf("destroy changed or removed /etc/sysctl.conf: %s", h.InHost(t, "cat /etc/sysctl.conf 2>&1"))
			}
			if got := h.Sysctl(t, "net.ipv4.tcp_keepalive_time"); got != keepalive {
				return fmt.Errorf("tcp_keepalive_time = %s, want %s as at import", got, keepalive)
			}
			return nil
		},
		Steps: []resource.TestStep{{
			Config:             config,
			ResourceName:       accSysctlAddr,
			ImportState:        true,
			ImportStateId:      h.Address + ":/etc/sysctl.conf",
			ImportStatePersist: true,
		}},
	})
}

// A state lost between two applies (terraform state rm, or a create that
// never saved one) does not make our own value "what was there": destroy
// after the second apply puts back the host's own.
func TestAccTrust_lostStateRestoresHostValues(t *testing.T) {
	h := acctest.FirstHost(t)
	before := h.SysctlSnapshot(t)
	config := sysctlConfig(t, h, `"net.ipv4.tcp_fin_timeout" = "17"`)
	own := h.Sysctl(t, "net.ipv4.tcp_fin_timeout")
	if own == "17" {
		t.Fatalf("the host already has tcp_fin_timeout 17")
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy:             restoredTo(t, h, before),
		Steps: []resource.TestStep{
			{Config: config},
			{
				// terraform state rm: forget the resource, leave the host.
				Config: acctest.ProviderBlock(t) + `
removed {
  from = mcpai_host_sysctl.test
  lifecycle { destroy = false }
}`,
				Check: func(*terraform.State) error {
					if got := h.Sysctl(t, "net.ipv4.tcp_fin_timeout"); got != "17" {
						return fmt.Errorf("forgetting the resource changed the host: %s", got)
					}
					return nil
				},
			},
			{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(accSysctlAddr, tfjsonpath.New("previous_values").AtMapKey("net.ipv4.tcp_fin_timeout"), knownvalue.StringExact(own)),
					statecheck.ExpectKnownValue(accSysctlAddr, tfjsonpath.New("previous_file_content"), knownvalue.Null()),
				},
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
		},
	})
}

// A file changed by someone else since we wrote it stays on destroy (its
// live values still go back), with nothing lost.
func TestAccTrust_editedSysctlFileSurvivesDestroy(t *testing.T) {
	h := acctest.FirstHost(t)
	own := h.Sysctl(t, "net.ipv4.tcp_fin_timeout")
	t.Cleanup(func() { h.InHost(t, "rm -f "+accSysctlFile) })
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy: func(*terraform.State) error {
			if got := h.InHost(t, "tail -n1 "+accSysctlFile+" 2>&1"); got != "# a colleague's note" {
				return fmt.Errorf("the edited file was not left in place: %s", got)
			}
			if got := h.Sysctl(t, "net.ipv4.tcp_fin_timeout"); got != own {
				return fmt.Errorf("tcp_fin_timeout = %s, want %s", got, own)
			}
			if got := ledgerListing(t, h); got != "" {
				return fmt.Errorf("the ledger still holds %s", got)
			}
			return nil
		},
		Steps: []resource.TestStep{
			{Config: sysctlConfig(t, h, `"net.ipv4.tcp_fin_timeout" = "18"`)},
			{
				PreConfig:          func() { h.InHost(t, "echo \"# a colleague's note\" >> "+accSysctlFile) },
				Config:             sysctlConfig(t, h, `"net.ipv4.tcp_fin_timeout" = "18"`),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
		},
	})
}

// A kernel parameter that vanished (its interface removed) does not block
// destroy: the rest is restored.
func TestAccTrust_vanishedKeyDoesNotBlockDestroy(t *testing.T) {
	h := acctest.FirstHost(t)
	before := h.SysctlSnapshot(t)
	h.InHost(t, "ip link add mcpaivan0 type bridge")
	t.Cleanup(func() { h.InHost(t, "ip link del mcpaivan0 2>/dev/null; true") })
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy:             restoredTo(t, h, before),
		Steps: []resource.TestStep{
			{Config: sysctlConfig(t, h, `
    "net.ipv4.tcp_fin_timeout"           = "21"
    "net.ipv4.conf.mcpaivan0.forwarding" = "1"`)},
			{
				// The interface goes; the next refresh shows the key gone
				// (a plan to add it back), and destroy still succeeds.
				PreConfig: func() { h.InHost(t, "ip link del mcpaivan0") },
				Config: sysctlConfig(t, h, `
    "net.ipv4.tcp_fin_timeout"           = "21"
    "net.ipv4.conf.mcpaivan0.forwarding" = "1"`),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
		},
	})
}

// A validate command that prints the file does not put sensitive_content
// into the error.
func TestAccTrust_validateOutputHidesSensitiveContent(t *testing.T) {
	h := acctest.FirstHost(t)
	p := "/etc/mcpai/trust-secret.conf"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			Config: acctest.ProviderBlock(t) + fmt.Sprintf(`
resource "mcpai_host_file" "secret" {
  ssh               = { host = %q }
  path              = %q
  sensitive_content = "user=app\npassword=hunter2-very-secret\n"
  validate_command  = ["sh", "-c", "cat \"$1\"; exit 1", "sh", "{}"]
}`, h.Address, p),
			// The output is left out, not filtered: a validator may echo
			// any part of a secret.
			ExpectError: regexp.MustCompile(`was\s+left\s+as\s+it\s+was:\s+\(sensitive\s+value\)\s+\(the\s+output\s+is\s+hidden`),
		}},
	})
	if got := h.InHost(t, "ls -A /etc/mcpai; ls -A /var/lib/mcpai/ledger 2>/dev/null; true"); strings.Contains(got, "trust-secret") || strings.Contains(got, ".json") {
		t.Fatalf("a refused file left traces: %s", got)
	}
}

// Root never writes through a link another user controls: with
// /home/<user>/app a link to /root, a file "in" it is refused and /root is
// untouched; so is a folder that user owns. (internal/remote's
// TestPutFileRefusesUnsafePaths has a user's link in root's folder.)
func TestAccTrust_noWriteThroughOtherUsersLink(t *testing.T) {
	h := acctest.FirstHost(t)
	u := h.NoprivUser
	home := "/home/" + u
	h.InHost(t, fmt.Sprintf("mkdir -p %[1]s/real && chown %[2]s %[1]s %[1]s/real && ln -sfn /root %[1]s/app && chown -h %[2]s %[1]s/app", home, u))
	t.Cleanup(func() { h.InHost(t, fmt.Sprintf("rm -rf %[1]s/app %[1]s/real", home)) })
	before := h.InHost(t, "ls -A /root; ls -A "+home)
	for _, tc := range []struct{ name, path, want string }{
		{"link", home + "/app/authorized_keys", home + ` belongs to ` + u + `, not root, and ` + u + ` could point the path elsewhere`},
		{"folder", home + "/real/authorized_keys", home + ` belongs to ` + u + `, not root`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: testAccProviders,
				Steps: []resource.TestStep{{
					Config: acctest.ProviderBlock(t) + fmt.Sprintf(`
resource "mcpai_host_file" "keys" {
  ssh     = { host = %q }
  path    = %q
  content = "ssh-ed25519 AAAA attacker\n"
}`, h.Address, tc.path),
					ExpectError: regexp.MustCompile(strings.ReplaceAll(regexp.QuoteMeta(tc.want), " ", `\s+`)),
				}},
			})
			if after := h.InHost(t, "ls -A /root; ls -A "+home); after != before {
				t.Fatalf("the host changed:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		})
	}
}

// The same for mcpai_host_kernel: after a lost state, destroy puts back the
// governor and the machine's THP mode found before the first apply, and
// removes its files.
func TestAccTrust_lostStateRestoresKernelValues(t *testing.T) {
	h := cpufreqHost(t)
	acctest.GuardTHP(t)
	before := h.KernelSnapshot(t)
	gov := h.Governor(t, 0)
	body := `
  cpu_governor                 = "performance"
  transparent_hugepage_enabled = "never"`
	if gov == "performance" || acctest.MachineTHP(t, kernel.THPEnabledPath) == "never" {
		t.Fatalf("the host already has the values this test sets")
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy:             sameAs(t, h.KernelSnapshot, before),
		Steps: []resource.TestStep{
			{Config: kernelConfig(t, h, body)},
			{Config: acctest.ProviderBlock(t) + `
removed {
  from = mcpai_host_kernel.test
  lifecycle { destroy = false }
}`},
			{
				Config: kernelConfig(t, h, body),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(accKernelAddr, tfjsonpath.New("previous_values").AtMapKey(kernel.GovernorPath(0)), knownvalue.StringExact(gov)),
				},
			},
		},
	})
}

// mcpai_docker_daemon_config after a lost state: destroy puts back no
// daemon.json (as before the first apply), not the file written by the
// first create; and after an import of a site's daemon.json, destroy
// leaves it byte for byte.
func TestAccTrust_dockerDaemonConfigLostStateAndImport(t *testing.T) {
	h := dockerHosts(t)[0]
	h.ResetDocker(t)
	t.Cleanup(func() { h.ResetDocker(t) })
	before := h.DockerState(t)
	config := dockerConfig(t, h, "", `{ "live-restore" = true }`)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy:             func(*terraform.State) error { return sameAs(t, h.DockerState, before)(nil) },
		Steps: []resource.TestStep{
			{Config: config},
			{Config: acctest.ProviderBlock(t) + `
removed {
  from = mcpai_docker_daemon_config.test
  lifecycle { destroy = false }
}`},
			{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("mcpai_docker_daemon_config.test", tfjsonpath.New("previous_content"), knownvalue.Null()),
				},
			},
		},
	})

	site := "{\n  \"log-level\": \"warn\"\n}\n"
	h.InHost(t, "printf '%s' '"+site+"' > /etc/docker/daemon.json")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy: func(*terraform.State) error {
			if got, ok := h.DaemonJSON(t); !ok || got != site {
				return fmt.Errorf("destroy after import changed daemon.json: %v %q", ok, got)
			}
			return nil
		},
		Steps: []resource.TestStep{{
			Config:             dockerConfig(t, h, "", `{ "log-level" = "warn" }`),
			ResourceName:       "mcpai_docker_daemon_config.test",
			ImportState:        true,
			ImportStateId:      h.Address + ":/etc/docker/daemon.json",
			ImportStatePersist: true,
		}},
	})
}
