package vmtest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mcpai/terraform-provider-mcpai/internal/acctest"
)

// The power goes (qemu killed) while an apply restarts Docker, after it
// restarted PostgreSQL: the run fails saying the host went away, the state
// holds what was done, and after a cold boot the services are up, the next
// apply converges with an empty plan, and destroy puts the VM back. All as
// the sudo user, so Docker is reached through the sudo relay.
func TestAccVMPowerCutMidApply(t *testing.T) {
	v := acctest.VMAt(t, 0)
	const pgPassword = "mcpai-vm-pg"
	v.InHost(t, `cd / && su postgres -c "psql -qc \"ALTER ROLE postgres PASSWORD '`+pgPassword+`'\""`)
	t.Cleanup(func() {
		_, _ = v.Try(time.Minute, `cd / && su postgres -c "psql -qc \"ALTER ROLE postgres PASSWORD NULL\""`)
	})

	type host struct{ daemonJSON, logDriver, sharedBuffers, autoConf, services string }
	look := func() host {
		t.Helper()
		out := v.InHost(t, `cd / && cat /etc/docker/daemon.json 2>/dev/null | sha256sum | cut -c1-16
docker info --format '{{.LoggingDriver}}'
su postgres -c "psql -tAc 'SHOW shared_buffers'"
grep -c shared_buffers /var/lib/postgresql/15/main/postgresql.auto.conf || true
echo $(systemctl is-active docker postgresql@15-main)`)
		f := strings.Split(out, "\n")
		if len(f) != 5 {
			t.Fatalf("the VM answered %q", out)
		}
		return host{f[0], f[1], f[2], f[3], f[4]}
	}
	before := look()
	if before.sharedBuffers != "128MB" || before.logDriver != "json-file" || before.services != "active active" {
		t.Fatalf("the VM is not as the test expects: %+v", before)
	}
	noFile := before.daemonJSON

	w := acctest.NewWorkspace(t, providerBlock(t, v, false)+fmt.Sprintf(`
resource "mcpai_postgres_tuning" "pg" {
  ssh      = %[1]s
  postgres = { user = "postgres", password = %[2]q }
  restart  = "allowed"
  settings = { shared_buffers = "192MB" }
}

# A log-opts change is one dockerd cannot reload: it restarts.
resource "mcpai_docker_daemon_config" "docker" {
  ssh        = %[1]s
  config     = jsonencode({ "log-driver" = "json-file", "log-opts" = { "max-size" = "10m", "max-file" = "2" } })
  depends_on = [mcpai_postgres_tuning.pg]
}`, sshTarget(v), pgPassword))

	bootID := v.BootID(t)
	// The first apply, cut when dockerd's pid changes (the restart).
	applied := make(chan string, 1)
	go func() {
		_, out := w.Run([]int{0, 1}, "apply", "-auto-approve")
		applied <- out
	}()
	restarted := make(chan string, 1)
	go func() {
		out, err := v.Try(3*time.Minute, `pid() { systemctl show -p MainPID --value docker.service; }
p0=$(pid)
until [ -e /etc/docker/daemon.json ] && [ "$(pid)" != "$p0" ]; do sleep 0.1; done
echo "dockerd $p0 -> $(pid), daemon.json $(tr -d ' \n' < /etc/docker/daemon.json)"`)
		if err != nil {
			out = err.Error()
		}
		restarted <- out
	}()
	select {
	case out := <-restarted:
		t.Logf("cut during the Docker restart: %s", out)
	case out := <-applied:
		t.Fatalf("the apply ended before dockerd restarted:\n%s", out)
	}
	v.PowerCut(t)
	var out string
	select {
	case out = <-applied:
	case <-time.After(2 * time.Minute):
		t.Fatal("terraform apply still runs 2 min after the power cut")
	}
	if !messageRE("Error: Unable to Apply Docker Configuration with mcpai_docker_daemon_config.docker").MatchString(out) ||
		!messageRE("dockerd on "+v.SudoUser+"@"+hostID(v)+" could not be restarted").MatchString(out) {
		t.Fatalf("the cut apply does not say which resource failed on which host:\n%s", out)
	}
	if _, list := w.Run([]int{0}, "state", "list"); strings.TrimSpace(list) != "mcpai_postgres_tuning.pg" {
		t.Fatalf("state after the cut: %q", list)
	}

	v.Boot(t)
	if v.BootID(t) == bootID {
		t.Fatal("same boot id after the power cut and a cold boot")
	}
	servicesUp(t, v, "after the power cut and a cold boot")
	if got := look(); got.sharedBuffers != "192MB" || got.services != "active active" {
		t.Fatalf("after the cold boot: %+v", got)
	}

	w.Run([]int{0}, "apply", "-auto-approve")
	if code, plan := w.Run([]int{0, 2}, "plan", "-detailed-exitcode"); code != 0 {
		t.Fatalf("plan after the second apply is not empty:\n%s", plan)
	}
	got := look()
	if got.sharedBuffers != "192MB" || got.services != "active active" || got.daemonJSON == noFile {
		t.Fatalf("after the second apply: %+v", got)
	}
	if opts := v.InHost(t, `docker info --format '{{json .}}' | grep -o '"max-file":"2"' || true`); opts != "" {
		// docker info does not show log-opts; the file is the check.
		t.Logf("docker info shows %s", opts)
	}
	if cfg := v.InHost(t, "tr -d ' \\n' < /etc/docker/daemon.json"); !strings.Contains(cfg, `"log-opts":{"max-file":"2","max-size":"10m"}`) {
		t.Fatalf("daemon.json after the second apply: %s", cfg)
	}

	w.Run([]int{0}, "destroy", "-auto-approve")
	if got := look(); got != before {
		t.Fatalf("destroy did not put the VM back:\nbefore: %+v\nafter:  %+v", before, got)
	}
}
