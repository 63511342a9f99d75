// Package bench measures the provider end to end, through the terraform
// CLI, against a sandbox host's real sshd, and the peer (ansible-playbook)
// doing the same change on the same host in the same run. Run with
// `make bench`.
package bench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mcpai/terraform-provider-mcpai/internal/acctest"
)

// guideNetwork is the performance guide's ten network sysctls, all of which
// a sandbox host's network namespace lets us write.
var guideNetwork = map[string]string{
	"net.core.somaxconn":                 "65535",
	"net.ipv4.tcp_max_syn_backlog":       "65535",
	"net.ipv4.ip_local_port_range":       "1024 65535",
	"net.ipv4.tcp_fin_timeout":           "15",
	"net.ipv4.tcp_tw_reuse":              "1",
	"net.ipv4.tcp_keepalive_time":        "300",
	"net.ipv4.tcp_keepalive_intvl":       "30",
	"net.ipv4.tcp_keepalive_probes":      "5",
	"net.ipv4.tcp_rmem":                  "4096 87380 16777216",
	"net.ipv4.tcp_slow_start_after_idle": "0",
}

// twentyKeys gives each of 20 resources a key of its own.
var twentyKeys = []string{
	"net.core.somaxconn", "net.ipv4.tcp_max_syn_backlog", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_fin_timeout",
	"net.ipv4.tcp_tw_reuse", "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes",
	"net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem", "net.ipv4.tcp_slow_start_after_idle", "net.ipv4.tcp_mtu_probing",
	"net.ipv4.tcp_syn_retries", "net.ipv4.tcp_synack_retries", "net.ipv4.tcp_sack", "net.ipv4.tcp_timestamps",
	"net.ipv4.tcp_window_scaling", "net.ipv4.tcp_no_metrics_save", "net.ipv4.tcp_retries2", "net.ipv4.tcp_max_tw_buckets",
}

func benchHost(b *testing.B) acctest.Host {
	hosts := acctest.Hosts(b)
	// The last host, so that benchmarks and tests do not share one.
	return hosts[len(hosts)-1]
}

func sysctlResource(name, host, file string, settings map[string]string) string {
	var s strings.Builder
	fmt.Fprintf(&s, "resource \"mcpai_host_sysctl\" %q {\n  ssh  = { host = %q }\n  file = %q\n  settings = {\n", name, host, file)
	keys := make([]string, 0, len(settings))
	for k := range settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&s, "    %q = %q\n", k, settings[k])
	}
	s.WriteString("  }\n}\n")
	return s.String()
}

// perOp remembers each sub-benchmark's time per operation so that the
// parent can report the ratio CONTRIBUTING.md quotes.
var perOp = map[string]time.Duration{}

func record(b *testing.B, name string, start time.Time, paused time.Duration) {
	perOp[name] = (time.Since(start) - paused) / time.Duration(b.N)
}

// BenchmarkNoopPlan: a `terraform plan` that finds nothing to do, with 1
// and with 20 mcpai_host_sysctl resources on one host. The metric
// ssh-conns/op counts the connections sshd accepted per plan.
func BenchmarkNoopPlan(b *testing.B) {
	h := benchHost(b)
	for _, n := range []int{1, 20} {
		name := fmt.Sprintf("resources=%d", n)
		b.Run(name, func(b *testing.B) {
			config := acctest.ProviderBlock(b)
			for i := 0; i < n; i++ {
				k := twentyKeys[i]
				live := strings.Join(strings.Fields(h.InHost(b, "cat /proc/sys/"+strings.ReplaceAll(k, ".", "/"))), " ")
				config += sysctlResource(fmt.Sprintf("r%d", i), h.Address, fmt.Sprintf("/etc/sysctl.d/91-bench-%02d.conf", i), map[string]string{k: live})
			}
			w := acctest.NewWorkspace(b, config)
			w.Run([]int{0}, "apply", "-auto-approve")
			b.Cleanup(func() { w.Run([]int{0}, "destroy", "-auto-approve") })
			before := h.AcceptedLogins(b)
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				// -detailed-exitcode: 0 means the plan is empty.
				w.Run([]int{0}, "plan", "-detailed-exitcode")
			}
			record(b, name, start, 0)
			b.StopTimer()
			time.Sleep(100 * time.Millisecond) // sshd's log line trails the login
			b.ReportMetric(float64(h.AcceptedLogins(b)-before)/float64(b.N), "ssh-conns/op")
		})
	}
	if one, twenty := perOp["resources=1"], perOp["resources=20"]; one > 0 && twenty > 0 {
		b.Logf("no-op plan: 20 resources take %.2fx the time of 1 (%v vs %v)", float64(twenty)/float64(one), twenty.Round(time.Millisecond), one.Round(time.Millisecond))
	}
}

// BenchmarkApplyGuideNetwork: applying the guide's ten network sysctls to a
// host where none is set yet, with `terraform apply` and with
// `ansible-playbook` (ansible.posix.sysctl, reload into its own file). Each
// operation is one real change; putting the host back runs off the clock.
func BenchmarkApplyGuideNetwork(b *testing.B) {
	h := benchHost(b)
	baseline := snapshot(b, h)
	reset := func() { restore(b, h, baseline) }
	b.Cleanup(reset)

	b.Run("tool=terraform", func(b *testing.B) {
		w := acctest.NewWorkspace(b, acctest.ProviderBlock(b)+sysctlResource("guide", h.Address, "/etc/sysctl.d/90-mcpai-bench.conf", guideNetwork))
		var paused time.Duration
		b.ResetTimer()
		start := time.Now()
		for i := 0; i < b.N; i++ {
			w.Run([]int{0}, "apply", "-auto-approve")
			b.StopTimer()
			p := time.Now()
			verify(b, h)
			w.Run([]int{0}, "destroy", "-auto-approve")
			paused += time.Since(p)
			b.StartTimer()
		}
		record(b, "terraform", start, paused)
	})

	// Ansible gathers facts unless told not to; both are measured, the
	// default and the leaner playbook.
	for _, variant := range []struct {
		name        string
		gatherFacts bool
	}{{"ansible-default", true}, {"ansible-no-facts", false}} {
		b.Run("tool="+variant.name, func(b *testing.B) {
			if _, err := exec.LookPath("ansible-playbook"); err != nil {
				b.Skip("ansible-playbook is not installed: run scripts/install-bench-deps.sh (make bench does)")
			}
			dir := writeAnsible(b, h, variant.gatherFacts)
			var paused time.Duration
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				cmd := exec.Command("ansible-playbook", "-i", "inventory.ini", "playbook.yml")
				cmd.Dir = dir
				cmd.Env = append(os.Environ(), "ANSIBLE_CONFIG="+filepath.Join(dir, "ansible.cfg"))
				if out, err := cmd.CombinedOutput(); err != nil {
					b.Fatalf("ansible-playbook: %v\n%s", err, out)
				}
				b.StopTimer()
				p := time.Now()
				verify(b, h)
				reset()
				h.InHost(b, "rm -f /etc/sysctl.d/90-ansible-bench.conf")
				paused += time.Since(p)
				b.StartTimer()
			}
			record(b, variant.name, start, paused)
		})
	}
	for _, peer := range []string{"ansible-default", "ansible-no-facts"} {
		if tf, an := perOp["terraform"], perOp[peer]; tf > 0 && an > 0 {
			b.Logf("guide network sysctls: terraform apply %v, %s %v: terraform is %.1fx faster", tf.Round(time.Millisecond), peer, an.Round(time.Millisecond), float64(an)/float64(tf))
		}
	}
}

func sysctlPath(k string) string { return "/proc/sys/" + strings.ReplaceAll(k, ".", "/") }

func snapshot(b *testing.B, h acctest.Host) map[string]string {
	m := map[string]string{}
	for k := range guideNetwork {
		m[k] = strings.Join(strings.Fields(h.InHost(b, "cat "+sysctlPath(k))), " ")
	}
	return m
}

func restore(b *testing.B, h acctest.Host, values map[string]string) {
	var cmd strings.Builder
	for k, v := range values {
		fmt.Fprintf(&cmd, "echo '%s' > %s; ", v, sysctlPath(k))
	}
	h.InHost(b, cmd.String())
}

// verify proves each run really changed the host.
func verify(b *testing.B, h acctest.Host) {
	for k, v := range snapshot(b, h) {
		if v != guideNetwork[k] {
			b.Fatalf("after the run %s = %q, want %q", k, v, guideNetwork[k])
		}
	}
}

func writeAnsible(b *testing.B, h acctest.Host, gatherFacts bool) string {
	dir := b.TempDir()
	var vars strings.Builder
	for k, v := range guideNetwork {
		fmt.Fprintf(&vars, "      %s: %q\n", k, v)
	}
	files := map[string]string{
		"ansible.cfg": "[defaults]\nhost_key_checking = True\ninterpreter_python = /usr/bin/python3\n",
		"inventory.ini": fmt.Sprintf("[sandbox]\n%s ansible_user=root ansible_ssh_private_key_file=%s ansible_ssh_common_args='-o UserKnownHostsFile=%s'\n",
			h.Address, h.PrivateKeyPath, h.KnownHostsPath),
		"playbook.yml": fmt.Sprintf("- hosts: sandbox\n  gather_facts: %t\n  vars:\n    sysctls:\n", gatherFacts) + vars.String() +
			"  tasks:\n    - name: the guide's network sysctls\n      ansible.posix.sysctl:\n        name: \"{{ item.key }}\"\n        value: \"{{ item.value }}\"\n" +
			"        sysctl_file: /etc/sysctl.d/90-ansible-bench.conf\n        reload: true\n      loop: \"{{ sysctls | dict2items }}\"\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			b.Fatal(err)
		}
	}
	return dir
}

// BenchmarkDockerDaemonApply: one `terraform apply` of a daemon.json
// change on each sandbox engine, end to end: validation, atomic write,
// then a restart (log-opts, which Docker cannot reload) or a reload
// (debug, by SIGHUP), and the wait until the Engine API answers with the
// new values. Each operation flips the value, so each is a real change.
func BenchmarkDockerDaemonApply(b *testing.B) {
	for _, h := range acctest.Hosts(b) {
		if h.DockerEngine == "" {
			continue
		}
		for _, action := range []struct{ name, a, b string }{
			{"restart", `"log-opts" = { "max-size" = "10m" }`, `"log-opts" = { "max-size" = "20m" }`},
			{"reload", `"debug" = true`, `"debug" = false`},
		} {
			b.Run("engine="+h.DockerEngine+"/action="+action.name, func(b *testing.B) {
				config := func(body string) string {
					return acctest.ProviderBlock(b) + fmt.Sprintf("resource \"mcpai_docker_daemon_config\" \"bench\" {\n  ssh    = { host = %q }\n  config = jsonencode({ %s })\n}\n", h.Address, body)
				}
				w := acctest.NewWorkspace(b, config(action.a))
				w.Run([]int{0}, "apply", "-auto-approve")
				b.Cleanup(func() { w.Run([]int{0}, "destroy", "-auto-approve") })
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					b.StopTimer()
					body := action.b
					if i%2 == 1 {
						body = action.a
					}
					if err := os.WriteFile(filepath.Join(w.Dir, "main.tf"), []byte(config(body)), 0o600); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
					w.Run([]int{0}, "apply", "-auto-approve")
				}
			})
		}
	}
}

// BenchmarkPostgresRefreshPlan: a no-op `terraform plan` of one
// mcpai_postgres_tuning resource managing 4 and 40 settings. The refresh
// reads all of them in one query, so the two should cost about the same.
func BenchmarkPostgresRefreshPlan(b *testing.B) {
	h := acctest.FirstHost(b)
	if h.PostgresPort == 0 {
		b.Skip("the sandbox hosts run no PostgreSQL")
	}
	// Settings a reload applies, at their current values: planning them
	// changes nothing on the server.
	psql := exec.Command("psql", "-At", "-h", h.Address, "-p", fmt.Sprint(h.PostgresPort), "-U", h.PostgresUser, "-d", h.PostgresDatabase,
		"-c", "SELECT name || '=' || current_setting(name) FROM pg_settings WHERE context IN ('user', 'superuser', 'sighup') AND vartype IN ('integer', 'real', 'bool', 'enum') AND name NOT LIKE '%.%' ORDER BY name LIMIT 40")
	psql.Env = append(os.Environ(), "PGPASSWORD="+h.PostgresPassword)
	out, err := psql.Output()
	if err != nil {
		b.Fatalf("psql: %v", err)
	}
	lines := strings.Fields(string(out))
	if len(lines) < 40 {
		b.Fatalf("only %d settings qualify: %q", len(lines), lines)
	}
	for _, n := range []int{4, 40} {
		name := fmt.Sprintf("settings=%d", n)
		b.Run(name, func(b *testing.B) {
			var s strings.Builder
			fmt.Fprintf(&s, "resource \"mcpai_postgres_tuning\" \"bench\" {\n  postgres = { host = %q, port = %d, user = %q, password = %q, database = %q, sslmode = \"disable\" }\n  settings = {\n",
				h.Address, h.PostgresPort, h.PostgresUser, h.PostgresPassword, h.PostgresDatabase)
			for _, l := range lines[:n] {
				k, v, _ := strings.Cut(l, "=")
				fmt.Fprintf(&s, "    %q = %q\n", k, v)
			}
			s.WriteString("  }\n}\n")
			w := acctest.NewWorkspace(b, acctest.ProviderBlock(b)+s.String())
			w.Run([]int{0}, "apply", "-auto-approve")
			b.Cleanup(func() { w.Run([]int{0}, "destroy", "-auto-approve") })
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				w.Run([]int{0}, "plan", "-detailed-exitcode")
			}
			record(b, "pg-"+name, start, 0)
		})
	}
	if few, many := perOp["pg-settings=4"], perOp["pg-settings=40"]; few > 0 && many > 0 {
		b.Logf("no-op plan: 40 settings take %.2fx the time of 4 (%v vs %v)", float64(many)/float64(few), many.Round(time.Millisecond), few.Round(time.Millisecond))
	}
}

// BenchmarkModelRunnerReadiness: how long after an inference server turns
// ready the provider notices it. Each op is a `terraform apply` of one
// mcpai_gpu_model_runner whose server (the sandbox image mcpai-model:ready)
// answers its endpoint after 2 s; the latency is the time between the
// server's own "modelserver: ready" log line (docker logs --timestamps) and
// the provider's "model server ready" log line (TF_LOG_PATH), both stamped
// by this machine's clock. Reported: notice-ms (mean) and worst-notice-ms.
// The op time itself is mostly the server's 2 s of loading.
func BenchmarkModelRunnerReadiness(b *testing.B) {
	h := benchHost(b)
	const name = "mcpai-bench-ready"
	config := acctest.ProviderBlock(b) + fmt.Sprintf(`
resource "mcpai_gpu_model_runner" "bench" {
  ssh    = { host = %q }
  name   = %q
  image  = %q
  server = "vllm"
  env    = { MODELSERVER_READY_AFTER = "2s" }
}
`, h.Address, name, acctest.ModelImageReady)
	w := acctest.NewWorkspace(b, config)
	logPath := filepath.Join(w.Dir, "provider.log")
	w.Setenv("TF_LOG_PROVIDER", "INFO")
	w.Setenv("TF_LOG_PATH", logPath)
	docker := func(args ...string) string {
		out, err := exec.Command("docker", append([]string{"-H", "unix://" + h.DockerSocket}, args...)...).CombinedOutput()
		if err != nil {
			b.Fatalf("docker %v: %v: %s", args, err, out)
		}
		return string(out)
	}
	var total, worst time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		_ = os.Remove(logPath)
		b.StartTimer()
		w.Run([]int{0}, "apply", "-auto-approve")
		b.StopTimer()
		logs, err := os.ReadFile(logPath)
		if err != nil {
			b.Fatal(err)
		}
		noticed := stampOf(b, string(logs), "model server ready", "2006-01-02T15:04:05.000Z0700")
		ready := stampOf(b, docker("logs", "--timestamps", name), "modelserver: ready", time.RFC3339Nano)
		lat := noticed.Sub(ready)
		if lat < -time.Millisecond {
			b.Fatalf("the provider reported ready %v before the server was", -lat)
		}
		total += lat
		worst = max(worst, lat)
		w.Run([]int{0}, "destroy", "-auto-approve")
		b.StartTimer()
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "notice-ms")
	b.ReportMetric(float64(worst.Milliseconds()), "worst-notice-ms")
}

// stampOf returns the time at the start of the first line holding marker.
func stampOf(b *testing.B, log, marker, layout string) time.Time {
	for line := range strings.SplitSeq(log, "\n") {
		if !strings.Contains(line, marker) {
			continue
		}
		field, _, _ := strings.Cut(line, " ")
		t, err := time.Parse(layout, field)
		if err != nil {
			b.Fatalf("no time stamp in %q: %v", line, err)
		}
		return t
	}
	b.Fatalf("no line with %q in:\n%s", marker, log)
	return time.Time{}
}
