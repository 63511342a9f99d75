package hostfacts

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// -record=FILE re-records the live script output of this machine into
// testdata/FILE, e.g. go test -run TestLiveScript -record=debian12-vm.txt
var record = flag.String("record", "", "write this host's script output to testdata/`FILE`")

// shells lists the POSIX shells available here; the script must behave the
// same under each.
func shells(t *testing.T) []string {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("the script probes Linux paths")
	}
	var out []string
	for _, sh := range []string{"sh", "dash", "bash", "busybox", "mksh", "ksh", "zsh"} {
		if p, err := exec.LookPath(sh); err == nil && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		t.Skip("no shell")
	}
	return out
}

// runScript runs script the way the transport does (argv sh -c script), with
// an optional PATH override and a deadline so a broken timeout wrapper fails
// the test instead of hanging it.
func runScript(t *testing.T, shell, script, path string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	args := []string{"-c", script}
	if filepath.Base(shell) == "busybox" {
		args = append([]string{"sh"}, args...)
	}
	cmd := exec.CommandContext(ctx, shell, args...)
	if path != "" {
		cmd.Env = append(os.Environ(), "PATH="+path)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s -c Script: %v (stderr %q)", shell, err, stderr.String())
	}
	// The script silences every probe; anything on stderr is a script bug.
	if stderr.Len() != 0 {
		t.Errorf("%s -c Script wrote to stderr: %q", shell, stderr.String())
	}
	return out
}

func TestCommand(t *testing.T) {
	if got := Command(); !reflect.DeepEqual(got, []string{"sh", "-c", Script}) {
		t.Fatalf("Command() = %q", got)
	}
}

func TestScriptSyntax(t *testing.T) {
	for _, sh := range shells(t) {
		args := []string{"-n", "-c", Script}
		if filepath.Base(sh) == "busybox" {
			args = append([]string{"sh"}, args...)
		}
		if out, err := exec.Command(sh, args...).CombinedOutput(); err != nil {
			t.Errorf("%s -n: %v: %s", sh, err, out)
		}
	}
}

// readFirstLine returns a sysfs/procfs file's trimmed content, "" if unreadable.
func readFirstLine(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// TestLiveScript runs the real script here under every shell and checks the
// parsed facts against what Go reads directly from /proc and /sys.
func TestLiveScript(t *testing.T) {
	for _, sh := range shells(t) {
		t.Run(filepath.Base(sh), func(t *testing.T) {
			out := runScript(t, sh, Script, "")
			if *record != "" && filepath.Base(sh) == "sh" {
				if err := os.WriteFile(filepath.Join("testdata", *record), out, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			f, err := Parse(out)
			if err != nil {
				t.Fatalf("Parse: %v\n%s", err, out)
			}
			checkLiveFacts(t, f)
		})
	}
}

func checkLiveFacts(t *testing.T, f Facts) {
	t.Helper()
	if want := int64(runtime.NumCPU()); f.CPUCount < 1 || f.CPUCount < want {
		// NumCPU is the affinity mask, which can only be smaller.
		t.Errorf("CPUCount = %d, runtime.NumCPU = %d", f.CPUCount, want)
	}
	if online := readFirstLine(t, "/sys/devices/system/cpu/online"); online != "" {
		n, err := parseCPUList(online)
		if err != nil || n != f.CPUCount {
			t.Errorf("CPUCount = %d, /sys online %q = %d, %v", f.CPUCount, online, n, err)
		}
	}
	mi, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(mi))
	for sc.Scan() {
		if fs := strings.Fields(sc.Text()); len(fs) == 3 && fs[0] == "MemTotal:" {
			kb, _ := strconv.ParseInt(fs[1], 10, 64)
			if f.MemoryBytes != kb*1024 {
				t.Errorf("MemoryBytes = %d, /proc/meminfo says %d kB", f.MemoryBytes, kb)
			}
		}
	}
	if un, err := exec.Command("uname", "-r").Output(); err == nil && f.Kernel != strings.TrimSpace(string(un)) {
		t.Errorf("Kernel = %q, uname -r = %q", f.Kernel, un)
	}
	if un, err := exec.Command("uname", "-m").Output(); err == nil && f.Architecture != strings.TrimSpace(string(un)) {
		t.Errorf("Architecture = %q, uname -m = %q", f.Architecture, un)
	}
	if f.NUMANodes < 1 {
		t.Errorf("NUMANodes = %d", f.NUMANodes)
	}
	entries, _ := os.ReadDir("/sys/block")
	var want []string
	for _, e := range entries {
		n := e.Name()
		if !strings.HasPrefix(n, "loop") && !strings.HasPrefix(n, "ram") && !strings.HasPrefix(n, "zram") {
			want = append(want, n)
		}
	}
	var got []string
	for _, d := range f.Disks {
		got = append(got, d.Name)
		if s := readFirstLine(t, "/sys/block/"+d.Name+"/size"); s != strconv.FormatInt(d.SizeBytes/512, 10) {
			t.Errorf("disk %s: SizeBytes %d, sysfs size %q sectors", d.Name, d.SizeBytes, s)
		}
		if r := readFirstLine(t, "/sys/block/"+d.Name+"/queue/rotational"); (r == "1") != d.Rotational {
			t.Errorf("disk %s: Rotational %v, sysfs %q", d.Name, d.Rotational, r)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("Disks = %q, /sys/block has %q", got, want)
	}
	thp := readFirstLine(t, "/sys/kernel/mm/transparent_hugepage/enabled")
	if (thp == "") != (f.THPMode == "") || !strings.Contains(thp, "["+f.THPMode+"]") && thp != "" {
		t.Errorf("THPMode = %q, sysfs %q", f.THPMode, thp)
	}
	if f.CPUGovernors == nil || f.GPUs == nil || f.Disks == nil {
		t.Errorf("nil slice in %+v", f)
	}
}

// fakeBin makes a directory for PATH holding links to the named real tools
// plus fake executables (name -> sh script body), so a test controls exactly
// which commands the script can find.
func fakeBin(t *testing.T, tools []string, fakes map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range tools {
		p, err := exec.LookPath(name)
		if err != nil {
			t.Skipf("%s not installed", name)
		}
		if err := os.Symlink(p, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	shPath, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	for name, body := range fakes {
		script := "#!" + shPath + "\n" + body + "\n"
		if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const (
	fakeSMIArgs = `--query-gpu=index,name,memory.total,driver_version,uuid --format=csv,noheader,nounits`
	fakeSMIOK   = `[ "$*" = "` + fakeSMIArgs + `" ] || { echo "bad args: $*" >&2; exit 2; }
echo "0, NVIDIA H100 80GB HBM3, 81559, 550.54.15, GPU-11111111-2222-3333-4444-555555555555"
echo "1, NVIDIA H100 80GB HBM3, 81559, 550.54.15, GPU-66666666-7777-8888-9999-000000000000"`
	fakeSMIFail = `echo "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running."
echo
exit 9`
	fakeDockerOK = `[ "$*" = "info --format {{json .}}" ] || { echo "bad args: $*" >&2; exit 2; }
echo '{"ServerVersion":"26.1.3","Runtimes":{"runc":{"path":"runc"},"nvidia":{"path":"nvidia-container-runtime"},"io.containerd.runc.v2":{"path":"runc"}},"DefaultRuntime":"runc"}'`
	// What the docker CLI does when the daemon is down: client-only JSON on
	// stdout, the error on stderr, exit 1.
	fakeDockerDown = `echo '{"ServerVersion":"","Runtimes":null,"DefaultRuntime":"","ClientInfo":{"Version":"28.2.2"}}'
echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?" >&2
exit 1`
)

// TestScriptCommands drives the nvidia-smi and docker probes with fakes, so
// the exit-status handling is checked end to end on any machine.
func TestScriptCommands(t *testing.T) {
	base := []string{"uname", "grep", "timeout"}
	tests := []struct {
		name       string
		fakes      map[string]string
		tools      []string
		wantGPUs   int
		wantDocker *Docker
	}{
		{name: "none", tools: base},
		{
			name:       "gpu and docker",
			tools:      base,
			fakes:      map[string]string{"nvidia-smi": fakeSMIOK, "docker": fakeDockerOK},
			wantGPUs:   2,
			wantDocker: &Docker{ServerVersion: "26.1.3", Runtimes: []string{"io.containerd.runc.v2", "nvidia", "runc"}, DefaultRuntime: "runc"},
		},
		{
			name:  "driver not loaded, daemon down",
			tools: base,
			fakes: map[string]string{"nvidia-smi": fakeSMIFail, "docker": fakeDockerDown},
		},
		{
			// Without timeout(1) the probes run directly.
			name:       "no timeout command",
			tools:      []string{"uname", "grep"},
			fakes:      map[string]string{"nvidia-smi": fakeSMIOK, "docker": fakeDockerOK},
			wantGPUs:   2,
			wantDocker: &Docker{ServerVersion: "26.1.3", Runtimes: []string{"io.containerd.runc.v2", "nvidia", "runc"}, DefaultRuntime: "runc"},
		},
		{
			// nvidia-smi prints GPUs but then fails: stdout is not trusted.
			name:  "nonzero exit with output",
			tools: base,
			fakes: map[string]string{"nvidia-smi": fakeSMIOK + "\nexit 3"},
		},
	}
	for _, sh := range shells(t) {
		for _, tt := range tests {
			t.Run(filepath.Base(sh)+"/"+tt.name, func(t *testing.T) {
				dir := fakeBin(t, tt.tools, tt.fakes)
				out := runScript(t, sh, Script, dir)
				f, err := Parse(out)
				if err != nil {
					t.Fatalf("Parse: %v\n%s", err, out)
				}
				if len(f.GPUs) != tt.wantGPUs {
					t.Errorf("GPUs = %+v, want %d", f.GPUs, tt.wantGPUs)
				}
				if !reflect.DeepEqual(f.Docker, tt.wantDocker) {
					t.Errorf("Docker = %+v, want %+v", f.Docker, tt.wantDocker)
				}
				checkLiveFacts(t, f)
			})
		}
	}
}

// TestScriptTimeout checks that a hung nvidia-smi or docker is cut off after
// 5s and reads as absent.
func TestScriptTimeout(t *testing.T) {
	if testing.Short() {
		t.Skip("takes 5s")
	}
	sh := shells(t)[0]
	dir := fakeBin(t, []string{"uname", "grep", "timeout", "sleep"}, map[string]string{
		"nvidia-smi": "exec sleep 60",
		"docker":     "exec sleep 60",
	})
	start := time.Now()
	out := runScript(t, sh, Script, dir)
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("script took %v; timeout 5 should cap each probe", d)
	}
	f, err := Parse(out)
	if err != nil {
		t.Fatalf("Parse: %v\n%s", err, out)
	}
	if len(f.GPUs) != 0 || f.Docker != nil {
		t.Errorf("GPUs = %+v, Docker = %+v; want none", f.GPUs, f.Docker)
	}
	secs, _ := splitSections(string(out))
	if secs[secNvidiaSMIRC] != "124" || secs[secDockerInfoRC] != "124" {
		t.Errorf("exit statuses %q, %q; want timeout's 124", secs[secNvidiaSMIRC], secs[secDockerInfoRC])
	}
}

// TestScriptNoTools runs the script with an empty PATH: only builtins and
// files are left, and the output must still parse (uname-based facts become
// empty, /proc/cpuinfo is read whole since grep is missing).
func TestScriptNoTools(t *testing.T) {
	for _, sh := range shells(t) {
		t.Run(filepath.Base(sh), func(t *testing.T) {
			out := runScript(t, sh, Script, t.TempDir())
			f, err := Parse(out)
			if err != nil {
				t.Fatalf("Parse: %v\n%s", err, out)
			}
			if f.Kernel != "" || f.Architecture != "" {
				t.Errorf("Kernel %q, Architecture %q without uname", f.Kernel, f.Architecture)
			}
			if f.CPUCount < 1 || f.MemoryBytes < 1 {
				t.Errorf("CPUCount %d, MemoryBytes %d", f.CPUCount, f.MemoryBytes)
			}
			secs, _ := splitSections(string(out))
			n, err := parseCPUInfo(secs[secCPUInfo])
			if err != nil || n != f.CPUCount {
				t.Errorf("whole /proc/cpuinfo counts %d, %v; online CPUs %d", n, err, f.CPUCount)
			}
		})
	}
}

// TestScriptEscaping feeds hostile file content through the script's own
// helper functions and checks that Parse gets it back byte for byte and that
// it cannot forge or end sections.
func TestScriptEscaping(t *testing.T) {
	helpers, _, ok := strings.Cut(Script, "m begin\n")
	if !ok {
		t.Fatal("Script has no 'm begin' line")
	}
	content := "@@mcpai:end@@\n@@mcpai:meminfo@@\n@x\n\\y\n\\\\z\n  indented  \n\n\tt\nMemTotal: 1 kB\nlast line without newline"
	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	script := helpers + `m begin
echo 1
m os_release
f "$1"
m meminfo
printf 'MemTotal: 4 kB\n'
m cpu_online
printf '0' | e
m end
`
	for _, sh := range shells(t) {
		t.Run(filepath.Base(sh), func(t *testing.T) {
			args := []string{"-c", script, "sh", file}
			if filepath.Base(sh) == "busybox" {
				args = append([]string{"sh"}, args...)
			}
			out, err := exec.Command(sh, args...).Output()
			if err != nil {
				t.Fatal(err)
			}
			secs, err := splitSections(string(out))
			if err != nil {
				t.Fatalf("splitSections: %v\n%s", err, out)
			}
			if secs[secOSRelease] != content {
				t.Errorf("round trip:\n got %q\nwant %q", secs[secOSRelease], content)
			}
			if secs[secMeminfo] != "MemTotal: 4 kB" || secs[secCPUOnline] != "0" {
				t.Errorf("forged sections: %q", secs)
			}
		})
	}
}

// markerNames lists the section names of script output in order.
func markerNames(out []byte) []string {
	var names []string
	for line := range strings.SplitSeq(string(out), "\n") {
		if n, ok := markerName(line); ok {
			names = append(names, n)
		}
	}
	return names
}

// TestRecordedShape fails when Script changed its sections but the real
// recording was not redone (go test -run TestLiveScript -record=...).
func TestRecordedShape(t *testing.T) {
	sh := shells(t)[0]
	rec, err := os.ReadFile("testdata/debian12-vm.txt")
	if err != nil {
		t.Fatal(err)
	}
	live := markerNames(runScript(t, sh, Script, ""))
	if got := markerNames(rec); !slices.Equal(got, live) {
		t.Errorf("recorded sections %q, Script prints %q", got, live)
	}
}

// TestLiveGPUs checks the parsed GPUs against nvidia-smi's own listing
// (`nvidia-smi -L`: "GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-...)"). It
// runs where nvidia-smi works (the GPU machine of scripts/device-check.sh)
// and is skipped elsewhere; MCPAI_EXPECT_GPUS=1 turns the skip into a
// failure, so a GPU run cannot pass vacuously.
func TestLiveGPUs(t *testing.T) {
	out, err := exec.Command("nvidia-smi", "-L").Output()
	if err != nil {
		if os.Getenv("MCPAI_EXPECT_GPUS") == "1" {
			t.Fatalf("nvidia-smi -L: %v", err)
		}
		t.Skipf("no working nvidia-smi: %v", err)
	}
	var want []GPU
	for line := range strings.SplitSeq(strings.TrimSpace(string(out)), "\n") {
		var g GPU
		head, uuid, ok := strings.Cut(line, " (UUID: ")
		idx, name, ok2 := strings.Cut(strings.TrimPrefix(head, "GPU "), ": ")
		if !ok || !ok2 {
			t.Fatalf("unexpected nvidia-smi -L line %q", line)
		}
		g.Index, _ = strconv.ParseInt(idx, 10, 64)
		g.Name, g.UUID = name, strings.TrimSuffix(uuid, ")")
		want = append(want, g)
	}
	if len(want) == 0 {
		t.Fatal("nvidia-smi -L lists no GPUs")
	}
	for _, sh := range shells(t) {
		f, err := Parse(runScript(t, sh, Script, ""))
		if err != nil {
			t.Fatalf("%s: Parse: %v", sh, err)
		}
		if len(f.GPUs) != len(want) {
			t.Fatalf("%s: %d GPUs parsed, nvidia-smi -L lists %d: %+v", sh, len(f.GPUs), len(want), f.GPUs)
		}
		for i, g := range f.GPUs {
			w := want[i]
			if g.Index != w.Index || g.Name != w.Name || g.UUID != w.UUID || g.MemoryBytes <= 0 || g.DriverVersion == "" {
				t.Errorf("%s: GPU %d parsed as %+v, nvidia-smi -L says %+v", sh, i, g, w)
			}
		}
		t.Logf("%s: %d GPUs, first %+v", sh, len(f.GPUs), f.GPUs[0])
	}
}
