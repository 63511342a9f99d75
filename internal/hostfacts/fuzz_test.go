package hostfacts

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/mcpai/terraform-provider-mcpai/internal/kernel"
)

// testdataOutputs returns every recorded output, to seed the fuzzers with
// realistic input.
func testdataOutputs(f *testing.F) map[string][]byte {
	f.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "*.txt"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no testdata: %v", err)
	}
	outs := map[string][]byte{}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		outs[filepath.Base(p)] = b
	}
	return outs
}

// seedSection adds section name of every recorded output, plus extra seeds.
func seedSection(f *testing.F, name string, extra ...string) {
	f.Helper()
	for file, out := range testdataOutputs(f) {
		secs, err := splitSections(string(out))
		if err != nil {
			f.Fatalf("%s: %v", file, err)
		}
		f.Add(secs[name])
	}
	for _, s := range extra {
		f.Add(s)
	}
}

func nonBlankLines(s string) int {
	n := 0
	for line := range strings.SplitSeq(s, "\n") {
		if strings.TrimSpace(line) != "" {
			n++
		}
	}
	return n
}

func reverseLines(s string) string {
	lines := strings.Split(s, "\n")
	slices.Reverse(lines)
	return strings.Join(lines, "\n")
}

func FuzzParse(f *testing.F) {
	for _, out := range testdataOutputs(f) {
		f.Add(out)
		f.Add(out[:len(out)/2])
	}
	f.Add([]byte("@@mcpai:begin@@\n1\n@@mcpai:meminfo@@\nMemTotal: 1 kB\n@@mcpai:cpuinfo@@\nprocessor : 0\n@@mcpai:end@@\n"))
	f.Fuzz(func(t *testing.T, out []byte) {
		facts, err := Parse(out)
		if err != nil {
			if !reflect.DeepEqual(facts, Facts{}) {
				t.Fatalf("error %v with non-zero facts %+v", err, facts)
			}
			if !strings.HasPrefix(err.Error(), "hostfacts: ") {
				t.Fatalf("error without package prefix: %v", err)
			}
			return
		}
		checkFactsInvariants(t, facts)
		// Text around the delimited block must not matter.
		again, err := Parse(append(append([]byte("preamble\n"), out...), "\ntrailer @\n"...))
		if err != nil || !reflect.DeepEqual(again, facts) {
			t.Fatalf("with preamble/trailer: %+v, %v; want %+v", again, err, facts)
		}
	})
}

func checkFactsInvariants(t *testing.T, f Facts) {
	t.Helper()
	if f.CPUCount < 1 || f.MemoryBytes < 1024 || f.MemoryBytes%1024 != 0 || f.NUMANodes < 1 {
		t.Fatalf("bad counts: CPU %d, memory %d, NUMA %d", f.CPUCount, f.MemoryBytes, f.NUMANodes)
	}
	if f.Disks == nil || f.CPUGovernors == nil || f.GPUs == nil {
		t.Fatalf("nil slice: %+v", f)
	}
	checkDisks(t, f.Disks)
	checkGPUs(t, f.GPUs)
	for _, w := range []string{f.Kernel, f.Architecture, f.CurrentGovernor, f.THPMode, f.THPDefrag} {
		if strings.ContainsFunc(w, isSpace) {
			t.Fatalf("bad word %q", w)
		}
	}
	if strings.ContainsAny(f.THPMode+f.THPDefrag, "[]") {
		t.Fatalf("brackets left in THP %q, %q", f.THPMode, f.THPDefrag)
	}
	checkGovernors(t, f.CPUGovernors)
	if f.Docker != nil {
		checkDocker(t, f.Docker)
	}
}

func checkDisks(t *testing.T, disks []Disk) {
	t.Helper()
	for i, d := range disks {
		if i > 0 && disks[i-1].Name >= d.Name {
			t.Fatalf("disks not strictly sorted: %q then %q", disks[i-1].Name, d.Name)
		}
		if d.Name == "" || strings.HasPrefix(d.Name, "loop") || strings.HasPrefix(d.Name, "ram") || strings.HasPrefix(d.Name, "zram") {
			t.Fatalf("disk %q should have been skipped", d.Name)
		}
		if d.SizeBytes < 0 || d.SizeBytes%512 != 0 {
			t.Fatalf("disk %q size %d", d.Name, d.SizeBytes)
		}
	}
}

func checkGPUs(t *testing.T, gpus []GPU) {
	t.Helper()
	for i, g := range gpus {
		if i > 0 && gpus[i-1].Index >= g.Index {
			t.Fatalf("GPUs not strictly sorted by index: %d then %d", gpus[i-1].Index, g.Index)
		}
		if g.Index < 0 || g.MemoryBytes < 0 || g.MemoryBytes%(1<<20) != 0 {
			t.Fatalf("bad GPU %+v", g)
		}
		if g.Name == "" || g.Name != strings.TrimSpace(g.Name) || strings.Contains(g.Name, "\n") {
			t.Fatalf("bad GPU name %q", g.Name)
		}
	}
}

func checkGovernors(t *testing.T, govs []string) {
	t.Helper()
	seen := map[string]bool{}
	for _, g := range govs {
		if g == "" || strings.ContainsFunc(g, isSpace) || seen[g] {
			t.Fatalf("bad governor %q in %q", g, govs)
		}
		seen[g] = true
	}
}

func checkDocker(t *testing.T, d *Docker) {
	t.Helper()
	if d.ServerVersion == "" || d.Runtimes == nil || !slices.IsSorted(d.Runtimes) {
		t.Fatalf("bad docker %+v", d)
	}
	for i := 1; i < len(d.Runtimes); i++ {
		if d.Runtimes[i] == d.Runtimes[i-1] {
			t.Fatalf("duplicate runtime %q", d.Runtimes[i])
		}
	}
}

// escapeForTest is the Go mirror of the script's e() function.
func escapeForTest(content string) string {
	var b strings.Builder
	for line := range strings.SplitSeq(content, "\n") {
		if line != "" && (line[0] == '@' || line[0] == '\\') {
			b.WriteByte('\\')
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}

// FuzzSections checks that any content escaped as the script does comes
// back unchanged and can neither end nor add sections.
func FuzzSections(f *testing.F) {
	for _, out := range testdataOutputs(f) {
		f.Add(string(out))
	}
	f.Add("@@mcpai:end@@\n\\@@mcpai:x@@\n@")
	f.Fuzz(func(t *testing.T, content string) {
		// Content lines never end in '\r' (sysfs, procfs and the probed
		// tools do not print it), which lets Parse accept CRLF output.
		if strings.Contains(content, "\r") {
			return
		}
		out := "@@mcpai:begin@@\n1\n@@mcpai:a@@\n" + escapeForTest(content) + "@@mcpai:end@@\n"
		secs, err := splitSections(out)
		if err != nil {
			t.Fatalf("splitSections: %v", err)
		}
		if len(secs) != 3 || secs["a"] != content {
			t.Fatalf("round trip: got %q, want a=%q", secs, content)
		}
	})
}

// expandList is a naive, independent reading of a kernel range list.
func expandList(s string) (map[int64]bool, bool) {
	ids := map[int64]bool{}
	for part := range strings.SplitSeq(strings.TrimSpace(s), ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		if !isRange {
			hi = lo
		}
		a, err1 := strconv.ParseInt(lo, 10, 64)
		b, err2 := strconv.ParseInt(hi, 10, 64)
		if err1 != nil || err2 != nil || b-a > 1<<16 {
			return nil, false
		}
		for i := a; i <= b; i++ {
			ids[i] = true
		}
	}
	return ids, true
}

func FuzzParseCPUList(f *testing.F) {
	seedSection(f, secCPUOnline, "0-3,8-11", "1,0", "0-3,2-5", "0-1048575", "3-1")
	seedSection(f, secNodeOnline)
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseCPUList(s)
		if err != nil {
			if n != 0 {
				t.Fatalf("error %v with count %d", err, n)
			}
			return
		}
		if n < 1 || n > kernel.MaxListID+1 {
			t.Fatalf("count %d out of range", n)
		}
		if strings.Trim(strings.TrimSpace(s), "0123456789,-") != "" {
			t.Fatalf("accepted %q with characters outside digits, ',' and '-'", s)
		}
		ids, ok := expandList(s)
		if ok && int64(len(ids)) != n {
			t.Fatalf("parseCPUList(%q) = %d, re-expansion has %d ids", s, n, len(ids))
		}
		// Ranges are disjoint and ascending, so appending one id past the
		// end must add exactly one.
		list := strings.TrimSpace(s)
		lastID, err := strconv.ParseInt(list[strings.LastIndexAny(list, ",-")+1:], 10, 64)
		if err != nil {
			t.Fatalf("accepted %q whose last id does not parse: %v", s, err)
		}
		if lastID < kernel.MaxListID {
			n2, err := parseCPUList(list + "," + strconv.FormatInt(lastID+1, 10))
			if err != nil || n2 != n+1 {
				t.Fatalf("appending id %d to %q: %d, %v; want %d", lastID+1, s, n2, err, n+1)
			}
		}
	})
}

func FuzzParseCPUInfo(f *testing.F) {
	seedSection(f, secCPUInfo, x86CPUInfo, s390xCPUInfo, "processor 1")
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseCPUInfo(s)
		if err != nil {
			return
		}
		if n < 0 || n > int64(strings.Count(s, "\n")+1) {
			t.Fatalf("count %d for %d lines", n, strings.Count(s, "\n")+1)
		}
		// Each processor line counts once, wherever it is.
		n2, err := parseCPUInfo(s + "\nprocessor\t: 99999")
		if err != nil || n2 != n+1 {
			t.Fatalf("one more processor line: %d, %v; want %d", n2, err, n+1)
		}
	})
}

func FuzzParseMeminfo(f *testing.F) {
	seedSection(f, secMeminfo, "MemTotal: 0 kB", "MemTotal: 9007199254740992 kB", "MemTotal: 1 kB\nMemTotal: 1 kB")
	f.Fuzz(func(t *testing.T, s string) {
		b, err := parseMeminfo(s)
		if err != nil {
			if b != 0 {
				t.Fatalf("error %v with %d", err, b)
			}
			return
		}
		if b < 1024 || b%1024 != 0 {
			t.Fatalf("MemoryBytes %d", b)
		}
		kb := strconv.FormatInt(b/1024, 10)
		if !strings.Contains(s, kb) {
			t.Fatalf("%d kB does not appear in %q", b/1024, s)
		}
		// Other lines are irrelevant.
		if b2, err := parseMeminfo("MemFree: x\n" + s + "\nSwapTotal: 0 kB"); err != nil || b2 != b {
			t.Fatalf("with other lines: %d, %v; want %d", b2, err, b)
		}
	})
}

func FuzzParseWord(f *testing.F) {
	seedSection(f, secKernel, "a b", "x\n")
	seedSection(f, secArch)
	seedSection(f, secGovernor)
	f.Fuzz(func(t *testing.T, s string) {
		w, err := parseWord(s)
		if err != nil {
			return
		}
		if w != strings.TrimSpace(s) || strings.ContainsFunc(w, isSpace) {
			t.Fatalf("parseWord(%q) = %q", s, w)
		}
	})
}

// quoteOSRelease renders v as a double-quoted os-release value.
func quoteOSRelease(v string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `\$`, "`", "\\`")
	return `"` + r.Replace(v) + `"`
}

func FuzzParseOSRelease(f *testing.F) {
	seedSection(f, secOSRelease, `ID="a\"b"`, `ID='x'`, "ID=\"a\nb\"")
	f.Fuzz(func(t *testing.T, s string) {
		r, err := parseOSRelease(s)
		if err != nil {
			if r != (OSRelease{}) {
				t.Fatalf("error %v with %+v", err, r)
			}
			return
		}
		for _, v := range []string{r.ID, r.VersionID, r.PrettyName} {
			if strings.Contains(v, "\n") {
				t.Fatalf("value %q spans lines", v)
			}
		}
		// Re-rendering the three fields, double-quoted, must read back
		// identically.
		out := "ID=" + quoteOSRelease(r.ID) + "\nVERSION_ID=" + quoteOSRelease(r.VersionID) + "\nPRETTY_NAME=" + quoteOSRelease(r.PrettyName)
		r2, err := parseOSRelease(out)
		if err != nil || r2 != r {
			t.Fatalf("round trip of %+v via %q: %+v, %v", r, out, r2, err)
		}
	})
}

func FuzzParseDisks(f *testing.F) {
	seedSection(f, secDisks, "sdb 1 100\nnvme0n1 0 2\nloop3 0 5\nsda 1 -", "sda 1 18014398509481984", "sda 1\nsda 1 1")
	f.Fuzz(func(t *testing.T, s string) {
		disks, err := parseDisks(s)
		if err != nil {
			if disks != nil {
				t.Fatalf("error %v with %+v", err, disks)
			}
			return
		}
		if disks == nil || len(disks) > nonBlankLines(s) {
			t.Fatalf("%d disks from %d lines", len(disks), nonBlankLines(s))
		}
		checkDisks(t, disks)
		// /sys/block order must not matter.
		rev, err := parseDisks(reverseLines(s))
		if err != nil || !reflect.DeepEqual(rev, disks) {
			t.Fatalf("reversed: %+v, %v; want %+v", rev, err, disks)
		}
	})
}

func FuzzParseTHP(f *testing.F) {
	seedSection(f, secTHPEnabled, "[always] [never]", "[] x", "[[a]]")
	seedSection(f, secTHPDefrag)
	f.Fuzz(func(t *testing.T, s string) {
		v, err := parseTHP(s)
		if err != nil {
			if v != "" {
				t.Fatalf("error %v with %q", err, v)
			}
			return
		}
		if v == "" {
			if strings.TrimSpace(s) != "" {
				t.Fatalf("no choice from non-empty %q", s)
			}
			return
		}
		if strings.ContainsAny(v, "[] \t\n") || !slices.Contains(strings.Fields(s), "["+v+"]") {
			t.Fatalf("parseTHP(%q) = %q, not a bracketed field", s, v)
		}
	})
}

func FuzzParseGovernors(f *testing.F) {
	seedSection(f, secGovernors, "a a", "a\nb")
	f.Fuzz(func(t *testing.T, s string) {
		govs, err := parseGovernors(s)
		if err != nil {
			if govs != nil {
				t.Fatalf("error %v with %q", err, govs)
			}
			return
		}
		if govs == nil || strings.Join(govs, " ") != strings.Join(strings.Fields(s), " ") {
			t.Fatalf("parseGovernors(%q) = %q", s, govs)
		}
		checkGovernors(t, govs)
	})
}

func FuzzParseNvidiaSMI(f *testing.F) {
	seedSection(f, secNvidiaSMI,
		"0, Acme, Inc. Accelerator, 1024, 1.0, GPU-x",
		"0, NVIDIA GH200 480GB, [N/A], [N/A], [Not Supported]",
		"0, H100, 1, 1, GPU-1\n0, H100, 1, 1, GPU-2",
		"No devices were found")
	f.Fuzz(func(t *testing.T, s string) {
		gpus, err := parseNvidiaSMI(s)
		if err != nil {
			if gpus != nil {
				t.Fatalf("error %v with %+v", err, gpus)
			}
			return
		}
		if gpus == nil || len(gpus) > nonBlankLines(s) {
			t.Fatalf("%d GPUs from %d lines", len(gpus), nonBlankLines(s))
		}
		checkGPUs(t, gpus)
		if len(gpus) > 0 {
			// Line order must not matter once the output is GPU lines.
			rev, err := parseNvidiaSMI(reverseLines(s))
			if err != nil || !reflect.DeepEqual(rev, gpus) {
				t.Fatalf("reversed: %+v, %v; want %+v", rev, err, gpus)
			}
		}
	})
}

func FuzzParseDockerInfo(f *testing.F) {
	seedSection(f, secDockerInfo, `{"ServerVersion":"24.0.7","Runtimes":{`, `{"ServerVersion":24}`, `{"ServerVersion":"1","Runtimes":{"b":1,"a":2}}`)
	f.Fuzz(func(t *testing.T, s string) {
		d, err := parseDockerInfo(s)
		if err != nil || d == nil {
			if err != nil && d != nil {
				t.Fatalf("error %v with %+v", err, d)
			}
			return
		}
		checkDocker(t, d)
		// Re-encoding what was understood must read back identically.
		rt := map[string]struct{}{}
		for _, r := range d.Runtimes {
			rt[r] = struct{}{}
		}
		b, err := json.Marshal(map[string]any{"ServerVersion": d.ServerVersion, "Runtimes": rt, "DefaultRuntime": d.DefaultRuntime})
		if err != nil {
			t.Fatal(err)
		}
		d2, err := parseDockerInfo(string(b))
		if err != nil || !reflect.DeepEqual(d2, d) {
			t.Fatalf("round trip via %s: %+v, %v; want %+v", b, d2, err, d)
		}
	})
}

func FuzzCommandSucceeded(f *testing.F) {
	for _, s := range []string{"", "0", "1", "124", "255", "256", "-1", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ok, err := commandSucceeded(s)
		if err != nil {
			return
		}
		v := strings.TrimSpace(s)
		if ok != (v == "" || strings.Trim(v, "0") == "") {
			t.Fatalf("commandSucceeded(%q) = %v", s, ok)
		}
	})
}
