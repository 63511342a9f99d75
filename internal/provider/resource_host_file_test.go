package provider

import (
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/mcpai/terraform-provider-mcpai/internal/acctest"
)

const accFileAddr = "mcpai_host_file.test"

// fileOnHost is a file's content, mode and owner as the host shows them,
// or "absent".
func fileOnHost(t *testing.T, h acctest.Host, p string) string {
	t.Helper()
	return h.InHost(t, `if [ -e '`+p+`' ]; then stat -c '%a %U:%G' '`+p+`'; cat '`+p+`'; else echo absent; fi`)
}

func hostFileConfig(t *testing.T, h acctest.Host, body string) string {
	return acctest.ProviderBlock(t) + fmt.Sprintf(`
resource "mcpai_host_file" "test" {
  ssh  = { host = %q }
%s
}
`, h.Address, body)
}

// TestAccHostFile_lifecycle: a file over an existing one (recorded and put
// back on destroy), mode and owner, drift in content, mode and a removal,
// a validate command that refuses (nothing changed) and one that passes,
// import.
func TestAccHostFile_lifecycle(t *testing.T) {
	h := acctest.FirstHost(t)
	dir := "/tmp/mcpai-file-test"
	p := dir + "/dynamic.yml"
	h.InHost(t, "rm -rf "+dir+" && mkdir -p "+dir+" && printf 'site: own\\n' >"+p+" && chmod 640 "+p+" && chown mcpai:root "+p)
	t.Cleanup(func() { h.InHost(t, "rm -rf "+dir) })
	before := fileOnHost(t, h, p)
	cfg := func(content, mode, extra string) string {
		return hostFileConfig(t, h, fmt.Sprintf(`  path    = %q
  content = %q
  mode    = %q
  owner   = "mcpai"
  group   = "mcpai"
%s`, p, content, mode, extra))
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy: func(*terraform.State) error {
			if got := fileOnHost(t, h, p); got != before {
				return fmt.Errorf("destroy left %q, want the file found before, %q", got, before)
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				Config: cfg("http:\n  routers: {}\n", "0600", ""),
				Check: func(*terraform.State) error {
					if got := fileOnHost(t, h, p); got != "600 mcpai:mcpai\nhttp:\n  routers: {}" {
						return fmt.Errorf("on the host: %q", got)
					}
					return nil
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(accFileAddr, tfjsonpath.New("id"), knownvalue.StringExact(h.Address+":"+p)),
					statecheck.ExpectKnownValue(accFileAddr, tfjsonpath.New("sha256"), knownvalue.StringRegexp(regexp.MustCompile(`^[0-9a-f]{64}$`))),
				},
			},
			{
				// Drift in content and mode is put back.
				PreConfig: func() { h.InHost(t, "echo edited >>"+p+" && chmod 644 "+p) },
				Config:    cfg("http:\n  routers: {}\n", "0600", ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(accFileAddr, plancheck.ResourceActionUpdate),
				}},
				Check: func(*terraform.State) error {
					if got := fileOnHost(t, h, p); got != "600 mcpai:mcpai\nhttp:\n  routers: {}" {
						return fmt.Errorf("after drift: %q", got)
					}
					return nil
				},
			},
			{
				// A removed file is written again.
				PreConfig: func() { h.InHost(t, "rm -f "+p) },
				Config:    cfg("http:\n  routers: {}\n", "0600", ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(accFileAddr, plancheck.ResourceActionUpdate),
				}},
			},
			{
				// The validate command refuses: the file is unchanged.
				Config:      cfg("bad: [\n", "0600", `  validate_command = ["grep", "-q", "^http:", "{}"]`),
				ExpectError: errorParts("Content Refused By validate_command", p, "was left as it was"),
				Check:       nil,
			},
			{
				PreConfig: func() {
					if got := fileOnHost(t, h, p); got != "600 mcpai:mcpai\nhttp:\n  routers: {}" {
						t.Errorf("a refused change touched the file: %q", got)
					}
				},
				Config: cfg("http:\n  services: {}\n", "0640", `  validate_command = ["grep", "-q", "^http:", "{}"]`),
				Check: func(*terraform.State) error {
					if got := fileOnHost(t, h, p); got != "640 mcpai:mcpai\nhttp:\n  services: {}" {
						return fmt.Errorf("after a validated change: %q", got)
					}
					return nil
				},
			},
			{
				ResourceName:            accFileAddr,
				ImportState:             true,
				ImportStateId:           h.Address + ":" + p,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"timeouts", "ssh", "validate_command", "content", "sensitive_content"},
			},
		},
	})
}

// TestAccHostFile_badInputs: each is refused with its error, and the host's
// file is untouched.
func TestAccHostFile_badInputs(t *testing.T) {
	h := acctest.FirstHost(t)
	dir := "/tmp/mcpai-file-bad"
	p := dir + "/x.conf"
	h.InHost(t, "rm -rf "+dir+" && mkdir -p "+dir+" && echo keep >"+p)
	t.Cleanup(func() { h.InHost(t, "rm -rf "+dir) })
	before := fileOnHost(t, h, p)
	same := func() {
		if got := fileOnHost(t, h, p); got != before {
			t.Errorf("a refused input changed %s: %q", p, got)
		}
	}
	step := func(body string, want ...string) resource.TestStep {
		return resource.TestStep{PreConfig: same, Config: hostFileConfig(t, h, body), ExpectError: errorParts(want...)}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy:             func(*terraform.State) error { same(); return nil },
		Steps: []resource.TestStep{
			step(`  path = "relative.conf"
  content = "x"`, "must be an absolute path"),
			step(`  path = "/etc/../etc/x.conf"
  content = "x"`, "must not contain '..'"),
			step(`  path = "/proc/sys/vm/swappiness"
  content = "1"`, "managed by mcpai_host_sysctl"),
			step(`  path = "`+p+`"`, "Missing Attribute Configuration", "content,sensitive_content"),
			step(`  path = "`+p+`"
  content = "x"
  sensitive_content = "y"`, "Invalid Attribute Combination"),
			step(`  path = "`+p+`"
  content = "x"
  mode = "0999"`, "must be four octal digits"),
			step(`  path = "`+p+`"
  content = "x"
  owner = "Bad User"`, "must be a user name"),
			step(`  path = "`+p+`"
  content = "x"
  mode = "644"`, "must be four octal digits"),
			step(`  path = "`+p+`"
  content = "x"
  owner = "nosuchuser"`, "File Not Written", "the owner or group could not be set", "set ssh.sudo"),
			step(`  path = "`+dir+`/missing/x.conf"
  content = "x"`, "File Not Written", "the folder "+dir+"/missing does not exist"),
			step(`  path = "`+dir+`"
  content = "x"`, "File Not Written", "point the resource at a regular file"),
		},
	})
}
