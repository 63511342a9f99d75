package acctest

// Checks the tests make behind the provider's back, on a sandbox host or
// the machine the hosts share, shared by internal/provider's resource tests
// and internal/moduletest's module tests.

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/mcpai/terraform-provider-mcpai/internal/kernel"
	"github.com/mcpai/terraform-provider-mcpai/internal/remote"
)

// ErrorWords matches an error message however Terraform wraps its lines.
func ErrorWords(msg string) *regexp.Regexp {
	words := strings.Fields(msg)
	for i, w := range words {
		words[i] = regexp.QuoteMeta(w)
	}
	return regexp.MustCompile(strings.Join(words, `\s+`))
}

// HasAll is an error unless have holds every one of want.
func HasAll(have []string, want ...string) error {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return fmt.Errorf("%q not in %q", w, have)
		}
	}
	return nil
}

// ContainsRun is an error unless want appears in have as consecutive
// elements.
func ContainsRun(have []string, want ...string) error {
	for i := 0; i+len(want) <= len(have); i++ {
		if slices.Equal(have[i:i+len(want)], want) {
			return nil
		}
	}
	return fmt.Errorf("%q not in %q", want, have)
}

// FileState is a file's mode, owner and content as h shows them, or
// "absent".
func (h Host) FileState(t testing.TB, p string) string {
	t.Helper()
	return h.InHost(t, `if [ -e '`+p+`' ]; then stat -c '%a %U:%G' '`+p+`'; cat '`+p+`'; else echo absent; fi`)
}

// DirsState is each folder's mode, owner and type as h shows them, a line
// each, "absent" for one that is not there.
func (h Host) DirsState(t testing.TB, dirs ...string) string {
	t.Helper()
	var out []string
	for _, d := range dirs {
		out = append(out, h.InHost(t, `if [ -e '`+d+`' ]; then stat -c '%a %U:%G %F' '`+d+`'; else echo absent; fi`))
	}
	return strings.Join(out, "\n")
}

// RemovePaths removes paths from h now and again when the test ends.
func (h Host) RemovePaths(t testing.TB, paths ...string) {
	t.Helper()
	rm := remote.QuoteArgs(append([]string{"rm", "-rf", "--"}, paths...))
	h.InHost(t, rm)
	t.Cleanup(func() { h.InHost(t, rm) })
}

// GuardTHP records the machine's transparent huge page modes and puts them
// back when the test ends, whatever happens in it: every sandbox host
// shares this one kernel. Without THP the test is skipped.
func GuardTHP(t testing.TB) (enabled, defrag string) {
	t.Helper()
	read := func(p string) string {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Skipf("no transparent huge pages here: %v", err)
		}
		active, _, err := kernel.ParseSelector(string(data))
		if err != nil {
			t.Fatal(err)
		}
		return active
	}
	enabled, defrag = read(kernel.THPEnabledPath), read(kernel.THPDefragPath)
	t.Cleanup(func() {
		for p, v := range map[string]string{kernel.THPEnabledPath: enabled, kernel.THPDefragPath: defrag} {
			if err := os.WriteFile(p, []byte(v), 0o644); err != nil {
				t.Errorf("restoring %s to %s: %v", p, v, err)
			}
		}
	})
	return enabled, defrag
}

// MachineTHP is the active mode in the machine kernel's THP selector file p
// (kernel.THPEnabledPath or kernel.THPDefragPath).
func MachineTHP(t testing.TB, p string) string {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	active, _, err := kernel.ParseSelector(string(data))
	if err != nil {
		t.Fatal(err)
	}
	return active
}

// KernelSnapshot is everything the kernel tests could change on h: THP,
// the CPUs' governors, the three private folders' files, and a marker an
// injection would create.
func (h Host) KernelSnapshot(t testing.TB) string {
	t.Helper()
	return h.InHost(t, `cat /sys/kernel/mm/transparent_hugepage/enabled /sys/kernel/mm/transparent_hugepage/defrag
for f in /sys/devices/system/cpu/cpu*/cpufreq/scaling_governor; do [ -e "$f" ] && echo "$f $(cat "$f")"; done
for d in /etc/tmpfiles.d /etc/security/limits.d /etc/systemd/system.conf.d; do
  for f in "$d"/*; do [ -e "$f" ] && echo "$f $(md5sum < "$f")"; done
done
ls /tmp/mcpai-pwned 2>&1; true`)
}

// EtcFile reads one of h's private /etc files (see EtcDir) from the
// machine; "" when it does not exist.
func (h Host) EtcFile(t testing.TB, p string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(h.EtcDir, strings.TrimPrefix(p, "/etc/")))
	if os.IsNotExist(err) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// Governor is CPU cpu's cpufreq governor on h.
func (h Host) Governor(t testing.TB, cpu int) string {
	t.Helper()
	return h.InHost(t, "cat "+kernel.GovernorPath(cpu))
}

// SysctlKeys are the network keys the tests change; inside a sandbox host
// they belong to its network namespace, so the machine's own are untouched.
var SysctlKeys = []string{"net.core.somaxconn", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_rmem", "net.ipv4.tcp_keepalive_time"}

// SysctlSnapshot is everything the sysctl tests could change on h: the
// live values of SysctlKeys, the sysctl.d folder, the provider's ledger,
// and a marker an injection would create.
func (h Host) SysctlSnapshot(t testing.TB) string {
	t.Helper()
	var cmd strings.Builder
	for _, k := range SysctlKeys {
		fmt.Fprintf(&cmd, "echo %s=$(cat /proc/sys/%s); ", k, strings.ReplaceAll(k, ".", "/"))
	}
	cmd.WriteString("cd /etc/sysctl.d && for f in $(ls -A); do echo $f $(md5sum < $f); done; ls /tmp/mcpai-pwned 2>&1; ls -A /var/lib/mcpai/ledger 2>/dev/null; true")
	return h.InHost(t, cmd.String())
}

// Sysctl is key's live value on h, its fields joined by single spaces.
func (h Host) Sysctl(t testing.TB, key string) string {
	t.Helper()
	return strings.Join(strings.Fields(h.InHost(t, "cat /proc/sys/"+strings.ReplaceAll(key, ".", "/"))), " ")
}
