package moduletest

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/mcpai/terraform-provider-mcpai/internal/acctest"
	"github.com/mcpai/terraform-provider-mcpai/internal/kernel"
)

// tuningSysctls are the module's variables that become sysctls, by key.
var tuningSysctls = map[string]string{
	"net.core.rmem_max":               "rmem_max",
	"net.core.wmem_max":               "wmem_max",
	"net.ipv4.tcp_rmem":               "tcp_rmem",
	"net.ipv4.tcp_wmem":               "tcp_wmem",
	"net.core.somaxconn":              "somaxconn",
	"net.ipv4.tcp_max_syn_backlog":    "tcp_max_syn_backlog",
	"net.ipv4.tcp_fin_timeout":        "tcp_fin_timeout",
	"net.ipv4.tcp_tw_reuse":           "tcp_tw_reuse",
	"net.ipv4.tcp_keepalive_time":     "tcp_keepalive_time",
	"net.ipv4.tcp_keepalive_intvl":    "tcp_keepalive_intvl",
	"net.ipv4.tcp_keepalive_probes":   "tcp_keepalive_probes",
	"net.core.default_qdisc":          "default_qdisc",
	"net.ipv4.tcp_congestion_control": "tcp_congestion_control",
	"vm.swappiness":                   "vm_swappiness",
	"vm.dirty_ratio":                  "vm_dirty_ratio",
	"vm.dirty_background_ratio":       "vm_dirty_background_ratio",
	"vm.max_map_count":                "vm_max_map_count",
	"fs.file-max":                     "fs_file_max",
}

// machineWide are the keys the sandbox hosts share with this machine: the
// test sets them to the machine's own values, so the module's code path
// runs and the machine stays as it is.
var machineWide = []string{"vm.swappiness", "vm.dirty_ratio", "vm.dirty_background_ratio", "vm.max_map_count", "fs.file-max"}

// notInNetns are keys a host in a network namespace cannot set: rmem_max
// and wmem_max refuse writes there, and default_qdisc does not exist.
var notInNetns = []string{"net.core.rmem_max", "net.core.wmem_max", "net.core.default_qdisc"}

// tuningSnapshot is everything the module could change on a host: each
// key's live value (or why it cannot be read), the sysctl.d folder, and
// what kernelSnapshotOf covers (THP, governors, the limits and tmpfiles
// folders).
func tuningSnapshot(t *testing.T, h acctest.Host) string {
	t.Helper()
	var cmd strings.Builder
	for _, k := range slices.Sorted(maps.Keys(tuningSysctls)) {
		fmt.Fprintf(&cmd, "echo %s=$(cat /proc/sys/%s 2>&1); ", k, strings.ReplaceAll(k, ".", "/"))
	}
	cmd.WriteString("cd /etc/sysctl.d && for f in $(ls -A); do echo $f $(md5sum < $f); done")
	return h.InHost(t, cmd.String()) + "\n" + h.KernelSnapshot(t)
}

// machineSysctl is a key's value on this machine, whitespace-normalised.
func machineSysctl(t *testing.T, key string) string {
	t.Helper()
	data, err := os.ReadFile("/proc/sys/" + strings.ReplaceAll(key, ".", "/"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(strings.Fields(string(data)), " ")
}

// congestionControl is bbr where the host's kernel offers it, cubic (every
// kernel's default) otherwise.
func congestionControl(t *testing.T, h acctest.Host) string {
	t.Helper()
	if slices.Contains(strings.Fields(h.InHost(t, "cat /proc/sys/net/ipv4/tcp_available_congestion_control")), "bbr") {
		return "bbr"
	}
	return "cubic"
}

// nullArgs sets the variables of the given keys to null: the module leaves
// those keys alone.
func nullArgs(keys ...string) string {
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "  %s = null\n", tuningSysctls[k])
	}
	return b.String()
}

// The module tunes both hosts: each host's network namespace gets the
// guide's values, the machine-wide keys and THP are written with the
// values they have, limits stay under this machine's hard nofile limit
// (20000), and the governor is set where cpufreq exists and skipped with a
// warning where it does not. The plan after apply is empty, and destroy
// leaves every host as it was.
func TestAccModuleHostTuning(t *testing.T) {
	if testing.Short() {
		t.Skip("drives the terraform CLI")
	}
	hosts := acctest.Hosts(t)
	thpEnabled, thpDefrag := acctest.GuardTHP(t)
	cc := congestionControl(t, hosts[0])
	for _, h := range hosts[1:] {
		if got := congestionControl(t, h); got != cc {
			t.Fatalf("the hosts offer different congestion controls: %s and %s", cc, got)
		}
	}
	args := hostsArg(hosts...) + nullArgs(notInNetns...) + fmt.Sprintf(`
  tcp_congestion_control       = %q
  transparent_hugepage_enabled = %q
  transparent_hugepage_defrag  = %q
  nofile_limit                 = { soft = 8192, hard = 16384 }
  nproc_limit                  = { soft = 4096, hard = 65536 }
  extra_settings               = { "net.ipv4.tcp_slow_start_after_idle" = "0" }
  sysctl_file                  = "/etc/sysctl.d/90-mcpai-module-tuning-acc.conf"
`, cc, thpEnabled, thpDefrag)
	machine := map[string]string{}
	for _, k := range machineWide {
		machine[k] = machineSysctl(t, k)
		args += fmt.Sprintf("  %s = %s\n", tuningSysctls[k], machine[k])
	}
	before := map[string]string{}
	for _, h := range hosts {
		before[h.Name] = tuningSnapshot(t, h)
	}

	w := callModule(t, "host-tuning", args, "settings", "previous_values")
	_, out := w.Run([]int{0}, "apply", "-auto-approve")
	destroyed := false
	t.Cleanup(func() {
		if !destroyed {
			w.Run([]int{0}, "destroy", "-auto-approve")
		}
	})

	want := map[string]string{
		"net.ipv4.tcp_rmem":                  "4096 87380 16777216",
		"net.ipv4.tcp_wmem":                  "4096 65536 16777216",
		"net.core.somaxconn":                 "65535",
		"net.ipv4.tcp_max_syn_backlog":       "65535",
		"net.ipv4.tcp_fin_timeout":           "15",
		"net.ipv4.tcp_tw_reuse":              "1",
		"net.ipv4.tcp_keepalive_time":        "300",
		"net.ipv4.tcp_keepalive_intvl":       "30",
		"net.ipv4.tcp_keepalive_probes":      "5",
		"net.ipv4.tcp_congestion_control":    cc,
		"net.ipv4.tcp_slow_start_after_idle": "0",
	}
	for k, v := range machine {
		want[k] = v
	}
	for _, h := range hosts {
		for k, v := range want {
			if got := h.Sysctl(t, k); got != v {
				t.Errorf("%s %s = %q, want %q", h.Name, k, got, v)
			}
		}
		// pam_limits, through runuser's PAM stack, gives logins the limits.
		if got := h.InHost(t, "runuser -u root -- bash -c 'echo $(ulimit -Sn) $(ulimit -Hn) $(ulimit -Su) $(ulimit -Hu)'"); got != "8192 16384 4096 65536" {
			t.Errorf("%s limits of root through pam_limits: %q", h.Name, got)
		}
		if h.CPUFreq == "emulated" {
			for cpu := range 2 {
				if got := h.Governor(t, cpu); got != "performance" {
					t.Errorf("%s cpu%d governor = %q", h.Name, cpu, got)
				}
			}
		}
	}
	if got := acctest.MachineTHP(t, kernel.THPEnabledPath) + " " + acctest.MachineTHP(t, kernel.THPDefragPath); got != thpEnabled+" "+thpDefrag {
		t.Errorf("THP changed to %s", got)
	}
	if !strings.Contains(out, "Warning: ") || !strings.Contains(out, "cpu_governor_optional") {
		t.Errorf("no warning about the host without cpufreq:\n%s", out)
	}
	_, prev := w.Run([]int{0}, "output", "-json", "previous_values")
	for _, h := range hosts {
		for _, s := range []string{h.Address, `"net.core.somaxconn"`, kernel.THPEnabledPath} {
			if !strings.Contains(prev, s) {
				t.Errorf("previous_values output lacks %s: %s", s, prev)
			}
		}
	}

	w.PlanEmpty()
	w.Run([]int{0}, "destroy", "-auto-approve")
	destroyed = true
	for _, h := range hosts {
		if after := tuningSnapshot(t, h); after != before[h.Name] {
			t.Errorf("%s not restored:\nbefore:\n%s\nafter:\n%s", h.Name, before[h.Name], after)
		}
	}
}

// The guide's THP modes (never, never) change the machine's kernel, which
// every sandbox host shares, so only one host applies them: destroy puts
// the machine's modes back.
func TestAccModuleHostTuning_thp(t *testing.T) {
	if testing.Short() {
		t.Skip("drives the terraform CLI")
	}
	h := acctest.FirstHost(t)
	thpEnabled, thpDefrag := acctest.GuardTHP(t)
	if thpEnabled == "never" || thpDefrag == "never" {
		t.Skip("the machine's THP is already never; the test could not see a change")
	}
	before := tuningSnapshot(t, h)
	// Only THP: no sysctls (so no mcpai_host_sysctl), no governor, no limits.
	w := callModule(t, "host-tuning", hostsArg(h)+nullArgs(slices.Collect(maps.Keys(tuningSysctls))...)+`
  cpu_governor = null
  nofile_limit = null
  nproc_limit  = null
`, "kernel_settings", "previous_values")
	_, out := w.Run([]int{0}, "apply", "-auto-approve")
	destroyed := false
	t.Cleanup(func() {
		if !destroyed {
			w.Run([]int{0}, "destroy", "-auto-approve")
		}
	})
	if !strings.Contains(out, "Resources: 1 added") {
		t.Errorf("expected one resource (mcpai_host_kernel) only:\n%s", out)
	}
	if got := acctest.MachineTHP(t, kernel.THPEnabledPath) + " " + acctest.MachineTHP(t, kernel.THPDefragPath); got != "never never" {
		t.Errorf("THP enabled/defrag = %s", got)
	}
	if got := h.EtcFile(t, kernel.TmpfilesFile); !strings.Contains(got, "transparent_hugepage/enabled - - - - never") {
		t.Errorf("THP is not persisted for boot:\n%s", got)
	}
	if _, prev := w.Run([]int{0}, "output", "-json", "previous_values"); !strings.Contains(prev, fmt.Sprintf("%q:%q", kernel.THPEnabledPath, thpEnabled)) {
		t.Errorf("previous_values does not record THP enabled %s: %s", thpEnabled, prev)
	}
	w.PlanEmpty()
	w.Run([]int{0}, "destroy", "-auto-approve")
	destroyed = true
	if got := acctest.MachineTHP(t, kernel.THPEnabledPath) + " " + acctest.MachineTHP(t, kernel.THPDefragPath); got != thpEnabled+" "+thpDefrag {
		t.Errorf("THP not restored: %s, want %s %s", got, thpEnabled, thpDefrag)
	}
	if after := tuningSnapshot(t, h); after != before {
		t.Errorf("not restored:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// A bad input is refused at plan time, before any host is touched (each
// validation, and the settings planned, is tested in
// modules/host-tuning/tests).
func TestAccModuleHostTuning_validation(t *testing.T) {
	if testing.Short() {
		t.Skip("drives the terraform CLI")
	}
	h := acctest.FirstHost(t)
	before := tuningSnapshot(t, h)
	w := callModule(t, "host-tuning", hostsArg(h)+"  extra_settings = { \"vm.swappiness; reboot\" = \"1\" }\n")
	planRefused(t, w, h, `extra_settings keys must be sysctl keys`)
	if after := tuningSnapshot(t, h); after != before {
		t.Fatalf("the host changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}
