package hostfacts

import (
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestParseRecorded pins every field parsed from each recorded output.
// debian12-vm.txt is a real recording of the machine that wrote these tests
// (checked against /proc, /sys and uname when recorded); the others are
// recorded-style samples of hosts we cannot run on here.
func TestParseRecorded(t *testing.T) {
	tests := []struct {
		file string
		want Facts
	}{
		{
			file: "debian12-vm.txt",
			want: Facts{
				CPUCount:     2,
				MemoryBytes:  24684096 * 1024,
				NUMANodes:    1,
				Kernel:       "6.18.44-fc-v595",
				Architecture: "x86_64",
				OS:           OSRelease{ID: "debian", VersionID: "12", PrettyName: "Debian GNU/Linux 12 (bookworm)"},
				// loop0-7 and zram0 are skipped; virtio-blk reports rotational.
				Disks:        []Disk{{Name: "vda", Rotational: true, SizeBytes: 536870912 * 512}},
				THPMode:      "madvise",
				THPDefrag:    "madvise",
				CPUGovernors: []string{},
				GPUs:         []GPU{},
				// The docker CLI is installed but no daemon runs: exit 1
				// with client-only JSON.
				Docker: nil,
			},
		},
		{
			file: "ubuntu2204-h100x2.txt",
			want: Facts{
				CPUCount:     224,
				MemoryBytes:  2113389812 * 1024,
				NUMANodes:    2,
				Kernel:       "5.15.0-105-generic",
				Architecture: "x86_64",
				OS:           OSRelease{ID: "ubuntu", VersionID: "22.04", PrettyName: "Ubuntu 22.04.4 LTS"},
				Disks: []Disk{
					{Name: "md0", SizeBytes: 15002951680 * 512},
					{Name: "nvme0n1", SizeBytes: 3750748848 * 512},
					{Name: "nvme1n1", SizeBytes: 3750748848 * 512},
					{Name: "nvme2n1", SizeBytes: 7501476528 * 512},
					{Name: "nvme3n1", SizeBytes: 7501476528 * 512},
					{Name: "sda", Rotational: true, SizeBytes: 31251759104 * 512},
				},
				THPMode:         "never",
				THPDefrag:       "never",
				CPUGovernors:    []string{"performance", "powersave"},
				CurrentGovernor: "performance",
				GPUs: []GPU{
					{Index: 0, Name: "NVIDIA H100 80GB HBM3", MemoryBytes: 81559 << 20, DriverVersion: "550.54.15", UUID: "GPU-3f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"},
					{Index: 1, Name: "NVIDIA H100 80GB HBM3", MemoryBytes: 81559 << 20, DriverVersion: "550.54.15", UUID: "GPU-a7b6c5d4-e3f2-4a1b-9c8d-7e6f5a4b3c2d"},
				},
				Docker: &Docker{ServerVersion: "26.1.3", Runtimes: []string{"io.containerd.runc.v2", "nvidia", "runc"}, DefaultRuntime: "runc"},
			},
		},
		{
			// Recorded on the GPU machine by scripts/device-check.sh (a VM
			// with one H200); the GPU line is what nvidia-smi -L and
			// --query-gpu printed there in the same run.
			file: "ubuntu2404-h200-device.txt",
			want: Facts{
				CPUCount:     16,
				MemoryBytes:  135148564480,
				NUMANodes:    1,
				Kernel:       "6.18.44-fc-v657-gpu",
				Architecture: "x86_64",
				OS:           OSRelease{ID: "ubuntu", VersionID: "24.04", PrettyName: "Ubuntu 24.04.3 LTS"},
				Disks: []Disk{
					{Name: "vda", Rotational: true, SizeBytes: 274877906944},
					{Name: "vdb", Rotational: true, SizeBytes: 318332928},
				},
				THPMode:      "madvise",
				THPDefrag:    "madvise",
				CPUGovernors: []string{},
				GPUs: []GPU{
					{Index: 0, Name: "NVIDIA H200", MemoryBytes: 143771 << 20, DriverVersion: "580.159.04", UUID: "GPU-696740f9-1ff5-3498-ae46-80c5868cec43"},
				},
				Docker: nil,
			},
		},
		{
			file: "rocky93-epyc-cpufreq.txt",
			want: Facts{
				CPUCount:     32, // SMT siblings 16-31 and 48-63 offline
				MemoryBytes:  263597364 * 1024,
				NUMANodes:    2,
				Kernel:       "5.14.0-362.8.1.el9_3.x86_64",
				Architecture: "x86_64",
				OS:           OSRelease{ID: "rocky", VersionID: "9.3", PrettyName: "Rocky Linux 9.3 (Blue Onyx)"},
				Disks: []Disk{
					{Name: "nvme0n1", SizeBytes: 1875385008 * 512},
					{Name: "sda", Rotational: true, SizeBytes: 3907029168 * 512},
					{Name: "sdb", Rotational: true, SizeBytes: 3907029168 * 512},
					{Name: "sr0", Rotational: true}, // size unreadable ("-")
				},
				THPMode:         "always",
				THPDefrag:       "madvise",
				CPUGovernors:    []string{"conservative", "ondemand", "userspace", "powersave", "performance", "schedutil"},
				CurrentGovernor: "schedutil",
				GPUs:            []GPU{},
			},
		},
		{
			file: "ubuntu2404-g5g-nvidia-smi-failed.txt",
			want: Facts{
				CPUCount:     8,
				MemoryBytes:  32442300 * 1024,
				NUMANodes:    1,
				Kernel:       "6.8.0-1015-aws",
				Architecture: "aarch64",
				OS:           OSRelease{ID: "ubuntu", VersionID: "24.04", PrettyName: "Ubuntu 24.04.1 LTS"},
				Disks: []Disk{
					{Name: "nvme0n1", SizeBytes: 209715200 * 512},
					{Name: "nvme1n1", SizeBytes: 292968750 * 512},
				},
				THPMode:      "madvise",
				THPDefrag:    "madvise",
				CPUGovernors: []string{},
				GPUs:         []GPU{}, // nvidia-smi exit 9: driver not loaded
				Docker:       nil,     // daemon down: exit 1, ServerErrors
			},
		},
		{
			file: "alpine320-minimal.txt",
			want: Facts{
				CPUCount:     4, // no sysfs list: /proc/cpuinfo fallback
				MemoryBytes:  1012456 * 1024,
				NUMANodes:    1,
				Kernel:       "6.6.51-0-virt",
				Architecture: "x86_64",
				OS:           OSRelease{ID: "alpine", VersionID: "3.20.3", PrettyName: "Alpine Linux v3.20"},
				Disks:        []Disk{},
				CPUGovernors: []string{},
				GPUs:         []GPU{},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			out := readTestdata(t, tt.file)
			got, err := Parse(out)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse:\n got %+v\nwant %+v", got, tt.want)
				if got.Docker != nil || tt.want.Docker != nil {
					t.Errorf("Docker: got %+v, want %+v", got.Docker, tt.want.Docker)
				}
			}
			// A pty transport delivers CRLF; it must not change anything.
			crlf, err := Parse([]byte(strings.ReplaceAll(string(out), "\n", "\r\n")))
			if err != nil || !reflect.DeepEqual(crlf, got) {
				t.Errorf("CRLF: %+v, %v", crlf, err)
			}
		})
	}
}

// withSection returns out with section name's content replaced (or the
// section appended before end when it is missing).
func withSection(t testing.TB, out []byte, name, content string) []byte {
	t.Helper()
	var b strings.Builder
	skipping, done := false, false
	for line := range strings.SplitSeq(strings.TrimSuffix(string(out), "\n"), "\n") {
		n, isMarker := markerName(line)
		if isMarker {
			skipping = false
			if n == secEnd && !done {
				b.WriteString("@@mcpai:" + name + "@@\n")
				if content != "" {
					b.WriteString(content + "\n")
				}
				done = true
			}
		}
		if skipping {
			continue
		}
		b.WriteString(line + "\n")
		if isMarker && n == name {
			if content != "" {
				b.WriteString(content + "\n")
			}
			skipping, done = true, true
		}
	}
	if !done {
		t.Fatalf("no end marker to insert %s before", name)
	}
	return []byte(b.String())
}

// withoutSection drops a section, marker included.
func withoutSection(out []byte, name string) []byte {
	var b strings.Builder
	skipping := false
	for line := range strings.SplitSeq(strings.TrimSuffix(string(out), "\n"), "\n") {
		if n, ok := markerName(line); ok {
			skipping = n == name
		}
		if !skipping {
			b.WriteString(line + "\n")
		}
	}
	return []byte(b.String())
}

func TestParseVariants(t *testing.T) {
	base := readTestdata(t, "debian12-vm.txt")
	tests := []struct {
		name  string
		out   []byte
		check func(t *testing.T, f Facts)
	}{
		{
			name: "text after end is ignored",
			out:  append(append([]byte{}, base...), "logout\n@stray\n"...),
		},
		{
			name: "missing optional sections",
			out: func() []byte {
				o := base
				for _, s := range []string{secNodeOnline, secKernel, secArch, secOSRelease, secDisks, secTHPEnabled, secTHPDefrag, secGovernors, secGovernor, secNvidiaSMI, secNvidiaSMIRC, secDockerInfo, secDockerInfoRC, "cpuinfo"} {
					o = withoutSection(o, s)
				}
				return o
			}(),
			check: func(t *testing.T, f Facts) {
				want := Facts{CPUCount: 2, MemoryBytes: 24684096 * 1024, NUMANodes: 1, Disks: []Disk{}, CPUGovernors: []string{}, GPUs: []GPU{}}
				if !reflect.DeepEqual(f, want) {
					t.Errorf("got %+v, want %+v", f, want)
				}
			},
		},
		{
			name: "unknown sections are ignored",
			out:  withSection(t, base, "from_the_future", "x"),
		},
		{
			name: "nvidia-smi exit 0 with failure text",
			out:  withSection(t, withSection(t, base, secNvidiaSMI, "No devices were found"), secNvidiaSMIRC, "0"),
			check: func(t *testing.T, f Facts) {
				if len(f.GPUs) != 0 {
					t.Errorf("GPUs = %+v", f.GPUs)
				}
			},
		},
		{
			name: "nvidia-smi output without an exit status is parsed",
			out:  withSection(t, withSection(t, base, secNvidiaSMI, "0, Tesla T4, 15360, 535.183.01, GPU-1"), secNvidiaSMIRC, ""),
			check: func(t *testing.T, f Facts) {
				want := []GPU{{Index: 0, Name: "Tesla T4", MemoryBytes: 15360 << 20, DriverVersion: "535.183.01", UUID: "GPU-1"}}
				if !reflect.DeepEqual(f.GPUs, want) {
					t.Errorf("GPUs = %+v", f.GPUs)
				}
			},
		},
		{
			name: "docker exit 0 with error text",
			out:  withSection(t, withSection(t, base, secDockerInfo, "permission denied while trying to connect to the Docker daemon socket"), secDockerInfoRC, "0"),
			check: func(t *testing.T, f Facts) {
				if f.Docker != nil {
					t.Errorf("Docker = %+v", f.Docker)
				}
			},
		},
		{
			name: "docker timeout",
			out:  withSection(t, withSection(t, base, secDockerInfo, `{"ServerVersion":"24.0.7"`), secDockerInfoRC, "124"),
			check: func(t *testing.T, f Facts) {
				if f.Docker != nil {
					t.Errorf("Docker = %+v", f.Docker)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse(tt.out)
			if err != nil {
				t.Fatalf("Parse: %v\n%s", err, tt.out)
			}
			if tt.check != nil {
				tt.check(t, f)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	base := readTestdata(t, "debian12-vm.txt")
	tests := []struct {
		name    string
		out     []byte
		wantErr string
	}{
		{"empty", nil, "no @@mcpai:begin@@"},
		{"not script output", []byte("sh: 1: Syntax error\n"), "no @@mcpai:begin@@"},
		{"truncated", base[:len(base)/2], "truncated"},
		{"no end", withoutSection(base, secEnd), "truncated"},
		{"duplicate section", append(withoutSection(base, secEnd), "@@mcpai:kernel@@\nx\n@@mcpai:end@@\n"...), `duplicate section "kernel"`},
		{"second begin", append(withoutSection(base, secEnd), "@@mcpai:begin@@\n@@mcpai:end@@\n"...), `duplicate section "begin"`},
		{"unescaped @", withSection(t, base, secOSRelease, "@@mcpai:Bad@@"), "unescaped line"},
		{"bad version", withSection(t, base, secBegin, "2"), "unsupported format version"},
		{"no meminfo", withoutSection(base, secMeminfo), "section meminfo: no MemTotal"},
		{"meminfo without MemTotal", withSection(t, base, secMeminfo, "MemFree: 1 kB"), "section meminfo: no MemTotal"},
		{"bad cpu_online", withSection(t, base, secCPUOnline, "0-"), "section cpu_online: "},
		{"no cpu count", withSection(t, withSection(t, base, secCPUOnline, ""), secCPUInfo, ""), "section cpuinfo: no online CPU list"},
		{"bad node_online", withSection(t, base, secNodeOnline, "1,0"), "section node_online: "},
		{"bad kernel", withSection(t, base, secKernel, "6.1.0\n6.2.0"), "section kernel: "},
		{"bad arch", withSection(t, base, secArch, "x86 64"), "section arch: "},
		{"bad os_release", withSection(t, base, secOSRelease, `ID="debian`), "section os_release: "},
		{"escaped @ is still content", withSection(t, base, secOSRelease, "\\@x"), "section os_release: "},
		{"bad disks", withSection(t, base, secDisks, "vda 2 10"), "section disks: "},
		{"bad thp_enabled", withSection(t, base, secTHPEnabled, "always madvise never"), "section thp_enabled: "},
		{"bad thp_defrag", withSection(t, base, secTHPDefrag, "[always] [never]"), "section thp_defrag: "},
		{"bad governors", withSection(t, base, secGovernors, "performance performance"), "section cpufreq_governors: "},
		{"bad governor", withSection(t, base, secGovernor, "a b"), "section cpufreq_governor: "},
		{"bad nvidia_smi", withSection(t, withSection(t, base, secNvidiaSMI, "0, H100, 80GB, 550, GPU-1"), secNvidiaSMIRC, "0"), "section nvidia_smi: "},
		{"bad nvidia_smi_rc", withSection(t, base, secNvidiaSMIRC, "-1"), "section nvidia_smi_rc: "},
		{"bad docker_info", withSection(t, withSection(t, base, secDockerInfo, `{"ServerVersion":"24.0.7"`), secDockerInfoRC, "0"), "section docker_info: "},
		{"bad docker_info_rc", withSection(t, base, secDockerInfoRC, "one"), "section docker_info_rc: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse(tt.out)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Parse error = %v, want one containing %q", err, tt.wantErr)
			}
			if !reflect.DeepEqual(f, Facts{}) {
				t.Errorf("Parse returned %+v with its error, want zero Facts", f)
			}
		})
	}
}

func TestSplitSections(t *testing.T) {
	out := "junk\n@@mcpai:begin@@\n1\n@@mcpai:a@@\n\\@x\n\\\\y\n\n  z \n@@mcpai:b@@\n@@mcpai:end@@\nafter\n"
	secs, err := splitSections(out)
	if err != nil {
		t.Fatal(err)
	}
	want := sections{"begin": "1", "a": "@x\n\\y\n\n  z ", "b": "", "end": ""}
	if !reflect.DeepEqual(secs, want) {
		t.Errorf("got %q, want %q", secs, want)
	}
}

func TestMarkerName(t *testing.T) {
	for _, tt := range []struct {
		line string
		name string
		ok   bool
	}{
		{"@@mcpai:meminfo@@", "meminfo", true},
		{"@@mcpai:nvidia_smi_rc@@", "nvidia_smi_rc", true},
		{"@@mcpai:@@", "", false},
		{"@@mcpai:Meminfo@@", "", false},
		{"@@mcpai:a b@@", "", false},
		{"@@mcpai:a@@ ", "", false},
		{" @@mcpai:a@@", "", false},
		{"@@@mcpai:a@@", "", false},
		{"@@mcpai:a@", "", false},
		{"@@mcpai@@", "", false},
		{"@@mcpai:" + strings.Repeat("a", maxSectionName+1) + "@@", "", false},
	} {
		name, ok := markerName(tt.line)
		if name != tt.name || ok != tt.ok {
			t.Errorf("markerName(%q) = %q, %v; want %q, %v", tt.line, name, ok, tt.name, tt.ok)
		}
	}
}

// TestParseLargeSections guards against superlinear parsing: output comes
// from a remote host, so a huge or hostile section must not stall Parse.
func TestParseLargeSections(t *testing.T) {
	base := readTestdata(t, "debian12-vm.txt")
	const n = 200_000
	var govs, gpus, disks, cpus strings.Builder
	for i := range n {
		id := strconv.Itoa(i)
		govs.WriteString("g" + id + " ")
		gpus.WriteString(id + ", GPU, 1, 1, GPU-" + id + "\n")
		disks.WriteString("sd" + id + " 0 1\n")
		cpus.WriteString(id + ",")
	}
	out := withSection(t, base, secGovernors, govs.String())
	out = withSection(t, out, secNvidiaSMI, gpus.String())
	out = withSection(t, out, secNvidiaSMIRC, "0")
	out = withSection(t, out, secDisks, disks.String())
	out = withSection(t, out, secCPUOnline, strings.TrimSuffix(cpus.String(), ","))
	start := time.Now()
	f, err := Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Parse of %d bytes took %v", len(out), d)
	}
	if len(f.CPUGovernors) != n || len(f.GPUs) != n || len(f.Disks) != n || f.CPUCount != n {
		t.Errorf("counts: %d governors, %d GPUs, %d disks, %d CPUs", len(f.CPUGovernors), len(f.GPUs), len(f.Disks), f.CPUCount)
	}
}
