package acctest

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The suffixes mcpai_container gives a replacement and the container it
// replaces while it swaps them (internal/provider's nextSuffix and
// oldSuffix, which a test package outside it cannot read).
const (
	NextSuffix = "-mcpai-next"
	OldSuffix  = "-mcpai-old"
)

// Docker runs the docker CLI against h's daemon, through the host's socket
// as the machine sees it, and returns its output; a failure fails the test.
func (h Host) Docker(t testing.TB, args ...string) string {
	t.Helper()
	out, err := h.DockerCommand(args...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// DockerCommand is the docker CLI with args against h's daemon.
func (h Host) DockerCommand(args ...string) *exec.Cmd {
	return exec.Command("docker", append([]string{"-H", "unix://" + h.DockerSocket}, args...)...)
}

// DockerOutput runs the docker CLI against h's daemon and returns its
// output and error, for commands that may fail.
func (h Host) DockerOutput(args ...string) (string, error) {
	out, err := h.DockerCommand(args...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// DockerPid is the pid of h's dockerd, from /var/run/docker.pid.
func (h Host) DockerPid(t testing.TB) string {
	t.Helper()
	return h.InHost(t, "cat /var/run/docker.pid")
}

// DaemonJSON is h's /etc/docker/daemon.json; ok is false when there is none.
func (h Host) DaemonJSON(t testing.TB) (content string, ok bool) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(h.DockerEtc, "daemon.json"))
	if os.IsNotExist(err) {
		return "", false
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(data), true
}

// ResetDocker makes h's daemon run without a daemon.json, as the sandbox
// starts it, whatever a failed test left.
func (h Host) ResetDocker(t testing.TB) {
	t.Helper()
	if _, ok := h.DaemonJSON(t); ok {
		if err := os.Remove(filepath.Join(h.DockerEtc, "daemon.json")); err != nil {
			t.Fatal(err)
		}
		h.InHost(t, "service docker restart >/dev/null 2>&1; for i in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done")
	}
}

// DockerState is what the daemon tests compare before and after: the file
// and the daemon answering.
func (h Host) DockerState(t testing.TB) string {
	t.Helper()
	content, ok := h.DaemonJSON(t)
	return fmt.Sprintf("file=%v %q driver=%s", ok, content, h.Docker(t, "info", "--format", "{{.Driver}} {{.LoggingDriver}} {{.LiveRestoreEnabled}}"))
}

// Container is the part of docker inspect the tests look at.
type Container struct {
	ID     string
	Name   string
	Config struct {
		Cmd    []string
		Env    []string
		Labels map[string]string
	}
	State struct {
		Status  string
		Running bool
		Health  *struct{ Status string }
	}
	HostConfig struct {
		Memory            int64
		MemoryReservation int64
		NanoCpus          int64
		CpusetCpus        string
		ShmSize           int64
		RestartPolicy     struct{ Name string }
		Binds             []string
		PortBindings      map[string][]struct{ HostIP, HostPort string }
		Ulimits           []struct {
			Name       string
			Soft, Hard int64
		}
		DeviceRequests []struct {
			Driver       string
			Count        int
			DeviceIDs    []string
			Capabilities [][]string
		}
	}
}

// InspectContainer inspects a container on h by name; ok is false when
// there is none.
func (h Host) InspectContainer(t testing.TB, name string) (c Container, ok bool) {
	t.Helper()
	out, err := h.DockerOutput("inspect", "--type", "container", name)
	if err != nil {
		if strings.Contains(out, "No such") {
			return Container{}, false
		}
		t.Fatalf("docker inspect %s: %v: %s", name, err, out)
	}
	var list []Container
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 1 {
		t.Fatalf("docker inspect %s: %v: %s", name, err, out)
	}
	return list[0], true
}

// RemoveContainers removes test containers from h by name, with their
// replacement names, whatever a failed run left.
func (h Host) RemoveContainers(t testing.TB, names ...string) {
	t.Helper()
	for _, n := range names {
		for _, suffix := range []string{"", NextSuffix, OldSuffix} {
			_, _ = h.DockerOutput("rm", "-f", n+suffix)
		}
	}
}

// NoLeftovers is an error when a replacement left a container on h under
// one of its temporary names.
func (h Host) NoLeftovers(t testing.TB, name string) error {
	for _, s := range []string{NextSuffix, OldSuffix} {
		if _, ok := h.InspectContainer(t, name+s); ok {
			return fmt.Errorf("left %s", name+s)
		}
	}
	return nil
}
