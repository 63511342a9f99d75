package provider

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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

const accKernelAddr = "mcpai_host_kernel.test"

// cpufreqHost is the sandbox host with an (emulated) cpufreq driver.
func cpufreqHost(t *testing.T) acctest.Host {
	t.Helper()
	for _, h := range acctest.Hosts(t) {
		if h.CPUFreq == "emulated" {
			return h
		}
	}
	t.Fatal("no sandbox host emulates cpufreq; run scripts/sandbox.sh up 2")
	return acctest.Host{}
}

func kernelConfig(t *testing.T, h acctest.Host, body string) string {
	return acctest.ProviderBlock(t) + fmt.Sprintf(`
resource "mcpai_host_kernel" "test" {
  ssh = { host = %q }
%s
}
`, h.Address, body)
}

// fullKernelBody sets everything. Its limits stay under this machine's own
// hard limits (nofile 20000): root here lacks CAP_SYS_RESOURCE, so
// pam_limits could lower limits but not raise them, and the tests check the
// limits a login really gets.
const fullKernelBody = `
  cpu_governor                 = "performance"
  transparent_hugepage_enabled = "never"
  transparent_hugepage_defrag  = "never"
  nofile_limit                 = { soft = 8192, hard = 16384 }
  nproc_limit                  = { soft = 4096, hard = 65536 }
`

func TestAccHostKernel_lifecycle(t *testing.T) {
	h := cpufreqHost(t)
	origEnabled, origDefrag := acctest.GuardTHP(t)
	if origEnabled == "never" || origDefrag == "never" {
		t.Skip("the machine's THP is already never; the test could not see a change")
	}
	before := h.KernelSnapshot(t)
	gov0 := h.Governor(t, 0)

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy:             sameAs(t, h.KernelSnapshot, before),
		Steps: []resource.TestStep{
			{
				Config: kernelConfig(t, h, fullKernelBody),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(accKernelAddr, tfjsonpath.New("id"), knownvalue.StringExact(h.Address)),
					statecheck.ExpectKnownValue(accKernelAddr, tfjsonpath.New("previous_values"), knownvalue.MapExact(map[string]knownvalue.Check{
						kernel.THPEnabledPath:  knownvalue.StringExact(origEnabled),
						kernel.THPDefragPath:   knownvalue.StringExact(origDefrag),
						kernel.GovernorPath(0): knownvalue.StringExact(gov0),
						kernel.GovernorPath(1): knownvalue.StringExact(h.Governor(t, 1)),
					})),
					statecheck.ExpectKnownValue(accKernelAddr, tfjsonpath.New("previous_files"), knownvalue.MapSizeExact(0)),
				},
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: func(*terraform.State) error {
					if got := acctest.MachineTHP(t, kernel.THPEnabledPath) + "/" + acctest.MachineTHP(t, kernel.THPDefragPath); got != "never/never" {
						return fmt.Errorf("live THP enabled/defrag = %s", got)
					}
					for cpu := range 2 {
						if got := h.Governor(t, cpu); got != "performance" {
							return fmt.Errorf("cpu%d governor = %q", cpu, got)
						}
					}
					want := map[string]string{
						kernel.TmpfilesFile: kernel.Header + "# Applied at boot by systemd-tmpfiles-setup.service.\n" +
							"w /sys/kernel/mm/transparent_hugepage/enabled - - - - never\n" +
							"w /sys/kernel/mm/transparent_hugepage/defrag - - - - never\n" +
							"w /sys/devices/system/cpu/cpu*/cpufreq/scaling_governor - - - - performance\n",
						kernel.LimitsFile: kernel.Header + "# Login sessions (pam_limits). \"*\" does not match root, so root has its own lines.\n" +
							"*     soft nofile 8192\n*     hard nofile 16384\nroot  soft nofile 8192\nroot  hard nofile 16384\n" +
							"*     soft nproc  4096\n*     hard nproc  65536\nroot  soft nproc  4096\nroot  hard nproc  65536\n",
						kernel.SystemdFile: kernel.Header + "# Default limits of the services systemd starts, which pam_limits does not reach.\n" +
							"[Manager]\nDefaultLimitNOFILE=8192:16384\nDefaultLimitNPROC=4096:65536\n",
					}
					for p, w := range want {
						if got := h.EtcFile(t, p); got != w {
							return fmt.Errorf("%s holds:\n%s\nwant:\n%s", p, got, w)
						}
					}
					// The files work for their real readers. pam_limits, through
					// runuser's PAM stack, gives a user and root these limits:
					for _, user := range []string{h.SudoUser, "root"} {
						if got := h.InHost(t, "runuser -u "+user+" -- bash -c 'echo $(ulimit -Sn) $(ulimit -Hn) $(ulimit -Su) $(ulimit -Hu)'"); got != "8192 16384 4096 65536" {
							return fmt.Errorf("limits of %s through pam_limits: %q", user, got)
						}
					}
					// and systemd-tmpfiles, run as at boot after the values were
					// lost, sets them again.
					if err := os.WriteFile(kernel.THPEnabledPath, []byte("always"), 0o644); err != nil {
						return err
					}
					h.InHost(t, "printf powersave > "+kernel.GovernorPath(0))
					h.InHost(t, "systemd-tmpfiles --create "+kernel.TmpfilesFile)
					if got := acctest.MachineTHP(t, kernel.THPEnabledPath); got != "never" {
						return fmt.Errorf("after systemd-tmpfiles, THP enabled = %s", got)
					}
					if got := h.Governor(t, 0); got != "performance" {
						return fmt.Errorf("after systemd-tmpfiles, cpu0 governor = %q", got)
					}
					return nil
				},
			},
			{
				// THP changed out of band (on the shared kernel) is drift.
				PreConfig: func() {
					if err := os.WriteFile(kernel.THPEnabledPath, []byte("always"), 0o644); err != nil {
						t.Fatal(err)
					}
				},
				Config: kernelConfig(t, h, fullKernelBody),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(accKernelAddr, plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue(accKernelAddr, tfjsonpath.New("transparent_hugepage_enabled"), knownvalue.StringExact("never")),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: func(*terraform.State) error {
					if got := acctest.MachineTHP(t, kernel.THPEnabledPath); got != "never" {
						return fmt.Errorf("drift not corrected: THP enabled = %s", got)
					}
					return nil
				},
			},
			{
				// So is one CPU's governor, and an edited persistence file.
				PreConfig: func() {
					h.InHost(t, "printf powersave > "+kernel.GovernorPath(1))
					h.InHost(t, "echo 'w /sys/kernel/mm/transparent_hugepage/enabled - - - - always' >> "+kernel.TmpfilesFile)
				},
				Config: kernelConfig(t, h, fullKernelBody),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(accKernelAddr, plancheck.ResourceActionUpdate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: func(*terraform.State) error {
					if got := h.Governor(t, 1); got != "performance" {
						return fmt.Errorf("cpu1 governor drift not corrected: %q", got)
					}
					if strings.Contains(h.EtcFile(t, kernel.TmpfilesFile), "always") {
						return fmt.Errorf("edited tmpfiles file not rewritten")
					}
					return nil
				},
			},
			{
				// A removed limits file is drift too.
				PreConfig:          func() { h.InHost(t, "rm "+kernel.LimitsFile) },
				Config:             kernelConfig(t, h, fullKernelBody),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				// Update: drop defrag (put back as found) and nproc.
				Config: kernelConfig(t, h, `
  cpu_governor                 = "performance"
  transparent_hugepage_enabled = "never"
  nofile_limit                 = { soft = 8192, hard = 16384 }
`),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: func(*terraform.State) error {
					if got := acctest.MachineTHP(t, kernel.THPDefragPath); got != origDefrag {
						return fmt.Errorf("dropped defrag not restored: %s, want %s", got, origDefrag)
					}
					if got := h.EtcFile(t, kernel.LimitsFile); !strings.Contains(got, "nofile 16384") || strings.Contains(got, "nproc") {
						return fmt.Errorf("limits file after dropping nproc:\n%s", got)
					}
					if got := h.EtcFile(t, kernel.SystemdFile); strings.Contains(got, "NPROC") {
						return fmt.Errorf("systemd drop-in after dropping nproc:\n%s", got)
					}
					if got := h.EtcFile(t, kernel.TmpfilesFile); strings.Contains(got, "defrag") {
						return fmt.Errorf("tmpfiles after dropping defrag:\n%s", got)
					}
					return nil
				},
			},
			{
				ResourceName:      accKernelAddr,
				ImportState:       true,
				ImportStateId:     h.Address,
				ImportStateVerify: true,
				// The import ID carries no credentials, and what was there
				// before the import is unknowable.
				ImportStateVerifyIgnore: []string{"ssh", "previous_values", "previous_files", "timeouts"},
			},
		},
	})
}

// On a host without cpufreq (this machine, like most VMs) the governor is
// an error that names the missing file, unless it is optional.
func TestAccHostKernel_noCPUFreq(t *testing.T) {
	h := acctest.FirstHost(t)
	if h.CPUFreq != "none" {
		t.Skipf("%s has cpufreq", h.Name)
	}
	origEnabled, _ := acctest.GuardTHP(t)
	before := h.KernelSnapshot(t)
	body := `
  cpu_governor                 = "performance"
  transparent_hugepage_enabled = "never"
`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy:             sameAs(t, h.KernelSnapshot, before),
		Steps: []resource.TestStep{
			{
				Config:      kernelConfig(t, h, body),
				ExpectError: regexp.MustCompile(`has\s+no\s+cpufreq:\s+/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor\s+does\s+not\s+exist[\s\S]*cpu_governor_optional\s+=\s+true[\s\S]*Nothing\s+was\s+changed`),
			},
			{
				PreConfig: func() {
					if after := h.KernelSnapshot(t); after != before {
						t.Fatalf("the failed apply changed the host:\n%s", after)
					}
				},
				Config: kernelConfig(t, h, body+"  cpu_governor_optional = true\n"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(accKernelAddr, tfjsonpath.New("cpu_governor"), knownvalue.StringExact("performance")),
					statecheck.ExpectKnownValue(accKernelAddr, tfjsonpath.New("previous_values"), knownvalue.MapExact(map[string]knownvalue.Check{
						kernel.THPEnabledPath: knownvalue.StringExact(origEnabled),
					})),
				},
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: func(*terraform.State) error {
					if got := acctest.MachineTHP(t, kernel.THPEnabledPath); got != "never" {
						return fmt.Errorf("THP enabled = %s", got)
					}
					if got := h.EtcFile(t, kernel.TmpfilesFile); !strings.Contains(got, "cpufreq/scaling_governor - - - - performance") {
						return fmt.Errorf("the boot-time governor line is missing:\n%s", got)
					}
					return nil
				},
			},
		},
	})
}

// A write the kernel refuses half way puts back what was already changed:
// here cpu1's governor file is made read-only in the host's mount
// namespace, so cpu0 is written, cpu1 fails, and both files and cpu0 are
// rolled back.
func TestAccHostKernel_rollback(t *testing.T) {
	h := cpufreqHost(t)
	acctest.GuardTHP(t)
	pid, err := os.ReadFile(filepath.Join(filepath.Dir(h.SSHDLog), "sshd.pid"))
	if err != nil {
		t.Fatal(err)
	}
	inHostNS := func(script string) {
		t.Helper()
		out, err := exec.Command("nsenter", "--target", strings.TrimSpace(string(pid)), "--mount", "sh", "-c", script).CombinedOutput()
		if err != nil {
			t.Fatalf("nsenter: %v: %s", err, out)
		}
	}
	gov1 := kernel.GovernorPath(1)
	inHostNS("mount --bind " + gov1 + " " + gov1 + " && mount -o remount,bind,ro " + gov1)
	t.Cleanup(func() { inHostNS("umount " + gov1) })
	before := h.KernelSnapshot(t)

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			Config:      kernelConfig(t, h, fullKernelBody),
			ExpectError: regexp.MustCompile(`Writing\s+"performance"\s+to\s+/sys/devices/system/cpu/cpu1/cpufreq/scaling_governor\s+failed:[\s\S]*Read-only\s+file\s+system[\s\S]*put\s+back`),
		}},
	})
	if after := h.KernelSnapshot(t); after != before {
		t.Fatalf("not rolled back:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// A kernel booted with transparent_hugepage= gets a warning that says so.
func TestAccHostKernel_cmdlineWarning(t *testing.T) {
	var h acctest.Host
	for _, c := range acctest.Hosts(t) {
		if c.CmdlineTHP != "" {
			h = c
		}
	}
	if h.Name == "" {
		t.Fatal("no sandbox host boots with transparent_hugepage=; run scripts/sandbox.sh up 2")
	}
	acctest.GuardTHP(t)
	before := h.KernelSnapshot(t)
	w := acctest.NewWorkspace(t, kernelConfig(t, h, `  transparent_hugepage_enabled = "never"`))
	_, out := w.Run([]int{0}, "apply", "-auto-approve")
	want := regexp.MustCompile(`Warning: THP Is Also Set on the Kernel Command Line[\s\S]*booted\s+with\s+transparent_hugepage=never`)
	if !want.MatchString(out) {
		t.Errorf("no warning about the boot parameter:\n%s", out)
	}
	w.Run([]int{0}, "destroy", "-auto-approve")
	if after := h.KernelSnapshot(t); after != before {
		t.Fatalf("destroy did not restore the host:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

func TestAccHostKernel_badInputs(t *testing.T) {
	h := cpufreqHost(t)
	acctest.GuardTHP(t)
	cases := []struct {
		name, body string
		want       string
	}{
		{"invalid THP mode", `transparent_hugepage_enabled = "nevr"`, `value must be one of:[\s\S]*"never"`},
		{"invalid defrag mode", `transparent_hugepage_defrag = "sometimes"`, `transparent_hugepage_defrag[\s\S]*value must be one of`},
		{"governor the host lacks", `cpu_governor = "interactive"`, `does not offer the governor "interactive"[\s\S]*conservative, ondemand, userspace, powersave, performance, schedutil[\s\S]*Nothing was changed`},
		{"injection in governor", `cpu_governor = "performance; touch /tmp/mcpai-pwned"`, `Invalid CPU Governor`},
		{"unlimited nofile", `nofile_limit = { soft = 1024, hard = "unlimited" }`, `nofile cannot be "unlimited"`},
		{"soft above hard", `nofile_limit = { soft = 65536, hard = 1024 }`, `soft limit 65536 is above the hard limit 1024`},
		{"not a number", `nproc_limit = { soft = "12abc", hard = 4096 }`, `Invalid Limit[\s\S]*is not a limit`},
		{"zero limit", `nproc_limit = { soft = 0, hard = 4096 }`, `limit of 0 would stop every process`},
		{"nofile above nr_open", `nofile_limit = { soft = 1024, hard = 4294967295 }`, `above the host's fs.nr_open[\s\S]*every login[\s\S]*Nothing was changed`},
		{"nothing set", ``, `Nothing to Manage`},
		{"good and bad together", `
  transparent_hugepage_enabled = "never"
  nofile_limit                 = { soft = 65536, hard = 65536 }
  cpu_governor                 = "interactive"`, `does not offer the governor[\s\S]*Nothing was changed`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want := regexp.MustCompile(strings.ReplaceAll(tc.want, " ", `\s+`))
			before := h.KernelSnapshot(t)
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: testAccProviders,
				Steps:                    []resource.TestStep{{Config: kernelConfig(t, h, tc.body), ExpectError: want}},
			})
			if after := h.KernelSnapshot(t); after != before {
				t.Fatalf("the host changed:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		})
	}
}

// Through sudo: a limits file that was there before is recorded, replaced
// and put back on destroy; a foreign tmpfiles file is never touched.
func TestAccHostKernel_sudoAndPreexistingFile(t *testing.T) {
	h := cpufreqHost(t)
	acctest.GuardTHP(t)
	const theirs = "# the site limits\n*  soft  nofile  4096\n"
	h.InHost(t, "printf '"+theirs+"' > "+kernel.LimitsFile)
	t.Cleanup(func() { h.InHost(t, "rm -f "+kernel.LimitsFile) })
	before := h.KernelSnapshot(t)
	config := acctest.ProviderBlock(t) + fmt.Sprintf(`
resource "mcpai_host_kernel" "test" {
  ssh          = { host = %q, user = %q, sudo = true }
  cpu_governor = "powersave"
  nofile_limit = { soft = 4096, hard = 8192 }
}
`, h.Address, h.SudoUser)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy:             sameAs(t, h.KernelSnapshot, before),
		Steps: []resource.TestStep{{
			Config: config,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(accKernelAddr, tfjsonpath.New("previous_files"), knownvalue.MapExact(map[string]knownvalue.Check{
					kernel.LimitsFile: knownvalue.StringExact(theirs),
				})),
			},
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
			},
			Check: func(*terraform.State) error {
				if got := h.Governor(t, 1); got != "powersave" {
					return fmt.Errorf("cpu1 governor through sudo = %q", got)
				}
				if got := h.EtcFile(t, kernel.LimitsFile); !strings.Contains(got, "hard nofile 8192") {
					return fmt.Errorf("limits file:\n%s", got)
				}
				if got := h.EtcFile(t, kernel.TmpfilesFile); !strings.Contains(got, "powersave") {
					return fmt.Errorf("tmpfiles file:\n%s", got)
				}
				return nil
			},
		}},
	})
}

// Files at the resource's paths that it did not write are someone else's:
// a resource managing only THP neither reads them as settings nor touches
// them, and import refuses a host where none of the files is its own.
func TestAccHostKernel_foreignFilesLeftAlone(t *testing.T) {
	h := acctest.FirstHost(t)
	acctest.GuardTHP(t)
	h.InHost(t, "printf '* soft nofile 4096\\n* hard nofile 8192\\n' > "+kernel.LimitsFile+
		" && printf '[Manager]\\nDefaultLimitNOFILE=4096\\n' > "+kernel.SystemdFile)
	t.Cleanup(func() { h.InHost(t, "rm -f "+kernel.LimitsFile+" "+kernel.SystemdFile) })
	before := h.KernelSnapshot(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy:             sameAs(t, h.KernelSnapshot, before),
		Steps: []resource.TestStep{
			{
				Config:        kernelConfig(t, h, `  transparent_hugepage_enabled = "never"`),
				ResourceName:  accKernelAddr,
				ImportState:   true,
				ImportStateId: h.Address,
				ExpectError:   regexp.MustCompile(`None\s+of\s+/etc/tmpfiles.d/mcpai-kernel.conf,[\s\S]*was\s+written\s+by\s+mcpai_host_kernel`),
			},
			{
				Config: kernelConfig(t, h, `  transparent_hugepage_enabled = "never"`),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(accKernelAddr, tfjsonpath.New("nofile_limit"), knownvalue.Null()),
					statecheck.ExpectKnownValue(accKernelAddr, tfjsonpath.New("files"), knownvalue.MapSizeExact(1)),
				},
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: func(*terraform.State) error {
					if got := h.EtcFile(t, kernel.LimitsFile); got != "* soft nofile 4096\n* hard nofile 8192\n" {
						return fmt.Errorf("the site's limits file changed:\n%s", got)
					}
					return nil
				},
			},
		},
	})
}
