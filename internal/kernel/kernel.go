// Package kernel holds the pure logic of the host settings that live outside
// /proc/sys: sysfs selectors (transparent huge pages), CPU frequency
// governors, open-file and process limits, and the files that persist them
// across reboots (systemd-tmpfiles lines, a pam_limits file and a systemd
// manager drop-in).
package kernel

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Paths read or written on a host. They are constants: nothing a user
// writes ever becomes a path.
const (
	THPEnabledPath = "/sys/kernel/mm/transparent_hugepage/enabled"
	THPDefragPath  = "/sys/kernel/mm/transparent_hugepage/defrag"
	CPUOnlinePath  = "/sys/devices/system/cpu/online"
	CmdlinePath    = "/proc/cmdline"
	NrOpenPath     = "/proc/sys/fs/nr_open"

	TmpfilesFile = "/etc/tmpfiles.d/mcpai-kernel.conf"
	LimitsFile   = "/etc/security/limits.d/90-mcpai.conf"
	SystemdFile  = "/etc/systemd/system.conf.d/90-mcpai.conf"

	// governorGlob is what the tmpfiles line names, so CPUs that come
	// online later, or a host with more CPUs, get the governor at boot too.
	governorGlob = "/sys/devices/system/cpu/cpu*/cpufreq/scaling_governor"
)

// Files lists the files this package renders, in the order they are written.
var Files = []string{TmpfilesFile, LimitsFile, SystemdFile}

// MaxCPUs bounds the CPU ids expanded from a range list: the kernel's own
// NR_CPUS limit, so hostile output cannot make a huge list.
const MaxCPUs = 8192

// GovernorPath is the sysfs file holding a CPU's frequency governor.
func GovernorPath(cpu int) string {
	return "/sys/devices/system/cpu/cpu" + strconv.Itoa(cpu) + "/cpufreq/scaling_governor"
}

// AvailableGovernorsPath is the sysfs file listing a CPU's governors.
func AvailableGovernorsPath(cpu int) string {
	return "/sys/devices/system/cpu/cpu" + strconv.Itoa(cpu) + "/cpufreq/scaling_available_governors"
}

// clip shortens a value quoted in an error, so that malformed output of any
// size gives a short message.
func clip(s string) string {
	const n = 64
	if len(s) > n {
		return strconv.Quote(s[:n]) + "..."
	}
	return strconv.Quote(s)
}

// Range is an inclusive run of ids in a kernel range list.
type Range struct{ Lo, Hi int }

// ParseRangeList parses a kernel range list such as "0-3,8-11" (the format
// of /sys/devices/system/cpu/online). The kernel prints ranges ascending and
// disjoint; anything else is refused, so the ranges hold distinct ids.
func ParseRangeList(s string) ([]Range, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("empty range list")
	}
	var out []Range
	prev := -1
	for part := range strings.SplitSeq(s, ",") {
		loStr, hiStr, isRange := strings.Cut(part, "-")
		lo, err := parseListID(loStr)
		if err != nil {
			return nil, fmt.Errorf("range list %s: %w", clip(s), err)
		}
		hi := lo
		if isRange {
			if hi, err = parseListID(hiStr); err != nil {
				return nil, fmt.Errorf("range list %s: %w", clip(s), err)
			}
			if hi < lo {
				return nil, fmt.Errorf("range list %s: reversed range %s", clip(s), clip(part))
			}
		}
		if lo <= prev {
			return nil, fmt.Errorf("range list %s: %s overlaps or is out of order", clip(s), clip(part))
		}
		out = append(out, Range{lo, hi})
		prev = hi
	}
	return out, nil
}

// MaxListID bounds ids in a range list. Linux caps NR_CPUS at 8192 and
// nodes at 1024; the much larger bound only rejects garbage and keeps sums
// of ranges far from overflow.
const MaxListID = 1<<20 - 1

func parseListID(s string) (int, error) {
	// Checked apart so that "0-" or "1,,2" get a clearer message.
	if s == "" {
		return 0, errors.New("empty id")
	}
	v, err := strconv.ParseUint(s, 10, 32)
	if err != nil || v > MaxListID {
		return 0, fmt.Errorf("bad id %s", clip(s))
	}
	return int(v), nil
}

// CPUs expands the online CPU list into ids, refusing more than MaxCPUs.
func CPUs(online string) ([]int, error) {
	ranges, err := ParseRangeList(online)
	if err != nil {
		return nil, err
	}
	var ids []int
	for _, r := range ranges {
		if len(ids)+(r.Hi-r.Lo+1) > MaxCPUs {
			return nil, fmt.Errorf("online CPU list %s names more than %d CPUs", clip(online), MaxCPUs)
		}
		for id := r.Lo; id <= r.Hi; id++ {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// ParseLive reads the value the sysfs file at path holds: the bracketed
// choice of a THP selector (with all choices), or the trimmed text.
func ParseLive(path, raw string) (string, []string, error) {
	if path == THPEnabledPath || path == THPDefragPath {
		return ParseSelector(raw)
	}
	return strings.TrimSpace(raw), nil, nil
}

// ParseSelector parses a sysfs selector such as "always [madvise] never":
// the active choice (bracketed) and all choices in kernel order. Empty
// input means the kernel has no such file content (THP not built in).
func ParseSelector(s string) (active string, choices []string, err error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil, nil
	}
	if strings.ContainsAny(s, "\n\r") {
		return "", nil, fmt.Errorf("want one line, got %s", clip(s))
	}
	seen := map[string]bool{}
	for _, tok := range strings.Fields(s) {
		inner, ok := strings.CutPrefix(tok, "[")
		if ok {
			inner, ok = strings.CutSuffix(inner, "]")
		}
		if !ok {
			if strings.ContainsAny(tok, "[]") {
				return "", nil, fmt.Errorf("bad choice %s in %s", clip(tok), clip(s))
			}
			inner = tok
		} else {
			if inner == "" || strings.ContainsAny(inner, "[]") {
				return "", nil, fmt.Errorf("bad choice %s in %s", clip(tok), clip(s))
			}
			if active != "" {
				return "", nil, fmt.Errorf("more than one active choice in %s", clip(s))
			}
			active = inner
		}
		// The kernel names each choice once; a repeat is not its output.
		if seen[inner] {
			return "", nil, fmt.Errorf("duplicate choice %s in %s", clip(inner), clip(s))
		}
		seen[inner] = true
		choices = append(choices, inner)
	}
	if active == "" {
		return "", nil, fmt.Errorf("no [active] choice in %s", clip(s))
	}
	return active, choices, nil
}

// ParseGovernors splits scaling_available_governors, in kernel order.
func ParseGovernors(s string) ([]string, error) {
	s = strings.TrimSpace(s)
	if strings.ContainsAny(s, "\n\r") {
		return nil, fmt.Errorf("want one line, got %s", clip(s))
	}
	govs := strings.Fields(s)
	if govs == nil {
		govs = []string{}
	}
	// A map, not a scan, keeps hostile output from costing O(n^2).
	seen := make(map[string]bool, len(govs))
	for _, g := range govs {
		if seen[g] {
			return nil, fmt.Errorf("duplicate governor %s", clip(g))
		}
		seen[g] = true
	}
	return govs, nil
}

// CmdlineTHP returns the transparent_hugepage= value the kernel was booted
// with, or "" when the command line does not set it. The last one counts,
// as in the kernel; "--" ends the kernel's own parameters.
func CmdlineTHP(cmdline string) string {
	value := ""
	for _, f := range strings.Fields(cmdline) {
		if f == "--" {
			break
		}
		if v, ok := strings.CutPrefix(f, "transparent_hugepage="); ok {
			value = v
		}
	}
	return value
}

// Limit is a soft and a hard resource limit as pam_limits writes them: a
// count, or "unlimited" where the resource allows it.
type Limit struct {
	Soft string
	Hard string
}

// Unlimited is the limits.conf word for no limit.
const Unlimited = "unlimited"

// Resources the limits apply to, by their limits.conf item names.
const (
	NoFile = "nofile"
	NProc  = "nproc"
)

// maxLimit is RLIM_INFINITY - 1: the largest finite limit.
const maxLimit = ^uint64(0) - 1

// ParseLimitValue reads one limit: a count, or Unlimited for nproc (an
// unlimited nofile does not exist: the kernel caps it at fs.nr_open, and
// pam_limits refuses the login).
func ParseLimitValue(item, s string) (n uint64, unlimited bool, err error) {
	if s == Unlimited {
		if item == NoFile {
			return 0, false, errors.New(`nofile cannot be "unlimited": the kernel caps open files at fs.nr_open; give a number such as 65536`)
		}
		return 0, true, nil
	}
	n, err = strconv.ParseUint(s, 10, 64)
	if err != nil || n > maxLimit || (len(s) > 1 && s[0] == '0') {
		hint := "a whole number such as 65536"
		if item == NProc {
			hint += ` or "unlimited"`
		}
		return 0, false, fmt.Errorf("%s is not a limit: use %s", clip(s), hint)
	}
	if n == 0 {
		return 0, false, fmt.Errorf("a %s limit of 0 would stop every process; use at least 1", item)
	}
	return n, false, nil
}

// Check reports why the limit cannot be applied: an unreadable value, a soft
// limit above the hard one, or (nrOpen > 0) a nofile hard limit above
// fs.nr_open, which would make every login fail.
func (l Limit) Check(item string, nrOpen uint64) error {
	soft, softInf, err := ParseLimitValue(item, l.Soft)
	if err != nil {
		return fmt.Errorf("soft: %w", err)
	}
	hard, hardInf, err := ParseLimitValue(item, l.Hard)
	if err != nil {
		return fmt.Errorf("hard: %w", err)
	}
	if (softInf && !hardInf) || (!softInf && !hardInf && soft > hard) {
		return fmt.Errorf("soft limit %s is above the hard limit %s: the soft limit must not exceed the hard one", l.Soft, l.Hard)
	}
	if item == NoFile && nrOpen > 0 && hard > nrOpen {
		return fmt.Errorf("hard limit %s is above the host's fs.nr_open (%d), so pam_limits would refuse every login; lower it, or raise fs.nr_open first with mcpai_host_sysctl", l.Hard, nrOpen)
	}
	return nil
}

// systemdValue is a limit as systemd spells it.
func systemdValue(v string) string {
	if v == Unlimited {
		return "infinity"
	}
	return v
}

// Settings is what one mcpai_host_kernel resource manages; empty strings
// and nil limits are left alone.
type Settings struct {
	CPUGovernor string
	THPEnabled  string
	THPDefrag   string
	NoFile      *Limit
	NProc       *Limit
}

// Targets returns the live sysfs values the settings ask for, path to
// value, for the given CPUs (those with cpufreq).
func (s Settings) Targets(cpus []int) map[string]string {
	t := map[string]string{}
	if s.THPEnabled != "" {
		t[THPEnabledPath] = s.THPEnabled
	}
	if s.THPDefrag != "" {
		t[THPDefragPath] = s.THPDefrag
	}
	if s.CPUGovernor != "" {
		for _, c := range cpus {
			t[GovernorPath(c)] = s.CPUGovernor
		}
	}
	return t
}

// Header starts every file this package renders.
const Header = "# Managed by Terraform (mcpai_host_kernel). Manual changes are reverted on the next apply.\n"

// Rendered reports whether data is a file this package rendered: it starts
// with Header.
func Rendered(data []byte) bool { return strings.HasPrefix(string(data), Header) }

// Render returns each persisted file's content, path to content. A file
// with nothing to hold is absent from the map.
func (s Settings) Render() map[string]string {
	out := map[string]string{}
	var b strings.Builder
	if s.THPEnabled != "" || s.THPDefrag != "" || s.CPUGovernor != "" {
		b.WriteString(Header)
		b.WriteString("# Applied at boot by systemd-tmpfiles-setup.service.\n")
		for _, l := range [][2]string{{THPEnabledPath, s.THPEnabled}, {THPDefragPath, s.THPDefrag}, {governorGlob, s.CPUGovernor}} {
			if l[1] != "" {
				fmt.Fprintf(&b, "w %s - - - - %s\n", l[0], l[1])
			}
		}
		out[TmpfilesFile] = b.String()
	}
	if s.NoFile == nil && s.NProc == nil {
		return out
	}
	b.Reset()
	b.WriteString(Header)
	b.WriteString("# Login sessions (pam_limits). \"*\" does not match root, so root has its own lines.\n")
	for _, l := range []struct {
		item  string
		limit *Limit
	}{{NoFile, s.NoFile}, {NProc, s.NProc}} {
		if l.limit == nil {
			continue
		}
		for _, domain := range []string{"*", "root"} {
			fmt.Fprintf(&b, "%-5s soft %-6s %s\n", domain, l.item, l.limit.Soft)
			fmt.Fprintf(&b, "%-5s hard %-6s %s\n", domain, l.item, l.limit.Hard)
		}
	}
	out[LimitsFile] = b.String()

	b.Reset()
	b.WriteString(Header)
	b.WriteString("# Default limits of the services systemd starts, which pam_limits does not reach.\n[Manager]\n")
	if s.NoFile != nil {
		fmt.Fprintf(&b, "DefaultLimitNOFILE=%s:%s\n", systemdValue(s.NoFile.Soft), systemdValue(s.NoFile.Hard))
	}
	if s.NProc != nil {
		fmt.Fprintf(&b, "DefaultLimitNPROC=%s:%s\n", systemdValue(s.NProc.Soft), systemdValue(s.NProc.Hard))
	}
	out[SystemdFile] = b.String()
	return out
}

// word is what a governor or THP mode looks like: the kernel's names are
// lower-case words with '+' (defer+madvise) or '_' at most.
var word = regexp.MustCompile(`^[a-z0-9][a-z0-9_+-]*$`)

// ValidWord reports whether s can be a governor or THP mode name.
func ValidWord(s string) bool { return len(s) <= 64 && word.MatchString(s) }

// ParsePersisted reads back the files Render wrote (for import): the
// settings they hold. Blank and comment lines are skipped; any other line
// this package would not have written is an error.
func ParsePersisted(tmpfiles, limits string) (Settings, error) {
	var s Settings
	for n, line := range strings.Split(tmpfiles, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		if len(f) != 7 || f[0] != "w" || f[2] != "-" || f[3] != "-" || f[4] != "-" || f[5] != "-" || !ValidWord(f[6]) {
			return Settings{}, fmt.Errorf("%s line %d: %s is not a line this resource writes", TmpfilesFile, n+1, clip(line))
		}
		switch f[1] {
		case THPEnabledPath:
			s.THPEnabled = f[6]
		case THPDefragPath:
			s.THPDefrag = f[6]
		case governorGlob:
			s.CPUGovernor = f[6]
		default:
			return Settings{}, fmt.Errorf("%s line %d: %s is not a path this resource writes", TmpfilesFile, n+1, clip(f[1]))
		}
	}
	limits2 := map[string]*Limit{}
	for n, line := range strings.Split(limits, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		bad := fmt.Errorf("%s line %d: %s is not a line this resource writes", LimitsFile, n+1, clip(line))
		if len(f) != 4 || (f[0] != "*" && f[0] != "root") || (f[1] != "soft" && f[1] != "hard" && f[1] != "-") || (f[2] != NoFile && f[2] != NProc) {
			return Settings{}, bad
		}
		if _, _, err := ParseLimitValue(f[2], f[3]); err != nil {
			return Settings{}, fmt.Errorf("%s line %d: %w", LimitsFile, n+1, err)
		}
		if f[0] == "root" {
			continue // written alongside "*", with the same values
		}
		l := limits2[f[2]]
		if l == nil {
			l = &Limit{}
			limits2[f[2]] = l
		}
		switch f[1] {
		case "soft":
			l.Soft = f[3]
		case "hard":
			l.Hard = f[3]
		case "-":
			l.Soft, l.Hard = f[3], f[3]
		}
	}
	for item, l := range limits2 {
		if l.Soft == "" || l.Hard == "" {
			return Settings{}, fmt.Errorf("%s: %s needs both a soft and a hard line for \"*\"", LimitsFile, item)
		}
	}
	s.NoFile, s.NProc = limits2[NoFile], limits2[NProc]
	return s, nil
}
