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
)

const (
	accSysctlFile = "/etc/sysctl.d/90-mcpai-acc.conf"
	accSysctlAddr = "mcpai_host_sysctl.test"
)

// restoredTo is a CheckDestroy that asks the host whether it is exactly as
// the snapshot taken before the test.
func restoredTo(t *testing.T, h acctest.Host, before string) resource.TestCheckFunc {
	return sameAs(t, h.SysctlSnapshot, before)
}

// sameAs is a check that takes a snapshot of the host again (snapshot is
// a bound method such as h.KernelSnapshot) and compares it with one taken
// before.
func sameAs(t *testing.T, snapshot func(testing.TB) string, before string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		if after := snapshot(t); after != before {
			return fmt.Errorf("the host is not as before:\nbefore:\n%s\nafter:\n%s", before, after)
		}
		return nil
	}
}

func sysctlConfig(t *testing.T, h acctest.Host, settings string) string {
	return acctest.ProviderBlock(t) + fmt.Sprintf(`
resource "mcpai_host_sysctl" "test" {
  ssh      = { host = %q }
  file     = %q
  settings = {
%s
  }
}
`, h.Address, accSysctlFile, settings)
}

func TestAccHostSysctl_lifecycle(t *testing.T) {
	h := acctest.FirstHost(t)
	before := h.SysctlSnapshot(t)
	origKeepalive := h.Sysctl(t, "net.ipv4.tcp_keepalive_time")

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy:             restoredTo(t, h, before),
		Steps: []resource.TestStep{
			{
				Config: sysctlConfig(t, h, `
    "net.core.somaxconn"          = "4097"
    "net.ipv4.tcp_rmem"           = "4096 87380 16777216"
    "net.ipv4.tcp_keepalive_time" = "601"`),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(accSysctlAddr, tfjsonpath.New("id"), knownvalue.StringExact(h.Address+":"+accSysctlFile)),
					statecheck.ExpectKnownValue(accSysctlAddr, tfjsonpath.New("settings").AtMapKey("net.core.somaxconn"), knownvalue.StringExact("4097")),
					statecheck.ExpectKnownValue(accSysctlAddr, tfjsonpath.New("previous_values").AtMapKey("net.ipv4.tcp_keepalive_time"), knownvalue.StringExact(origKeepalive)),
					statecheck.ExpectKnownValue(accSysctlAddr, tfjsonpath.New("previous_file_content"), knownvalue.Null()),
				},
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: func(*terraform.State) error {
					if got := h.Sysctl(t, "net.ipv4.tcp_rmem"); got != "4096 87380 16777216" {
						return fmt.Errorf("live tcp_rmem = %q", got)
					}
					if got := h.Sysctl(t, "net.core.somaxconn"); got != "4097" {
						return fmt.Errorf("live somaxconn = %q", got)
					}
					want := "# Managed by Terraform (mcpai_host_sysctl). Manual changes are reverted on the next apply.\nnet.core.somaxconn = 4097\nnet.ipv4.tcp_keepalive_time = 601\nnet.ipv4.tcp_rmem = 4096 87380 16777216"
					if got := h.InHost(t, "cat "+accSysctlFile); got != want {
						return fmt.Errorf("file holds:\n%s", got)
					}
					// The file is what sysctl itself would load at boot.
					if got := h.InHost(t, "sysctl -p "+accSysctlFile+" >/dev/null && echo loaded"); got != "loaded" {
						return fmt.Errorf("sysctl -p: %s", got)
					}
					return nil
				},
			},
			{
				// A live value changed behind Terraform's back is drift.
				PreConfig: func() { h.InHost(t, "echo 1000 > /proc/sys/net/core/somaxconn") },
				Config: sysctlConfig(t, h, `
    "net.core.somaxconn"          = "4097"
    "net.ipv4.tcp_rmem"           = "4096 87380 16777216"
    "net.ipv4.tcp_keepalive_time" = "601"`),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(accSysctlAddr, plancheck.ResourceActionUpdate)},
				},
				Check: func(*terraform.State) error {
					if got := h.Sysctl(t, "net.core.somaxconn"); got != "4097" {
						return fmt.Errorf("drift not corrected: somaxconn = %q", got)
					}
					return nil
				},
			},
			{
				// So is an edited file, even when the live values match.
				PreConfig: func() { h.InHost(t, "echo 'net.core.somaxconn = 1' >> "+accSysctlFile) },
				Config: sysctlConfig(t, h, `
    "net.core.somaxconn"          = "4097"
    "net.ipv4.tcp_rmem"           = "4096 87380 16777216"
    "net.ipv4.tcp_keepalive_time" = "601"`),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				// Update: change one key, drop one (put back as it was), add one.
				Config: sysctlConfig(t, h, `
    "net.core.somaxconn"       = "4098"
    "net.ipv4.tcp_rmem"        = "4096	87380	16777216"
    "net.ipv4.tcp_fin_timeout" = "17"`),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: func(*terraform.State) error {
					if got := h.Sysctl(t, "net.ipv4.tcp_keepalive_time"); got != origKeepalive {
						return fmt.Errorf("dropped key not restored: tcp_keepalive_time = %q, want %q", got, origKeepalive)
					}
					if got := h.Sysctl(t, "net.ipv4.tcp_fin_timeout"); got != "17" {
						return fmt.Errorf("added key: tcp_fin_timeout = %q", got)
					}
					if strings.Contains(h.InHost(t, "cat "+accSysctlFile), "keepalive") {
						return fmt.Errorf("dropped key still in the file")
					}
					return nil
				},
			},
			{
				ResourceName:      accSysctlAddr,
				ImportState:       true,
				ImportStateId:     h.Address + ":" + accSysctlFile,
				ImportStateVerify: true,
				// The import ID carries no credentials, and what was there
				// before the import is unknowable.
				ImportStateVerifyIgnore: []string{"ssh", "previous_values", "previous_file_content", "timeouts", "settings.net.ipv4.tcp_rmem"},
			},
		},
	})
}

// A file that existed before the resource is put back on destroy.
func TestAccHostSysctl_restoresPreexistingFile(t *testing.T) {
	h := acctest.FirstHost(t)
	h.InHost(t, "printf 'net.core.somaxconn = 4096\\n' > "+accSysctlFile)
	t.Cleanup(func() { h.InHost(t, "rm -f "+accSysctlFile) })
	before := h.SysctlSnapshot(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy:             restoredTo(t, h, before),
		Steps: []resource.TestStep{{
			Config: sysctlConfig(t, h, `"net.ipv4.tcp_fin_timeout" = "19"`),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(accSysctlAddr, tfjsonpath.New("previous_file_content"), knownvalue.StringExact("net.core.somaxconn = 4096\n")),
			},
		}},
	})
}

func TestAccHostSysctl_sudo(t *testing.T) {
	h := acctest.FirstHost(t)
	before := h.SysctlSnapshot(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy:             restoredTo(t, h, before),
		Steps: []resource.TestStep{{
			Config: acctest.ProviderBlock(t) + fmt.Sprintf(`
resource "mcpai_host_sysctl" "test" {
  ssh      = { host = %q, user = %q, sudo = true }
  file     = %q
  settings = { "net.ipv4.tcp_fin_timeout" = "23" }
}`, h.Address, h.SudoUser, accSysctlFile),
			Check: func(*terraform.State) error {
				if got := h.Sysctl(t, "net.ipv4.tcp_fin_timeout"); got != "23" {
					return fmt.Errorf("tcp_fin_timeout = %q", got)
				}
				if got := h.InHost(t, "stat -c %U:%a "+accSysctlFile); got != "root:644" {
					return fmt.Errorf("file owner and mode %s", got)
				}
				return nil
			},
		}},
	})
}

// Each bad input fails with a clear error, and the host is exactly as it was.
func TestAccHostSysctl_badInputs(t *testing.T) {
	hosts := acctest.Hosts(t)
	h := hosts[0]
	resourceWith := func(ssh, settings string) string {
		return acctest.ProviderBlock(t) + fmt.Sprintf(`
resource "mcpai_host_sysctl" "test" {
  ssh      = %s
  file     = %q
  settings = { %s }
}`, ssh, accSysctlFile, settings)
	}
	plain := fmt.Sprintf("{ host = %q }", h.Address)
	cases := []struct {
		name, config string
		want         string
	}{
		{"injection in key", resourceWith(plain, `"net.core.somaxconn; touch /tmp/mcpai-pwned" = "1"`), `Invalid Sysctl Key`},
		{"newline in value", resourceWith(plain, `"net.core.somaxconn" = "1\nnet.ipv4.tcp_fin_timeout = 2"`), `Invalid Sysctl Value[\s\S]*control character`},
		{"command substitution in value", resourceWith(plain, `"net.core.somaxconn" = "4096", "net.ipv4.tcp_fin_timeout" = "$(touch /tmp/mcpai-pwned)"`), `net.ipv4.tcp_fin_timeout[\s\S]*refused[\s\S]*restored`},
		{"invalid value after a good one", resourceWith(plain, `"net.core.somaxconn" = "4096", "net.ipv4.tcp_fin_timeout" = "abc"`), `Setting net.ipv4.tcp_fin_timeout = "abc"[\s\S]*Invalid argument[\s\S]*were restored`},
		{"read-only key", resourceWith(plain, `"net.core.somaxconn" = "4096", "net.core.rmem_max" = "16777216"`), `cannot be written[\s\S]*net.core.rmem_max[\s\S]*Nothing was changed`},
		{"unknown key", resourceWith(plain, `"net.ipv4.no_such_key" = "1"`), `net.ipv4.no_such_key: no such kernel parameter`},
		{"path traversal in file", strings.Replace(resourceWith(plain, `"net.core.somaxconn" = "1"`), accSysctlFile, "/etc/sysctl.d/../../tmp/x.conf", 1), `sysctl.d folder|must not contain`},
		{"file outside sysctl.d", strings.Replace(resourceWith(plain, `"net.core.somaxconn" = "1"`), accSysctlFile, "/etc/resolv.conf", 1), `must be a .conf file in a sysctl.d folder`},
		{"wrong host key", resourceWith(fmt.Sprintf("{ host = %q, host_key = %q }", h.Address, hosts[1].HostKey), `"net.core.somaxconn" = "4096"`), `Host Key Verification Failed[\s\S]*not the expected key`},
		{"wrong credentials", resourceWith(fmt.Sprintf("{ host = %q, private_key = file(%q) }", h.Address, h.UnauthorizedKeyPath), `"net.core.somaxconn" = "4096"`), `SSH Authentication Failed`},
		{"encrypted key without passphrase", resourceWith(fmt.Sprintf("{ host = %q, private_key = file(%q) }", h.Address, h.EncryptedKeyPath), `"net.core.somaxconn" = "4096"`), `Invalid SSH Configuration[\s\S]*set private_key_passphrase`},
		{"wrong password", resourceWith(fmt.Sprintf("{ host = %q, user = %q, private_key = \"\", password = \"nope\" }", h.Address, h.SudoUser), `"net.core.somaxconn" = "4096"`), `SSH Authentication Failed`},
		{"unreachable host", resourceWith(fmt.Sprintf("{ host = %q, port = 1, timeout = \"2s\" }", h.Address), `"net.core.somaxconn" = "4096"`), `Unable to Connect to Host[\s\S]*connection refused`},
		{"sudo needs a password", resourceWith(fmt.Sprintf("{ host = %q, user = %q, sudo = true }", h.Address, h.NoprivUser), `"net.core.somaxconn" = "4096"`), `sudo asked for a password`},
		{"no host key material", strings.Replace(resourceWith(fmt.Sprintf("{ host = %q }", h.Address), `"net.core.somaxconn" = "4096"`), "known_hosts", "password   ", 1), `known_hosts[\s\S]*host_key`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// Terraform wraps long messages: a space may become a newline.
			want := regexp.MustCompile(strings.ReplaceAll(tc.want, " ", `\s+`))
			before := h.SysctlSnapshot(t)
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: testAccProviders,
				Steps:                    []resource.TestStep{{Config: tc.config, ExpectError: want}},
			})
			if after := h.SysctlSnapshot(t); after != before {
				t.Fatalf("the host changed:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		})
	}
}

// Moving the resource to another host replaces it: the first host gets its
// values back, the second is tuned.
func TestAccHostSysctl_moveHost(t *testing.T) {
	hosts := acctest.Hosts(t)
	h1, h2 := hosts[0], hosts[1]
	before1, before2 := h1.SysctlSnapshot(t), h2.SysctlSnapshot(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy: func(s *terraform.State) error {
			if err := restoredTo(t, h1, before1)(s); err != nil {
				return err
			}
			return restoredTo(t, h2, before2)(s)
		},
		Steps: []resource.TestStep{
			{Config: sysctlConfig(t, h1, `"net.ipv4.tcp_fin_timeout" = "27"`)},
			{
				Config: sysctlConfig(t, h2, `"net.ipv4.tcp_fin_timeout" = "27"`),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(accSysctlAddr, plancheck.ResourceActionDestroyBeforeCreate)},
				},
				Check: func(s *terraform.State) error {
					if err := restoredTo(t, h1, before1)(s); err != nil {
						return err
					}
					if got := h2.Sysctl(t, "net.ipv4.tcp_fin_timeout"); got != "27" {
						return fmt.Errorf("second host: tcp_fin_timeout = %s", got)
					}
					return nil
				},
			},
		},
	})
}

// A value known only after apply (here from terraform_data) plans fine.
func TestAccHostSysctl_unknownValue(t *testing.T) {
	h := acctest.FirstHost(t)
	before := h.SysctlSnapshot(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy:             restoredTo(t, h, before),
		Steps: []resource.TestStep{{
			Config: acctest.ProviderBlock(t) + fmt.Sprintf(`
resource "terraform_data" "timeout" {
  input = "29"
}
resource "mcpai_host_sysctl" "test" {
  ssh      = { host = %q }
  file     = %q
  settings = { "net.ipv4.tcp_fin_timeout" = terraform_data.timeout.output }
}`, h.Address, accSysctlFile),
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
			},
			Check: func(*terraform.State) error {
				if got := h.Sysctl(t, "net.ipv4.tcp_fin_timeout"); got != "29" {
					return fmt.Errorf("tcp_fin_timeout = %s", got)
				}
				return nil
			},
		}},
	})
}
