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
	before := h.FileState(t, p)
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
			if got := h.FileState(t, p); got != before {
				return fmt.Errorf("destroy left %q, want the file found before, %q", got, before)
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				Config: cfg("http:\n  routers: {}\n", "0600", ""),
				Check: func(*terraform.State) error {
					if got := h.FileState(t, p); got != "600 mcpai:mcpai\nhttp:\n  routers: {}" {
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
					if got := h.FileState(t, p); got != "600 mcpai:mcpai\nhttp:\n  routers: {}" {
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
					if got := h.FileState(t, p); got != "600 mcpai:mcpai\nhttp:\n  routers: {}" {
						t.Errorf("a refused change touched the file: %q", got)
					}
				},
				Config: cfg("http:\n  services: {}\n", "0640", `  validate_command = ["grep", "-q", "^http:", "{}"]`),
				Check: func(*terraform.State) error {
					if got := h.FileState(t, p); got != "640 mcpai:mcpai\nhttp:\n  services: {}" {
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
	before := h.FileState(t, p)
	same := func() {
		if got := h.FileState(t, p); got != before {
			t.Errorf("a refused input changed %s: %q", p, got)
		}
	}
	step := func(body string, want ...string) resource.TestStep { return refusedFile(t, h, same, body, want...) }
	testRefusals(t, same,
		step(`  path = "relative.conf"
  content = "x"`, "must be an absolute path"),
		step(`  path = "/etc/../etc/x.conf"
  content = "x"`, "must not contain '..'"),
		step(`  path = "/proc/sys/vm/swappiness"
  content = "1"`, "managed by mcpai_host_sysctl"),
		// Unclean spellings would slip past the /proc, /sys and /dev guard.
		step(`  path = "//proc/sys/vm/swappiness"
  content = "1"`, "Invalid File Path", "path", `write "/proc/sys/vm/swappiness"`),
		step(`  path = "/./dev/null"
  content = "1"`, "Invalid File Path", "path", `write "/dev/null"`),
		step(`  path = "/sys//kernel/mm/x"
  content = "1"`, "Invalid File Path", "path", `write "/sys/kernel/mm/x"`),
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
  content = "x"`, "File Not Written", "the folder "+dir+"/missing does not exist", "Set create_directories = true"),
		step(`  path = "`+dir+`"
  content = "x"`, "File Not Written", "point the resource at a regular file"),
		// A shell would take it for an assignment and run nothing.
		step(`  path = "`+p+`"
  content = "x"
  validate_command = ["CHECK=1", "true"]`, "validate_command", "="),
	)
}

// refusedFile is a step whose resource body is refused with an error
// holding want; unchanged first reports any change an earlier step made.
func refusedFile(t *testing.T, h acctest.Host, unchanged func(), body string, want ...string) resource.TestStep {
	return resource.TestStep{PreConfig: unchanged, Config: hostFileConfig(t, h, body), ExpectError: errorParts(want...)}
}

// testRefusals runs steps that are all refused; unchanged runs again at
// the end.
func testRefusals(t *testing.T, unchanged func(), steps ...resource.TestStep) {
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy:             func(*terraform.State) error { unchanged(); return nil },
		Steps:                    steps,
	})
}

// createDirsConfig is a file at p holding content, with create_directories.
func createDirsConfig(t *testing.T, h acctest.Host, p, content string) string {
	return hostFileConfig(t, h, fmt.Sprintf(`  path               = %q
  content            = %q
  create_directories = true`, p, content))
}

// TestAccHostFile_createDirectories: two missing folders are created
// (0755, root) before the file and listed outermost first; an empty plan;
// removed out of band, they are created again; import lists none; destroy
// removes the file and both folders.
func TestAccHostFile_createDirectories(t *testing.T) {
	h := acctest.FirstHost(t)
	base := "/etc/mcpai-acc-dirs-create"
	sub := base + "/traefik"
	p := sub + "/mcpai.yml"
	h.RemovePaths(t, base)
	cfg := createDirsConfig(t, h, p, "http:\n  routers: {}\n")
	created := []string{base, sub}
	onHost := func(*terraform.State) error {
		if got := h.DirsState(t, created...); got != "755 root:root directory\n755 root:root directory" {
			return fmt.Errorf("the folders on the host: %q", got)
		}
		if got := h.FileState(t, p); got != "644 root:root\nhttp:\n  routers: {}" {
			return fmt.Errorf("the file on the host: %q", got)
		}
		return nil
	}
	createdCheck := statecheck.ExpectKnownValue(accFileAddr, tfjsonpath.New("created_directories"),
		knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact(base), knownvalue.StringExact(sub)}))
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy: func(*terraform.State) error {
			if got := h.DirsState(t, base); got != "absent" {
				return fmt.Errorf("destroy left %s: %q", base, got)
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				PreConfig: func() {
					if got := h.DirsState(t, base); got != "absent" {
						t.Fatalf("%s is there before the test: %q", base, got)
					}
				},
				Config: cfg,
				Check:  onHost,
				ConfigStateChecks: []statecheck.StateCheck{
					createdCheck,
					statecheck.ExpectKnownValue(accFileAddr, tfjsonpath.New("create_directories"), knownvalue.Bool(true)),
				},
				ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
			{
				// The folders removed behind Terraform's back: the update
				// creates them again, and they stay listed.
				PreConfig: func() { h.InHost(t, "rm -rf "+base) },
				Config:    cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(accFileAddr, plancheck.ResourceActionUpdate),
						plancheck.ExpectUnknownValue(accFileAddr, tfjsonpath.New("created_directories")),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check:             onHost,
				ConfigStateChecks: []statecheck.StateCheck{createdCheck},
			},
			{
				ResourceName:            accFileAddr,
				ImportState:             true,
				ImportStateId:           h.Address + ":" + p,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"timeouts", "ssh", "content", "sensitive_content", "create_directories", "created_directories"},
				ImportStateCheck: func(states []*terraform.InstanceState) error {
					if len(states) != 1 {
						return fmt.Errorf("%d imported states", len(states))
					}
					a := states[0].Attributes
					if a["created_directories.#"] != "0" || a["create_directories"] != "false" {
						return fmt.Errorf("imported created_directories.# = %q, create_directories = %q; want 0 and false", a["created_directories.#"], a["create_directories"])
					}
					return nil
				},
			},
		},
	})
}

// TestAccHostFile_createDirectoriesRefused: a create that fails after the
// folders were made (validate_command refuses, an unknown owner) removes
// them again; something in the way of a folder, and a missing folder
// without create_directories, are refused with what to do. No folder is
// left behind.
func TestAccHostFile_createDirectoriesRefused(t *testing.T) {
	h := acctest.FirstHost(t)
	base := "/etc/mcpai-acc-dirs-refused"
	p := base + "/rules/mcpai.yml"
	h.RemovePaths(t, base, "/etc/mcpai-acc-dirs-blocked")
	noFolder := func() {
		if got := h.DirsState(t, base); got != "absent" {
			t.Errorf("a refused create left %s: %q", base, got)
		}
	}
	step := func(body string, want ...string) resource.TestStep { return refusedFile(t, h, noFolder, body, want...) }
	testRefusals(t, noFolder,
		step(fmt.Sprintf(`  path               = %q
  content            = "bad: [\n"
  create_directories = true
  validate_command   = ["grep", "-q", "^groups:", "{}"]`, p), "Content Refused By validate_command", p, "was left as it was"),
		step(fmt.Sprintf(`  path               = %q
  content            = "groups: []\n"
  create_directories = true
  owner              = "nosuchuser"`, p), "File Not Written", "the owner or group could not be set"),
		step(fmt.Sprintf(`  path    = %q
  content = "groups: []\n"`, p), "File Not Written", "the folder "+base+"/rules does not exist", "Set create_directories = true"),
		// A file where a folder should be.
		resource.TestStep{
			PreConfig:   func() { noFolder(); h.InHost(t, "echo x >/etc/mcpai-acc-dirs-blocked") },
			Config:      createDirsConfig(t, h, "/etc/mcpai-acc-dirs-blocked/rules/mcpai.yml", "groups: []\n"),
			ExpectError: errorParts("Folders Not Created", "/etc/mcpai-acc-dirs-blocked exists on", "is not a folder", "Remove what is in the way"),
		},
	)
	if got := h.InHost(t, "cat /etc/mcpai-acc-dirs-blocked"); got != "x" {
		t.Errorf("the file in the way was changed: %q", got)
	}
}

// TestAccHostFile_createDirectoriesForeignFile: at destroy, a created
// folder that holds a file this resource did not write stays (so does the
// folder above it), with a warning naming it; the file is removed.
func TestAccHostFile_createDirectoriesForeignFile(t *testing.T) {
	h := acctest.FirstHost(t)
	base := "/etc/mcpai-acc-dirs-foreign"
	sub := base + "/file_sd"
	p := sub + "/mcpai.json"
	h.RemovePaths(t, base)
	w := acctest.NewWorkspace(t, createDirsConfig(t, h, p, "[]\n"))
	w.Run([]int{0}, "apply", "-auto-approve")
	if got := h.DirsState(t, base, sub); got != "755 root:root directory\n755 root:root directory" {
		t.Fatalf("after apply: %q", got)
	}
	h.InHost(t, "echo '[]' >"+sub+"/other.json")
	_, out := w.Run([]int{0}, "destroy", "-auto-approve")
	for _, d := range []string{sub, base} {
		want := regexp.MustCompile(`Warning: Folder Left In Place[\s\S]*` + regexp.QuoteMeta(d) + `\s+on\s+\S+\s+was\s+created\s+by\s+this\s+resource\s+but\s+was\s+not\s+removed:\s+it\s+is\s+not\s+empty`)
		if !want.MatchString(out) {
			t.Errorf("no warning naming %s:\n%s", d, out)
		}
	}
	if got := h.InHost(t, "ls -A "+sub+"; cat "+sub+"/other.json"); got != "other.json\n[]" {
		t.Errorf("after destroy, %s holds %q; want only the foreign file", sub, got)
	}
}
