package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpai/terraform-provider-mcpai/internal/acctest"
)

// peakRSS samples the resident-set high-water mark (VmHWM) of every
// running process of one executable until stop is called, and returns the
// highest seen. Terraform starts the provider more than once per command;
// VmHWM only grows, so a sample every few milliseconds sees each process's
// peak but for growth in its last milliseconds.
type peakRSS struct {
	exe  string
	done chan struct{}
	wg   sync.WaitGroup
	max  int64 // bytes
	seen int   // samples that found a provider process
}

func watchPeakRSS(exe string) *peakRSS {
	p := &peakRSS{exe: exe, done: make(chan struct{})}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		tick := time.NewTicker(3 * time.Millisecond)
		defer tick.Stop()
		for {
			p.sample()
			select {
			case <-p.done:
				return
			case <-tick.C:
			}
		}
	}()
	return p
}

func (p *peakRSS) sample() {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		if exe, err := os.Readlink(d + "/exe"); err != nil || exe != p.exe {
			continue
		}
		p.seen++
		status, err := os.ReadFile(d + "/status")
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(status), "\n") {
			if f := strings.Fields(line); len(f) == 3 && f[0] == "VmHWM:" && f[2] == "kB" {
				if kb, err := strconv.ParseInt(f[1], 10, 64); err == nil && kb*1024 > p.max {
					p.max = kb * 1024
				}
			}
		}
	}
}

// stop ends the sampling and returns the peak in MiB; seeing no provider
// process at all fails the benchmark rather than report 0.
func (p *peakRSS) stop(b *testing.B) float64 {
	close(p.done)
	p.wg.Wait()
	if p.seen == 0 || p.max == 0 {
		b.Fatalf("no process of %s was seen while terraform ran", p.exe)
	}
	return float64(p.max) / (1 << 20)
}

func providerExe(b *testing.B) string {
	// /proc/<pid>/exe names the file with every symbolic link resolved.
	exe, err := filepath.EvalSymlinks(filepath.Join(acctest.ProviderDir(b), "terraform-provider-mcpai"))
	if err != nil {
		b.Fatal(err)
	}
	abs, err := filepath.Abs(exe)
	if err != nil {
		b.Fatal(err)
	}
	return abs
}

// timedPlans runs b.N no-op plans in w and reports, besides the time, the
// SSH connections each host's sshd accepted per plan and the provider's
// peak memory.
func timedPlans(b *testing.B, w *acctest.Workspace, hosts []acctest.Host) {
	before := make([]int, len(hosts))
	for i, h := range hosts {
		before[i] = h.AcceptedLogins(b)
	}
	peak := watchPeakRSS(providerExe(b))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// -detailed-exitcode: 0 means the plan is empty.
		w.Run([]int{0}, "plan", "-detailed-exitcode")
	}
	b.StopTimer()
	mb := peak.stop(b)
	time.Sleep(100 * time.Millisecond) // sshd's log line trails the login
	lo, hi := -1.0, 0.0
	for i, h := range hosts {
		n := float64(h.AcceptedLogins(b)-before[i]) / float64(b.N)
		if lo < 0 || n < lo {
			lo = n
		}
		hi = max(hi, n)
	}
	b.ReportMetric(lo, "min-ssh-conns/host/op")
	b.ReportMetric(hi, "max-ssh-conns/host/op")
	b.ReportMetric(mb, "provider-peak-MiB")
}

// BenchmarkStackPlan: a `terraform plan` of examples/stack (the whole
// stack: every layer on the two sandbox hosts, the host layer on the VM
// host) that finds nothing to do.
func BenchmarkStackPlan(b *testing.B) {
	hosts := acctest.Hosts(b)
	if len(hosts) < 2 {
		b.Skip("examples/stack needs sandbox hosts h1 and h2")
	}
	w := acctest.ExampleWorkspace(b, "stack")
	b.Cleanup(func() { w.Run([]int{0}, "destroy", "-auto-approve") })
	w.Run([]int{0}, "apply", "-auto-approve")
	timedPlans(b, w, hosts[:2])
}

// BenchmarkStackPlanHosts: the same no-op plan of modules/mcpai-stack over
// 1, 5 and 20 sandbox hosts, each with the host layer (sysctls and limits;
// the hosts share one kernel, so its kernel-wide settings are left alone).
// 5 and 20 need that many hosts: scripts/sandbox.sh up 20 --light-from 3
// (h3..h20 light: sshd only, all the host layer needs).
func BenchmarkStackPlanHosts(b *testing.B) {
	hosts := acctest.AllHosts(b)
	for _, n := range []int{1, 5, 20} {
		b.Run(fmt.Sprintf("hosts=%d", n), func(b *testing.B) {
			if len(hosts) < n {
				b.Skipf("%d sandbox hosts; run scripts/sandbox.sh up %d --light-from 3", len(hosts), n)
			}
			w := acctest.ModuleWorkspace(b, stackHostsConfig(hosts[:n]))
			b.Cleanup(func() { w.Run([]int{0}, "destroy", "-auto-approve") })
			w.Run([]int{0}, "apply", "-auto-approve")
			timedPlans(b, w, hosts[:n])
		})
	}
}

func stackHostsConfig(hosts []acctest.Host) string {
	var s strings.Builder
	s.WriteString(`terraform {
  required_providers {
    mcpai = { source = "mcpai/mcpai" }
  }
}

provider "mcpai" {}

module "stack" {
  source = "../../modules/mcpai-stack"
  hosts = {
`)
	for _, h := range hosts {
		fmt.Fprintf(&s, "    %s = {\n      address       = %q\n      shared_kernel = true\n      ssh           = %s\n    }\n",
			h.Name, h.Address, h.SSHObject(h.User))
	}
	s.WriteString(`  }
  host_tuning = {
    leave_alone  = ["net.core.rmem_max", "net.core.wmem_max", "net.core.default_qdisc"]
    nofile_limit = 16384
    sysctl_file  = "/etc/sysctl.d/91-bench-stack.conf"
  }
}
`)
	return s.String()
}
