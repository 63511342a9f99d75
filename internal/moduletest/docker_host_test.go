package moduletest

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/mcpai/terraform-provider-mcpai/internal/acctest"
)

// dockerModuleHost is the sandbox host whose dockerd the module tests
// use: the first (Docker 20.10); the model runner's tests use the other
// host's engine.
func dockerModuleHost(t *testing.T) acctest.Host {
	t.Helper()
	h := acctest.FirstHost(t)
	if h.DockerEngine == "" {
		t.Fatal("the first sandbox host runs no dockerd; run scripts/sandbox.sh up 2")
	}
	return h
}

// sameJSON reports whether two JSON documents hold the same value.
func sameJSON(t *testing.T, a, b string) bool {
	t.Helper()
	var va, vb any
	if err := json.Unmarshal([]byte(a), &va); err != nil {
		t.Fatalf("%v: %s", err, a)
	}
	if err := json.Unmarshal([]byte(b), &vb); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	ja, _ := json.Marshal(va)
	jb, _ := json.Marshal(vb)
	return string(ja) == string(jb)
}

// The module writes the guide's daemon.json (within what a sandbox host
// can run: container open files under this machine's hard limit of 20000,
// the cgroupfs driver as no systemd runs here) with the NVIDIA runtime
// registered, the daemon runs it, the plan is then empty, restart is
// passed through, and destroy leaves the daemon as it was.
func TestAccModuleDockerHost(t *testing.T) {
	if testing.Short() {
		t.Skip("drives the terraform CLI")
	}
	h := dockerModuleHost(t)
	h.ResetDocker(t)
	t.Cleanup(func() { h.ResetDocker(t) })
	before := h.DockerState(t)
	args := hostsArg(h) + `
  nofile_limit   = { soft = 16384, hard = 16384 }
  cgroup_driver  = "cgroupfs"
  nvidia_runtime = true
  extra_config   = { "max-concurrent-downloads" = 4 }
`
	w := callModule(t, "docker-host", args, "config", "effective", "previous_content")
	w.Run([]int{0}, "apply", "-auto-approve")
	destroyed := false
	t.Cleanup(func() {
		if !destroyed {
			w.Run([]int{0}, "destroy", "-auto-approve")
		}
	})

	content, _ := h.DaemonJSON(t)
	want := `{
  "default-ulimits": {"nofile": {"Name": "nofile", "Soft": 16384, "Hard": 16384}},
  "exec-opts": ["native.cgroupdriver=cgroupfs"],
  "live-restore": true,
  "log-driver": "json-file",
  "log-opts": {"max-file": "3", "max-size": "10m"},
  "max-concurrent-downloads": 4,
  "runtimes": {"nvidia": {"path": "nvidia-container-runtime"}}
}`
	if !sameJSON(t, content, want) {
		t.Errorf("daemon.json:\n%s\nwant:\n%s", content, want)
	}
	if got := h.Docker(t, "info", "--format", "{{.LoggingDriver}} {{.LiveRestoreEnabled}} {{.CgroupDriver}} {{.DefaultRuntime}} {{(index .Runtimes \"nvidia\").Path}}"); got != "json-file true cgroupfs runc nvidia-container-runtime" {
		t.Errorf("docker info: %s", got)
	}
	// Containers get the limit and the log rotation.
	if got := h.Docker(t, "run", "--rm", h.DockerImage, "-nofile"); got != "16384" {
		t.Errorf("container open-file limit %q", got)
	}
	id := h.Docker(t, "create", h.DockerImage)
	logConfig := h.Docker(t, "inspect", "--format", "{{json .HostConfig.LogConfig}}", id)
	h.Docker(t, "rm", id)
	if !sameJSON(t, logConfig, `{"Type": "json-file", "Config": {"max-file": "3", "max-size": "10m"}}`) {
		t.Errorf("a new container's log configuration: %s", logConfig)
	}
	if _, out := w.Run([]int{0}, "output", "-json", "previous_content"); !sameJSON(t, out, fmt.Sprintf(`{%q: null}`, h.Address)) {
		t.Errorf("previous_content output: %s", out)
	}
	w.PlanEmpty()

	// restart reaches the resource: under reload_only a change that needs
	// a restart (log-opts) is refused before the file is touched.
	pid := h.DockerPid(t)
	recallModule(t, w, "docker-host", args+"  log_max_file = 5\n  restart = \"reload_only\"\n")
	_, out := w.Run([]int{1}, "apply", "-auto-approve")
	if !strings.Contains(strings.Join(strings.Fields(out), " "), "log-opts cannot be applied by a reload") {
		t.Errorf("reload_only did not refuse a restart:\n%s", out)
	}
	if after, _ := h.DaemonJSON(t); after != content || h.DockerPid(t) != pid {
		t.Errorf("the refused change touched the host: pid %s -> %s, daemon.json:\n%s", pid, h.DockerPid(t), after)
	}
	recallModule(t, w, "docker-host", args)

	w.Run([]int{0}, "destroy", "-auto-approve")
	destroyed = true
	if after := h.DockerState(t); after != before {
		t.Errorf("not restored:\nbefore: %s\nafter:  %s", before, after)
	}
}

// A bad input is refused at plan time: no file is written and dockerd is
// not restarted (each validation, and the daemon.json planned, is tested in
// modules/docker-host/tests).
func TestAccModuleDockerHost_validation(t *testing.T) {
	if testing.Short() {
		t.Skip("drives the terraform CLI")
	}
	h := dockerModuleHost(t)
	before, pid := h.DockerState(t), h.DockerPid(t)
	w := callModule(t, "docker-host", hostsArg(h)+"  default_runtime = \"runc; reboot\"\n")
	planRefused(t, w, h, `default_runtime must be a runtime name`)
	if after := h.DockerState(t); after != before {
		t.Errorf("the host changed:\nbefore: %s\nafter:  %s", before, after)
	}
	if got := h.DockerPid(t); got != pid {
		t.Errorf("dockerd was restarted: pid %s -> %s", pid, got)
	}
}
