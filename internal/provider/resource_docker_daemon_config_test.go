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
)

const accDockerAddr = "mcpai_docker_daemon_config.test"

// dockerHosts are the sandbox hosts with a dockerd, one per engine.
func dockerHosts(t *testing.T) []acctest.Host {
	t.Helper()
	var out []acctest.Host
	for _, h := range acctest.Hosts(t) {
		if h.DockerEngine != "" {
			out = append(out, h)
		}
	}
	if len(out) == 0 {
		t.Fatal("no sandbox host runs dockerd; run scripts/sandbox.sh up 2")
	}
	return out
}

// forEachEngine runs f as a subtest on each sandbox dockerd: the
// distribution's 20.10 (no --validate) and a current engine.
func forEachEngine(t *testing.T, f func(t *testing.T, h acctest.Host)) {
	for _, h := range dockerHosts(t) {
		t.Run(h.DockerEngine, func(t *testing.T) { f(t, h) })
	}
}

func dockerConfig(t *testing.T, h acctest.Host, extra, config string) string {
	return acctest.ProviderBlock(t) + fmt.Sprintf(`
resource "mcpai_docker_daemon_config" "test" {
  ssh    = { host = %q }
  %s
  config = jsonencode(%s)
}
`, h.Address, extra, config)
}

// guideDocker is the performance guide's daemon.json as far as a sandbox
// host can run it: its own storage driver (whatever the engine uses here),
// the cgroupfs driver (no systemd runs here) and container open files under
// this machine's hard limit of 20000.
func guideDocker(driver string) string {
	return fmt.Sprintf(`{
    "storage-driver"  = %q
    "log-driver"      = "json-file"
    "log-opts"        = { "max-size" = "10m", "max-file" = "3" }
    "default-ulimits" = { nofile = { Name = "nofile", Soft = 16384, Hard = 16384 } }
    "exec-opts"       = ["native.cgroupdriver=cgroupfs"]
    "live-restore"    = true
    "metrics-addr"    = "127.0.0.1:9323"
  }`, driver)
}

func TestAccDockerDaemonConfig_lifecycle(t *testing.T) {
	forEachEngine(t, func(t *testing.T, h acctest.Host) {
		h.ResetDocker(t)
		t.Cleanup(func() { h.ResetDocker(t) })
		driver := h.Docker(t, "info", "--format", "{{.Driver}}")
		guide := guideDocker(driver)
		validation := "dockerd --validate"
		if h.DockerEngine == "distribution" {
			validation = "known keys"
		}
		var pidAfterApply string
		resource.Test(t, resource.TestCase{
			ProtoV6ProviderFactories: testAccProviders,
			CheckDestroy: func(*terraform.State) error {
				if content, ok := h.DaemonJSON(t); ok {
					return fmt.Errorf("destroy left daemon.json:\n%s", content)
				}
				if got := h.Docker(t, "info", "--format", "{{.LiveRestoreEnabled}}"); got != "false" {
					return fmt.Errorf("after destroy the daemon runs with live-restore %s", got)
				}
				return nil
			},
			Steps: []resource.TestStep{
				{
					PreConfig: func() { pidAfterApply = h.DockerPid(t) },
					Config:    dockerConfig(t, h, "", guide),
					ConfigStateChecks: []statecheck.StateCheck{
						statecheck.ExpectKnownValue(accDockerAddr, tfjsonpath.New("effective").AtMapKey("live_restore"), knownvalue.Bool(true)),
						statecheck.ExpectKnownValue(accDockerAddr, tfjsonpath.New("effective").AtMapKey("logging_driver"), knownvalue.StringExact("json-file")),
						statecheck.ExpectKnownValue(accDockerAddr, tfjsonpath.New("effective").AtMapKey("storage_driver"), knownvalue.StringExact(driver)),
						statecheck.ExpectKnownValue(accDockerAddr, tfjsonpath.New("pending_restart"), knownvalue.ListSizeExact(0)),
						statecheck.ExpectKnownValue(accDockerAddr, tfjsonpath.New("validation"), knownvalue.StringExact(validation)),
						statecheck.ExpectKnownValue(accDockerAddr, tfjsonpath.New("previous_content"), knownvalue.Null()),
					},
					ConfigPlanChecks: resource.ConfigPlanChecks{
						PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
					},
					Check: func(*terraform.State) error {
						// Not every key can be reloaded: the daemon was restarted.
						if got := h.DockerPid(t); got == pidAfterApply {
							return fmt.Errorf("dockerd was not restarted (pid %s)", got)
						}
						content, _ := h.DaemonJSON(t)
						if !strings.Contains(content, "\n  \"live-restore\": true,\n") {
							return fmt.Errorf("daemon.json is not the indented document:\n%s", content)
						}
						// The daemon really runs it: a container gets the ulimit.
						out := h.Docker(t, "run", "--rm", h.DockerImage, "-nofile")
						if out != "16384" {
							return fmt.Errorf("container open-file limit %q", out)
						}
						pidAfterApply = h.DockerPid(t)
						return nil
					},
				},
				{
					// The same document written another way is no change.
					Config: dockerConfig(t, h, "", strings.ReplaceAll(guide, "\n", "\n  ")),
					ConfigPlanChecks: resource.ConfigPlanChecks{
						PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
					},
				},
				{
					// An edited file is drift.
					PreConfig: func() {
						content, _ := h.DaemonJSON(t)
						edited := strings.Replace(content, `"max-file": "3"`, `"max-file": "9"`, 1)
						if err := os.WriteFile(filepath.Join(h.DockerEtc, "daemon.json"), []byte(edited), 0o644); err != nil {
							t.Fatal(err)
						}
					},
					Config:             dockerConfig(t, h, "", guide),
					PlanOnly:           true,
					ExpectNonEmptyPlan: true,
				},
				{
					// Correcting it (log-opts) needs a restart.
					Config: dockerConfig(t, h, "", guide),
					Check: func(*terraform.State) error {
						if content, _ := h.DaemonJSON(t); !strings.Contains(content, `"max-file": "3"`) {
							return fmt.Errorf("drift not corrected:\n%s", content)
						}
						pidAfterApply = h.DockerPid(t)
						return nil
					},
				},
				{
					// Adding a key Docker reloads is a reload: the daemon keeps
					// its pid. reload_only proves no restart was needed.
					Config: dockerConfig(t, h, `restart = "reload_only"`, strings.Replace(guide, `"live-restore"`, `"debug" = true, "live-restore"`, 1)),
					ConfigPlanChecks: resource.ConfigPlanChecks{
						PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
					},
					Check: func(*terraform.State) error {
						if got := h.DockerPid(t); got != pidAfterApply {
							return fmt.Errorf("a reload restarted dockerd: pid %s -> %s", pidAfterApply, got)
						}
						if got := h.Docker(t, "info", "--format", "{{.Debug}}"); got != "true" {
							return fmt.Errorf("debug after reload = %s", got)
						}
						return nil
					},
				},
				{
					ResourceName:      accDockerAddr,
					ImportState:       true,
					ImportStateId:     h.Address + ":/etc/docker/daemon.json",
					ImportStateVerify: true,
					// No credentials in the ID; an import records the file as
					// found, so destroying it would leave the file.
					ImportStateVerifyIgnore: []string{"ssh", "previous_content", "restart", "timeouts", "validation"},
				},
			},
		})
	})
}

// With live-restore on, a container keeps running through a restart the
// resource performs.
func TestAccDockerDaemonConfig_liveRestore(t *testing.T) {
	forEachEngine(t, func(t *testing.T, h acctest.Host) {
		h.ResetDocker(t)
		t.Cleanup(func() { h.ResetDocker(t) })
		var container, containerPid string
		t.Cleanup(func() {
			if container != "" {
				exec.Command("docker", "-H", "unix://"+h.DockerSocket, "rm", "-f", container).Run() //nolint:errcheck,gosec // best effort
			}
		})
		base := `{ "live-restore" = true, "log-opts" = { "max-size" = "10m" } }`
		resource.Test(t, resource.TestCase{
			ProtoV6ProviderFactories: testAccProviders,
			Steps: []resource.TestStep{
				{
					Config: dockerConfig(t, h, "", base),
					Check: func(*terraform.State) error {
						container = h.Docker(t, "run", "-d", h.DockerImage)
						containerPid = h.Docker(t, "inspect", "--format", "{{.State.Pid}}", container)
						return nil
					},
				},
				{
					// log-opts cannot be reloaded: this restarts dockerd.
					Config: dockerConfig(t, h, "", `{ "live-restore" = true, "log-opts" = { "max-size" = "20m" } }`),
					Check: func(*terraform.State) error {
						got := h.Docker(t, "inspect", "--format", "{{.State.Running}} {{.State.Pid}}", container)
						if got != "true "+containerPid {
							return fmt.Errorf("container after the restart: running/pid %q, was running with pid %s", got, containerPid)
						}
						return nil
					},
				},
			},
		})
	})
}

func TestAccDockerDaemonConfig_badInputs(t *testing.T) {
	forEachEngine(t, func(t *testing.T, h acctest.Host) {
		h.ResetDocker(t)
		t.Cleanup(func() { h.ResetDocker(t) })
		misspelt := `unknown\s+configuration\s+directive|storage-drvier`
		if h.DockerEngine == "distribution" {
			misspelt = `"storage-drvier"\s+\(did\s+you\s+mean\s+"storage-driver"\?\)[\s\S]*Nothing\s+was\s+changed`
		}
		cases := []struct {
			name, extra, config, want string
		}{
			{"misspelt key", "", `{ "storage-drvier" = "overlay2" }`, misspelt},
			{"not an object", "", `["live-restore"]`, `must be a JSON object`},
			{"restart needed under reload_only", `restart = "reload_only"`, `{ "log-level" = "warn" }`, `log-level\s+cannot\s+be\s+applied\s+by\s+a\s+reload[\s\S]*Nothing\s+was\s+changed`},
			{"bad restart mode", `restart = "sometimes"`, `{ "debug" = true }`, `value must be one of`},
			{"path outside", `path = "/etc/passwd"`, `{ "debug" = true }`, `must be an absolute path to a .json file`},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				before, pid := h.DockerState(t), h.DockerPid(t)
				resource.Test(t, resource.TestCase{
					ProtoV6ProviderFactories: testAccProviders,
					Steps: []resource.TestStep{{
						Config:      dockerConfig(t, h, tc.extra, tc.config),
						ExpectError: regexp.MustCompile(tc.want),
					}},
				})
				if after := h.DockerState(t); after != before {
					t.Fatalf("the host changed:\nbefore: %s\nafter:  %s", before, after)
				}
				if got := h.DockerPid(t); got != pid {
					t.Fatalf("dockerd was restarted: pid %s -> %s", pid, got)
				}
			})
		}
	})
}

// A key the service already passes as a flag is refused, naming both.
func TestAccDockerDaemonConfig_flagConflict(t *testing.T) {
	h := dockerHosts(t)[0]
	h.ResetDocker(t)
	opts := filepath.Join(t.TempDir(), "docker-default")
	if err := os.WriteFile(opts, []byte("DOCKER_OPTS=\"-H unix:///var/run/docker.sock\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	inHostMountNS(t, h, "mount --bind "+opts+" /etc/default/docker")
	t.Cleanup(func() { inHostMountNS(t, h, "umount /etc/default/docker") })
	before := h.DockerState(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			Config:      dockerConfig(t, h, "", `{ "hosts" = ["unix:///var/run/docker.sock"] }`),
			ExpectError: regexp.MustCompile(`/etc/default/docker\s+\(DOCKER_OPTS\)[\s\S]*"hosts"\s+\(already\s+passed\s+as\s+"-H\s+unix:///var/run/docker.sock"\)[\s\S]*Nothing\s+was\s+changed`),
		}},
	})
	if after := h.DockerState(t); after != before {
		t.Fatalf("the host changed:\nbefore: %s\nafter:  %s", before, after)
	}
}

// A configuration that passes validation but stops the daemon (a storage
// driver this host lacks) is rolled back: the old file is back, the daemon
// runs again, and the error quotes the daemon.
func TestAccDockerDaemonConfig_rollback(t *testing.T) {
	forEachEngine(t, func(t *testing.T, h acctest.Host) {
		h.ResetDocker(t)
		t.Cleanup(func() { h.ResetDocker(t) })
		var before string
		resource.Test(t, resource.TestCase{
			ProtoV6ProviderFactories: testAccProviders,
			Steps: []resource.TestStep{
				{Config: dockerConfig(t, h, "", `{ "live-restore" = true }`)},
				{
					PreConfig:   func() { before = h.DockerState(t) },
					Config:      dockerConfig(t, h, "", `{ "live-restore" = true, "storage-driver" = "zfs" }`),
					ExpectError: regexp.MustCompile(`After\s+the\s+restart,\s+dockerd\s+on\s+[\s\S]*(exited|was\s+not\s+healthy)[\s\S]*The\s+daemon\s+said:[\s\S]*(zfs|graphdriver)[\s\S]*was\s+put\s+back[\s\S]*dockerd\s+runs\s+again\s+on\s+the\s+old\s+file`),
				},
				{
					Config: dockerConfig(t, h, "", `{ "live-restore" = true }`),
					PreConfig: func() {
						if after := h.DockerState(t); after != before {
							t.Fatalf("not rolled back:\nbefore: %s\nafter:  %s", before, after)
						}
					},
					ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				},
			},
		})
	})
}

// restart = "never" writes the file and reports what is pending, without
// a change on every plan; switching to auto applies it.
func TestAccDockerDaemonConfig_restartNever(t *testing.T) {
	h := dockerHosts(t)[0]
	h.ResetDocker(t)
	t.Cleanup(func() { h.ResetDocker(t) })
	config := `{ "live-restore" = true }`
	var pid string
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{
				PreConfig: func() { pid = h.DockerPid(t) },
				Config:    dockerConfig(t, h, `restart = "never"`, config),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(accDockerAddr, tfjsonpath.New("pending_restart"), knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("live-restore")})),
				},
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: func(*terraform.State) error {
					if got := h.DockerPid(t); got != pid {
						return fmt.Errorf("restart = never restarted dockerd")
					}
					if got := h.Docker(t, "info", "--format", "{{.LiveRestoreEnabled}}"); got != "false" {
						return fmt.Errorf("restart = never applied the file: live-restore %s", got)
					}
					return nil
				},
			},
			{
				Config: dockerConfig(t, h, "", config),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(accDockerAddr, tfjsonpath.New("pending_restart"), knownvalue.ListSizeExact(0)),
					statecheck.ExpectKnownValue(accDockerAddr, tfjsonpath.New("effective").AtMapKey("live_restore"), knownvalue.Bool(true)),
				},
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
		},
	})
}

// inHostMountNS runs a shell command as root in a sandbox host's mount
// namespace (that of its sshd), to change what only that host sees.
func inHostMountNS(t *testing.T, h acctest.Host, script string) {
	t.Helper()
	pid, err := os.ReadFile(filepath.Join(filepath.Dir(h.SSHDLog), "sshd.pid"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("nsenter", "--target", strings.TrimSpace(string(pid)), "--mount", "sh", "-c", script).CombinedOutput()
	if err != nil {
		t.Fatalf("nsenter: %v: %s", err, out)
	}
}

// A daemon.json removed behind Terraform's back is drift that plans, and
// the next apply writes it again.
func TestAccDockerDaemonConfig_fileRemoved(t *testing.T) {
	hosts := dockerHosts(t)
	h := hosts[len(hosts)-1]
	h.ResetDocker(t)
	t.Cleanup(func() { h.ResetDocker(t) })
	config := dockerConfig(t, h, "", `{ "debug" = true }`)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{Config: config},
			{
				PreConfig: func() {
					if err := os.Remove(filepath.Join(h.DockerEtc, "daemon.json")); err != nil {
						t.Fatal(err)
					}
				},
				Config:             config,
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: func(*terraform.State) error {
					if content, ok := h.DaemonJSON(t); !ok || !strings.Contains(content, `"debug": true`) {
						return fmt.Errorf("daemon.json not written again: %q", content)
					}
					return nil
				},
			},
		},
	})
}

// dockerd reports a symlinked data-root by its target: that is the file's
// value in effect, not one waiting for a restart.
func TestAccDockerDaemonConfig_symlinkedDataRoot(t *testing.T) {
	h := dockerHosts(t)[0]
	h.ResetDocker(t)
	h.InHost(t, "ln -sfn /var/lib/docker /var/lib/docker-link")
	t.Cleanup(func() {
		h.ResetDocker(t)
		h.InHost(t, "rm -f /var/lib/docker-link")
	})
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			Config: dockerConfig(t, h, "", `{ "data-root" = "/var/lib/docker-link" }`),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(accDockerAddr, tfjsonpath.New("effective").AtMapKey("root_dir"), knownvalue.StringExact("/var/lib/docker")),
				statecheck.ExpectKnownValue(accDockerAddr, tfjsonpath.New("pending_restart"), knownvalue.ListSizeExact(0)),
			},
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
			},
		}},
	})
}
