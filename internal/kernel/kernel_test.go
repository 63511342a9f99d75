package kernel

import (
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// The tables below also seed the fuzz targets in fuzz_test.go.

type selectorCase struct {
	name, in string
	active   string
	choices  []string
	err      string // substring of the error; "" means no error
}

var selectorCases = []selectorCase{
	{name: "enabled", in: "always [madvise] never", active: "madvise", choices: []string{"always", "madvise", "never"}},
	{name: "enabled first", in: "[always] madvise never\n", active: "always", choices: []string{"always", "madvise", "never"}},
	{name: "enabled last", in: "always madvise [never]", active: "never", choices: []string{"always", "madvise", "never"}},
	{name: "defrag", in: "always defer defer+madvise [madvise] never\n", active: "madvise", choices: []string{"always", "defer", "defer+madvise", "madvise", "never"}},
	{name: "defrag plus", in: "always defer [defer+madvise] madvise never", active: "defer+madvise", choices: []string{"always", "defer", "defer+madvise", "madvise", "never"}},
	{name: "whitespace trimmed", in: " \t always  [madvise]\tnever \n\n", active: "madvise", choices: []string{"always", "madvise", "never"}},
	{name: "only choice", in: "[never]", active: "never", choices: []string{"never"}},
	{name: "empty", in: ""},
	{name: "blank", in: " \n\t\n"},
	{name: "no bracket", in: "always madvise never", err: "no [active] choice"},
	{name: "two brackets", in: "[always] [madvise] never", err: "more than one active choice"},
	{name: "empty brackets", in: "always [] never", err: "bad choice"},
	{name: "unclosed", in: "always [a never", err: "bad choice"},
	{name: "bracket inside", in: "always a]b [never]", err: "bad choice"},
	{name: "closing only", in: "always madvise] never", err: "bad choice"},
	{name: "nested", in: "[[always]] never", err: "bad choice"},
	{name: "multi-line", in: "always [madvise] never\nalways madvise [never]", err: "want one line"},
	{name: "carriage return", in: "always\r[madvise] never", err: "want one line"},
	{name: "active repeated", in: "always [madvise] madvise", err: "duplicate choice"},
	{name: "choice repeated", in: "always always [never]", err: "duplicate choice"},
}

func TestParseSelector(t *testing.T) {
	for _, tc := range selectorCases {
		t.Run(tc.name, func(t *testing.T) {
			active, choices, err := ParseSelector(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("ParseSelector(%q) = %q, %q, %v; want error with %q", tc.in, active, choices, err, tc.err)
				}
				if active != "" || choices != nil {
					t.Errorf("error with results %q, %q", active, choices)
				}
				return
			}
			if err != nil || active != tc.active || !reflect.DeepEqual(choices, tc.choices) {
				t.Fatalf("ParseSelector(%q) = %q, %q, %v; want %q, %q", tc.in, active, choices, err, tc.active, tc.choices)
			}
		})
	}
}

func TestParseSelectorClipsErrors(t *testing.T) {
	_, _, err := ParseSelector(strings.Repeat("x", 10000))
	if err == nil || len(err.Error()) > 200 {
		t.Fatalf("error for a huge selector is not short: %d bytes", len(err.Error()))
	}
}

func TestParseLive(t *testing.T) {
	for _, tc := range []struct {
		name, path, raw string
		value           string
		choices         []string
		err             bool
	}{
		{name: "THP enabled selector", path: THPEnabledPath, raw: "always [madvise] never\n", value: "madvise", choices: []string{"always", "madvise", "never"}},
		{name: "THP defrag selector", path: THPDefragPath, raw: "[always] defer defer+madvise madvise never\n", value: "always", choices: []string{"always", "defer", "defer+madvise", "madvise", "never"}},
		{name: "THP selector without a choice", path: THPEnabledPath, raw: "always madvise never", err: true},
		{name: "THP not built in", path: THPEnabledPath, raw: "", value: ""},
		{name: "governor, trimmed", path: GovernorPath(3), raw: " performance\n", value: "performance"},
		{name: "plain file keeps brackets", path: NrOpenPath, raw: "[1048576]\n", value: "[1048576]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			value, choices, err := ParseLive(tc.path, tc.raw)
			if tc.err {
				if err == nil {
					t.Fatalf("ParseLive(%q, %q) = %q, %q; want an error", tc.path, tc.raw, value, choices)
				}
				return
			}
			if err != nil || value != tc.value || !reflect.DeepEqual(choices, tc.choices) {
				t.Fatalf("ParseLive(%q, %q) = %q, %q, %v; want %q, %q", tc.path, tc.raw, value, choices, err, tc.value, tc.choices)
			}
		})
	}
}

func TestRendered(t *testing.T) {
	for _, tc := range []struct {
		name string
		data string
		want bool
	}{
		{name: "a rendered file", data: Header + "w /sys/kernel/mm/transparent_hugepage/enabled - - - - madvise\n", want: true},
		{name: "the header alone", data: Header, want: true},
		{name: "someone else's file", data: "# my settings\n" + Header, want: false},
		{name: "header without its newline", data: strings.TrimSuffix(Header, "\n"), want: false},
		{name: "empty", data: "", want: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Rendered([]byte(tc.data)); got != tc.want {
				t.Fatalf("Rendered(%q) = %v, want %v", tc.data, got, tc.want)
			}
		})
	}
}

func TestParseGovernors(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string
		err      string
	}{
		{name: "typical", in: "performance powersave\n", want: []string{"performance", "powersave"}},
		{name: "acpi-cpufreq", in: "conservative ondemand userspace powersave performance schedutil ", want: []string{"conservative", "ondemand", "userspace", "powersave", "performance", "schedutil"}},
		{name: "empty", in: "", want: []string{}},
		{name: "blank", in: "\n", want: []string{}},
		{name: "duplicate", in: "performance powersave performance", err: "duplicate governor"},
		{name: "multi-line", in: "performance\npowersave", err: "want one line"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseGovernors(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("ParseGovernors(%q) = %q, %v; want error with %q", tc.in, got, err, tc.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) || got == nil {
				t.Fatalf("ParseGovernors(%q) = %#v, %v; want %#v", tc.in, got, err, tc.want)
			}
		})
	}
}

type rangeCase struct {
	name, in string
	want     []Range
	err      string
}

var rangeCases = []rangeCase{
	{name: "single", in: "0", want: []Range{{0, 0}}},
	{name: "pair", in: "0-1", want: []Range{{0, 1}}},
	{name: "two ranges", in: "0-3,8-11", want: []Range{{0, 3}, {8, 11}}},
	{name: "trailing newline", in: "0-63\n", want: []Range{{0, 63}}},
	{name: "mixed", in: "0,2-3,5", want: []Range{{0, 0}, {2, 3}, {5, 5}}},
	{name: "adjacent", in: "0-1,2-3", want: []Range{{0, 1}, {2, 3}}},
	{name: "max id", in: "1048575", want: []Range{{MaxListID, MaxListID}}},
	{name: "empty", in: "", err: "empty range list"},
	{name: "blank", in: " \n", err: "empty range list"},
	{name: "reversed", in: "1-0", err: "reversed range"},
	{name: "repeated", in: "0,0", err: "overlaps or is out of order"},
	{name: "out of order", in: "3,1", err: "overlaps or is out of order"},
	{name: "overlapping", in: "0-3,2-5", err: "overlaps or is out of order"},
	{name: "open range", in: "0-", err: "empty id"},
	{name: "open start", in: "-3", err: "empty id"},
	{name: "empty part", in: "1,,2", err: "empty id"},
	{name: "trailing comma", in: "0-3,", err: "empty id"},
	{name: "letter", in: "a", err: "bad id"},
	{name: "sign", in: "+1", err: "bad id"},
	{name: "negative", in: "0--1", err: "bad id"},
	{name: "three ends", in: "0-1-2", err: "bad id"},
	{name: "inner space", in: "0, 1", err: "bad id"},
	{name: "beyond MaxListID", in: "1048576", err: "bad id"},
	{name: "beyond uint32", in: "0-4294967296", err: "bad id"},
	{name: "huge", in: "99999999999999999999999", err: "bad id"},
}

func TestParseRangeList(t *testing.T) {
	for _, tc := range rangeCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseRangeList(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("ParseRangeList(%q) = %v, %v; want error with %q", tc.in, got, err, tc.err)
				}
				if got != nil {
					t.Errorf("error with ranges %v", got)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("ParseRangeList(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestCPUs(t *testing.T) {
	all := make([]int, MaxCPUs)
	for i := range all {
		all[i] = i
	}
	for _, tc := range []struct {
		name, in string
		want     []int
		err      string
	}{
		{name: "one", in: "0\n", want: []int{0}},
		{name: "ranges", in: "0-3,8-11", want: []int{0, 1, 2, 3, 8, 9, 10, 11}},
		{name: "sparse", in: "0,2,4", want: []int{0, 2, 4}},
		{name: "exactly MaxCPUs", in: "0-8191", want: all},
		{name: "high ids", in: "1048574-1048575", want: []int{1048574, 1048575}},
		{name: "one too many", in: "0-8192", err: "more than 8192 CPUs"},
		{name: "too many over ranges", in: "0-4095,5000-9096", err: "more than 8192 CPUs"},
		{name: "huge range", in: "0-1048575", err: "more than 8192 CPUs"},
		{name: "bad list", in: "1-0", err: "reversed range"},
		{name: "empty", in: "", err: "empty range list"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := CPUs(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("CPUs(%q) = %d ids, %v; want error with %q", tc.in, len(got), err, tc.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("CPUs(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
		})
	}
}

// thisMachineCmdline is a real /proc/cmdline: "--" hands the rest to init.
const thisMachineCmdline = "mitigations=auto,no_guest_host,no_guest_guest console=ttyS0 quiet reboot=k panic=1 nomodule random.trust_cpu=1 swiotlb=noforce psi=1 rdinit=/process_api -- --firecracker-init --addr 0.0.0.0:2024 --auth-required\n"

var cmdlineCases = []struct{ name, in, want string }{
	{name: "absent", in: "BOOT_IMAGE=/vmlinuz root=/dev/sda1 ro quiet\n", want: ""},
	{name: "empty", in: "", want: ""},
	{name: "present", in: "BOOT_IMAGE=/vmlinuz root=/dev/sda1 transparent_hugepage=never ro\n", want: "never"},
	{name: "first word", in: "transparent_hugepage=madvise", want: "madvise"},
	{name: "last one wins", in: "transparent_hugepage=always quiet transparent_hugepage=madvise", want: "madvise"},
	{name: "after -- ignored", in: "root=/dev/vda transparent_hugepage=never -- transparent_hugepage=always", want: "never"},
	{name: "only after --", in: "root=/dev/vda -- transparent_hugepage=always", want: ""},
	{name: "this machine", in: thisMachineCmdline, want: ""},
	{name: "this machine with THP", in: strings.Replace(thisMachineCmdline, "quiet", "quiet transparent_hugepage=madvise", 1) + " transparent_hugepage=always", want: "madvise"},
	{name: "empty value", in: "quiet transparent_hugepage= ro", want: ""},
	{name: "empty value last", in: "transparent_hugepage=always transparent_hugepage=", want: ""},
	{name: "prefix of another param", in: "xtransparent_hugepage=always transparent_hugepage_defrag=never", want: ""},
	{name: "tabs and newlines", in: "a\ttransparent_hugepage=never\nb", want: "never"},
	{name: "-- glued to a word", in: "--x transparent_hugepage=never", want: "never"},
}

func TestCmdlineTHP(t *testing.T) {
	for _, tc := range cmdlineCases {
		t.Run(tc.name, func(t *testing.T) {
			if got := CmdlineTHP(tc.in); got != tc.want {
				t.Errorf("CmdlineTHP(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestParseLimitValue(t *testing.T) {
	for _, tc := range []struct {
		name, item, in string
		n              uint64
		unlimited      bool
		err            []string // substrings of the error
	}{
		{name: "nofile", item: NoFile, in: "65536", n: 65536},
		{name: "nproc", item: NProc, in: "4096", n: 4096},
		{name: "one", item: NoFile, in: "1", n: 1},
		{name: "largest finite", item: NProc, in: "18446744073709551614", n: maxLimit},
		{name: "nproc unlimited", item: NProc, in: "unlimited", unlimited: true},
		{name: "nofile unlimited", item: NoFile, in: "unlimited", err: []string{`nofile cannot be "unlimited"`, "fs.nr_open", "65536"}},
		{name: "RLIM_INFINITY", item: NProc, in: "18446744073709551615", err: []string{"is not a limit", `or "unlimited"`}},
		{name: "beyond uint64", item: NoFile, in: "18446744073709551616", err: []string{"is not a limit", "65536"}},
		{name: "zero", item: NoFile, in: "0", err: []string{"nofile limit of 0", "use at least 1"}},
		{name: "zero nproc", item: NProc, in: "0", err: []string{"nproc limit of 0", "use at least 1"}},
		{name: "leading zero", item: NoFile, in: "065536", err: []string{`"065536" is not a limit`}},
		{name: "double zero", item: NoFile, in: "00", err: []string{"is not a limit"}},
		{name: "negative", item: NProc, in: "-1", err: []string{"is not a limit", `or "unlimited"`}},
		{name: "sign", item: NoFile, in: "+1", err: []string{"is not a limit"}},
		{name: "space", item: NoFile, in: " 1", err: []string{"is not a limit"}},
		{name: "empty", item: NoFile, in: "", err: []string{`"" is not a limit`}},
		{name: "infinity", item: NProc, in: "infinity", err: []string{"is not a limit", `or "unlimited"`}},
		{name: "capitalised", item: NProc, in: "Unlimited", err: []string{"is not a limit"}},
		{name: "nofile hint has no unlimited", item: NoFile, in: "many", err: []string{"a whole number such as 65536"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, unlimited, err := ParseLimitValue(tc.item, tc.in)
			if tc.err != nil {
				if err == nil {
					t.Fatalf("ParseLimitValue(%q, %q) = %d, %v; want an error", tc.item, tc.in, n, unlimited)
				}
				for _, sub := range tc.err {
					if !strings.Contains(err.Error(), sub) {
						t.Errorf("error %q lacks %q", err, sub)
					}
				}
				if tc.item == NoFile && strings.Contains(err.Error(), Unlimited) && tc.in != Unlimited {
					t.Errorf("nofile error %q suggests %q", err, Unlimited)
				}
				return
			}
			if err != nil || n != tc.n || unlimited != tc.unlimited {
				t.Fatalf("ParseLimitValue(%q, %q) = %d, %v, %v; want %d, %v", tc.item, tc.in, n, unlimited, err, tc.n, tc.unlimited)
			}
		})
	}
}

type checkCase struct {
	name, item string
	limit      Limit
	nrOpen     uint64
	err        []string // substrings of the error; nil means no error
}

var checkCases = []checkCase{
	{name: "nofile", item: NoFile, limit: Limit{"65536", "1048576"}, nrOpen: 1048576},
	{name: "equal", item: NoFile, limit: Limit{"1024", "1024"}, nrOpen: 1048576},
	{name: "nrOpen unknown", item: NoFile, limit: Limit{"65536", "4194304"}, nrOpen: 0},
	{name: "nproc unlimited", item: NProc, limit: Limit{Unlimited, Unlimited}},
	{name: "nproc hard unlimited", item: NProc, limit: Limit{"4096", Unlimited}},
	{name: "nproc ignores nrOpen", item: NProc, limit: Limit{"4096", "8192"}, nrOpen: 1024},
	{name: "soft above hard", item: NoFile, limit: Limit{"2048", "1024"}, err: []string{"soft limit 2048 is above the hard limit 1024", "must not exceed"}},
	{name: "soft unlimited hard finite", item: NProc, limit: Limit{Unlimited, "4096"}, err: []string{"soft limit unlimited is above the hard limit 4096"}},
	{name: "hard above nr_open", item: NoFile, limit: Limit{"65536", "2097152"}, nrOpen: 1048576, err: []string{"hard limit 2097152", "fs.nr_open (1048576)", "refuse every login", "mcpai_host_sysctl"}},
	{name: "soft and hard above nr_open", item: NoFile, limit: Limit{"2097152", "2097152"}, nrOpen: 1048576, err: []string{"fs.nr_open (1048576)"}},
	{name: "nofile soft unlimited", item: NoFile, limit: Limit{Unlimited, "1024"}, err: []string{"soft: ", "fs.nr_open"}},
	{name: "nofile hard unlimited", item: NoFile, limit: Limit{"1024", Unlimited}, err: []string{"hard: ", "fs.nr_open"}},
	{name: "bad soft", item: NProc, limit: Limit{"x", "1"}, err: []string{`soft: "x" is not a limit`}},
	{name: "bad hard", item: NProc, limit: Limit{"1", "01"}, err: []string{`hard: "01" is not a limit`}},
	{name: "zero soft", item: NoFile, limit: Limit{"0", "1"}, err: []string{"soft: ", "use at least 1"}},
	{name: "empty hard", item: NoFile, limit: Limit{"1", ""}, err: []string{"hard: "}},
}

func TestLimitCheck(t *testing.T) {
	for _, tc := range checkCases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.limit.Check(tc.item, tc.nrOpen)
			if tc.err == nil {
				if err != nil {
					t.Fatalf("%+v.Check(%q, %d) = %v", tc.limit, tc.item, tc.nrOpen, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("%+v.Check(%q, %d) passed", tc.limit, tc.item, tc.nrOpen)
			}
			for _, sub := range tc.err {
				if !strings.Contains(err.Error(), sub) {
					t.Errorf("error %q lacks %q", err, sub)
				}
			}
		})
	}
}

func TestPaths(t *testing.T) {
	if got := GovernorPath(12); got != "/sys/devices/system/cpu/cpu12/cpufreq/scaling_governor" {
		t.Errorf("GovernorPath = %q", got)
	}
	if got := AvailableGovernorsPath(0); got != "/sys/devices/system/cpu/cpu0/cpufreq/scaling_available_governors" {
		t.Errorf("AvailableGovernorsPath = %q", got)
	}
	if !reflect.DeepEqual(Files, []string{"/etc/tmpfiles.d/mcpai-kernel.conf", "/etc/security/limits.d/90-mcpai.conf", "/etc/systemd/system.conf.d/90-mcpai.conf"}) {
		t.Errorf("Files = %q", Files)
	}
}

func TestValidWord(t *testing.T) {
	for w, ok := range map[string]bool{
		"madvise":               true,
		"defer+madvise":         true,
		"within_size":           true,
		"performance":           true,
		"amd-pstate":            true,
		"0":                     true,
		strings.Repeat("a", 64): true,
		strings.Repeat("a", 65): false,
		"":                      false,
		"-madvise":              false,
		"+x":                    false,
		"Performance":           false,
		"[madvise]":             false,
		"a b":                   false,
		"a\n":                   false,
		"a/b":                   false,
		"$(reboot)":             false,
	} {
		if ValidWord(w) != ok {
			t.Errorf("ValidWord(%q) = %v, want %v", w, !ok, ok)
		}
	}
}

func TestTargets(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    Settings
		cpus []int
		want map[string]string
	}{
		{name: "empty", s: Settings{}, cpus: []int{0, 1}, want: map[string]string{}},
		{name: "limits only", s: Settings{NoFile: &Limit{"1", "2"}}, cpus: []int{0}, want: map[string]string{}},
		{name: "THP", s: Settings{THPEnabled: "madvise", THPDefrag: "defer"}, cpus: []int{0}, want: map[string]string{
			THPEnabledPath: "madvise",
			THPDefragPath:  "defer",
		}},
		{name: "governor", s: Settings{CPUGovernor: "performance"}, cpus: []int{0, 2, 17}, want: map[string]string{
			"/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor":  "performance",
			"/sys/devices/system/cpu/cpu2/cpufreq/scaling_governor":  "performance",
			"/sys/devices/system/cpu/cpu17/cpufreq/scaling_governor": "performance",
		}},
		{name: "governor without cpufreq CPUs", s: Settings{CPUGovernor: "performance"}, want: map[string]string{}},
		{name: "all", s: Settings{CPUGovernor: "schedutil", THPEnabled: "never", THPDefrag: "madvise", NProc: &Limit{Unlimited, Unlimited}}, cpus: []int{3}, want: map[string]string{
			"/sys/kernel/mm/transparent_hugepage/enabled":           "never",
			"/sys/kernel/mm/transparent_hugepage/defrag":            "madvise",
			"/sys/devices/system/cpu/cpu3/cpufreq/scaling_governor": "schedutil",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.s.Targets(tc.cpus)
			if got == nil || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Targets(%v) = %#v, want %#v", tc.cpus, got, tc.want)
			}
		})
	}
}

// The rendered files, written out in full so that any change of format
// shows up as a diff here.
const (
	wantTmpfilesFull = `# Managed by Terraform (mcpai_host_kernel). Manual changes are reverted on the next apply.
# Applied at boot by systemd-tmpfiles-setup.service.
w /sys/kernel/mm/transparent_hugepage/enabled - - - - madvise
w /sys/kernel/mm/transparent_hugepage/defrag - - - - defer+madvise
w /sys/devices/system/cpu/cpu*/cpufreq/scaling_governor - - - - performance
`
	wantLimitsFull = `# Managed by Terraform (mcpai_host_kernel). Manual changes are reverted on the next apply.
# Login sessions (pam_limits). "*" does not match root, so root has its own lines.
*     soft nofile 65536
*     hard nofile 1048576
root  soft nofile 65536
root  hard nofile 1048576
*     soft nproc  unlimited
*     hard nproc  unlimited
root  soft nproc  unlimited
root  hard nproc  unlimited
`
	wantSystemdFull = `# Managed by Terraform (mcpai_host_kernel). Manual changes are reverted on the next apply.
# Default limits of the services systemd starts, which pam_limits does not reach.
[Manager]
DefaultLimitNOFILE=65536:1048576
DefaultLimitNPROC=infinity:infinity
`
)

var fullSettings = Settings{
	CPUGovernor: "performance",
	THPEnabled:  "madvise",
	THPDefrag:   "defer+madvise",
	NoFile:      &Limit{"65536", "1048576"},
	NProc:       &Limit{Unlimited, Unlimited},
}

func TestRender(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    Settings
		want map[string]string
	}{
		{name: "full", s: fullSettings, want: map[string]string{
			TmpfilesFile: wantTmpfilesFull,
			LimitsFile:   wantLimitsFull,
			SystemdFile:  wantSystemdFull,
		}},
		{name: "empty", s: Settings{}, want: map[string]string{}},
		{name: "THP enabled only", s: Settings{THPEnabled: "never"}, want: map[string]string{
			TmpfilesFile: `# Managed by Terraform (mcpai_host_kernel). Manual changes are reverted on the next apply.
# Applied at boot by systemd-tmpfiles-setup.service.
w /sys/kernel/mm/transparent_hugepage/enabled - - - - never
`,
		}},
		{name: "THP defrag and governor", s: Settings{THPDefrag: "defer", CPUGovernor: "powersave"}, want: map[string]string{
			TmpfilesFile: `# Managed by Terraform (mcpai_host_kernel). Manual changes are reverted on the next apply.
# Applied at boot by systemd-tmpfiles-setup.service.
w /sys/kernel/mm/transparent_hugepage/defrag - - - - defer
w /sys/devices/system/cpu/cpu*/cpufreq/scaling_governor - - - - powersave
`,
		}},
		{name: "nofile only", s: Settings{NoFile: &Limit{"1024", "524288"}}, want: map[string]string{
			LimitsFile: `# Managed by Terraform (mcpai_host_kernel). Manual changes are reverted on the next apply.
# Login sessions (pam_limits). "*" does not match root, so root has its own lines.
*     soft nofile 1024
*     hard nofile 524288
root  soft nofile 1024
root  hard nofile 524288
`,
			SystemdFile: `# Managed by Terraform (mcpai_host_kernel). Manual changes are reverted on the next apply.
# Default limits of the services systemd starts, which pam_limits does not reach.
[Manager]
DefaultLimitNOFILE=1024:524288
`,
		}},
		{name: "nproc only, soft finite", s: Settings{NProc: &Limit{"4096", Unlimited}}, want: map[string]string{
			LimitsFile: `# Managed by Terraform (mcpai_host_kernel). Manual changes are reverted on the next apply.
# Login sessions (pam_limits). "*" does not match root, so root has its own lines.
*     soft nproc  4096
*     hard nproc  unlimited
root  soft nproc  4096
root  hard nproc  unlimited
`,
			SystemdFile: `# Managed by Terraform (mcpai_host_kernel). Manual changes are reverted on the next apply.
# Default limits of the services systemd starts, which pam_limits does not reach.
[Manager]
DefaultLimitNPROC=4096:infinity
`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.s.Render()
			if got == nil {
				t.Fatal("Render returned nil")
			}
			for _, path := range Files {
				g, gok := got[path]
				w, wok := tc.want[path]
				if gok != wok {
					t.Errorf("%s rendered: %v, want %v", path, gok, wok)
					continue
				}
				if g != w {
					t.Errorf("%s =\n%s\nwant\n%s", path, g, w)
				}
				if gok && !strings.HasPrefix(g, Header) {
					t.Errorf("%s lacks the header", path)
				}
			}
			if len(got) != len(tc.want) {
				t.Errorf("Render returned files %v", slices.Sorted(maps.Keys(got)))
			}
		})
	}
}

// persistedSettings are combinations that must survive Render and
// ParsePersisted unchanged.
var persistedSettings = map[string]Settings{
	"empty":           {},
	"full":            fullSettings,
	"THP enabled":     {THPEnabled: "always"},
	"THP defrag":      {THPDefrag: "defer+madvise"},
	"governor":        {CPUGovernor: "schedutil"},
	"nofile":          {NoFile: &Limit{"65536", "65536"}},
	"nproc":           {NProc: &Limit{"4096", Unlimited}},
	"limits":          {NoFile: &Limit{"1024", "1048576"}, NProc: &Limit{"18446744073709551614", "18446744073709551614"}},
	"THP and nproc":   {THPEnabled: "never", THPDefrag: "never", NProc: &Limit{Unlimited, Unlimited}},
	"governor nofile": {CPUGovernor: "performance", NoFile: &Limit{"1", "2"}},
}

func TestRenderParsePersistedRoundTrip(t *testing.T) {
	for name, s := range persistedSettings {
		t.Run(name, func(t *testing.T) {
			files := s.Render()
			got, err := ParsePersisted(files[TmpfilesFile], files[LimitsFile])
			if err != nil {
				t.Fatalf("ParsePersisted: %v\n%s\n%s", err, files[TmpfilesFile], files[LimitsFile])
			}
			if !reflect.DeepEqual(got, s) {
				t.Errorf("round trip gave %s, want %s", describe(got), describe(s))
			}
		})
	}
}

// describe prints settings with the limits' values, not their addresses.
func describe(s Settings) string {
	lim := func(l *Limit) string {
		if l == nil {
			return "nil"
		}
		return "{" + l.Soft + " " + l.Hard + "}"
	}
	return "{governor " + s.CPUGovernor + ", enabled " + s.THPEnabled + ", defrag " + s.THPDefrag +
		", nofile " + lim(s.NoFile) + ", nproc " + lim(s.NProc) + "}"
}

type persistedCase struct {
	name, tmpfiles, limits string
	want                   Settings
	err                    string
}

var persistedCases = []persistedCase{
	{name: "nothing", want: Settings{}},
	{name: "comments and blank lines", tmpfiles: "# c\n\n   \n  # indented\nw /sys/kernel/mm/transparent_hugepage/enabled - - - - never\n", limits: "#\n\n* soft nofile 10\n\t# x\n* hard nofile 20\n", want: Settings{THPEnabled: "never", NoFile: &Limit{"10", "20"}}},
	{name: "dash sets both", limits: "* - nproc 4096\n", want: Settings{NProc: &Limit{"4096", "4096"}}},
	{name: "dash then soft", limits: "* - nofile 4096\n* soft nofile 1024\n", want: Settings{NoFile: &Limit{"1024", "4096"}}},
	{name: "tabs and CRLF", tmpfiles: "w\t/sys/devices/system/cpu/cpu*/cpufreq/scaling_governor\t-\t-\t-\t-\tperformance\r\n", limits: "*\thard\tnproc\tunlimited\r\n*\tsoft\tnproc\t100\r\n", want: Settings{CPUGovernor: "performance", NProc: &Limit{"100", Unlimited}}},
	{name: "root lines only", limits: "root soft nofile 1\nroot hard nofile 2\n", want: Settings{}},
	{name: "foreign tmpfiles path", tmpfiles: "w /etc/passwd - - - - x\n", err: "is not a path this resource writes"},
	{name: "foreign tmpfiles type", tmpfiles: "d /tmp 0755 - - -\n", err: "line 1"},
	{name: "foreign tmpfiles mode", tmpfiles: "w /sys/kernel/mm/transparent_hugepage/enabled 0644 - - - never\n", err: "is not a line this resource writes"},
	{name: "tmpfiles bad word", tmpfiles: "w /sys/kernel/mm/transparent_hugepage/enabled - - - - [never]\n", err: "is not a line this resource writes"},
	{name: "tmpfiles extra field", tmpfiles: "w /sys/kernel/mm/transparent_hugepage/enabled - - - - never always\n", err: "is not a line this resource writes"},
	{name: "tmpfiles line number", tmpfiles: "# c\n\nw+ /sys/kernel/mm/transparent_hugepage/enabled - - - - never\n", err: "mcpai-kernel.conf line 3"},
	{name: "group domain", limits: "@ soft nofile 1\n", err: "is not a line this resource writes"},
	{name: "other user", limits: "nobody soft nofile 1\n", err: "is not a line this resource writes"},
	{name: "other item", limits: "* soft core 0\n", err: "is not a line this resource writes"},
	{name: "bad type", limits: "* both nofile 1\n", err: "is not a line this resource writes"},
	{name: "bad type root", limits: "root both nofile 1\n", err: "is not a line this resource writes"},
	{name: "short line", limits: "* soft nofile\n", err: "is not a line this resource writes"},
	{name: "bad value", limits: "* soft nofile unlimited\n* hard nofile 1\n", err: "fs.nr_open"},
	{name: "bad root value", limits: "root soft nproc 0\n", err: "90-mcpai.conf line 1"},
	{name: "missing hard", limits: "* soft nofile 1024\nroot soft nofile 1024\nroot hard nofile 1024\n", err: `nofile needs both a soft and a hard line for "*"`},
	{name: "missing soft", limits: "* hard nproc 1024\n", err: "nproc needs both"},
}

func TestParsePersisted(t *testing.T) {
	for _, tc := range persistedCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParsePersisted(tc.tmpfiles, tc.limits)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("ParsePersisted = %s, %v; want error with %q", describe(got), err, tc.err)
				}
				if !reflect.DeepEqual(got, Settings{}) {
					t.Errorf("error with settings %s", describe(got))
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("ParsePersisted = %s, %v; want %s", describe(got), err, describe(tc.want))
			}
		})
	}
}

func TestParsePersistedFullGolden(t *testing.T) {
	got, err := ParsePersisted(wantTmpfilesFull, wantLimitsFull)
	if err != nil || !reflect.DeepEqual(got, fullSettings) {
		t.Fatalf("ParsePersisted(golden) = %s, %v; want %s", describe(got), err, describe(fullSettings))
	}
}
