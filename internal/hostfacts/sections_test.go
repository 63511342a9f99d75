package hostfacts

import (
	"reflect"
	"strings"
	"testing"
)

// checkErr fails unless err matches wantErr ("" means no error expected).
func checkErr(t *testing.T, err error, wantErr string) bool {
	t.Helper()
	switch {
	case wantErr == "" && err != nil:
		t.Errorf("unexpected error: %v", err)
		return false
	case wantErr != "" && err == nil:
		t.Errorf("no error, want one containing %q", wantErr)
		return false
	case wantErr != "" && !strings.Contains(err.Error(), wantErr):
		t.Errorf("error %q, want one containing %q", err, wantErr)
		return false
	}
	return wantErr == ""
}

func TestParseCPUList(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr string
	}{
		{in: "0", want: 1},
		{in: "0-3", want: 4},
		{in: "0-3,8-11", want: 8},
		{in: "0-15,32-47", want: 32},
		{in: "0,2,4", want: 3},
		{in: "0-0", want: 1},
		{in: " 0-1\n", want: 2},
		{in: "1048575", want: 1},
		{in: "0-1048575", want: 1 << 20},
		{in: "", wantErr: "empty range list"},
		{in: "-", wantErr: "empty id"},
		{in: "0-", wantErr: "empty id"},
		{in: "-3", wantErr: "empty id"},
		{in: "0,,1", wantErr: "empty id"},
		{in: "0-3,", wantErr: "empty id"},
		{in: ",0", wantErr: "empty id"},
		{in: "3-1", wantErr: "reversed range"},
		{in: "1,0", wantErr: "out of order"},
		{in: "0-3,2-5", wantErr: "overlaps"},
		{in: "0-3,3", wantErr: "overlaps"},
		{in: "0,0", wantErr: "overlaps"},
		{in: "a", wantErr: "bad id"},
		{in: "0 - 3", wantErr: "bad id"},
		{in: "0-1 4", wantErr: "bad id"},
		{in: "0-1\n4", wantErr: "bad id"},
		{in: "+1", wantErr: "bad id"},
		{in: "0x1", wantErr: "bad id"},
		{in: "0-1-2", wantErr: "bad id"},
		{in: "1048576", wantErr: "bad id"},
		{in: "0-99999999999999999999", wantErr: "bad id"},
	}
	for _, tt := range tests {
		got, err := parseCPUList(tt.in)
		if checkErr(t, err, tt.wantErr) && got != tt.want {
			t.Errorf("parseCPUList(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

const x86CPUInfo = `processor	: 0
vendor_id	: GenuineIntel
cpu family	: 6
model name	: Intel(R) Xeon(R) Platinum 8480C
flags		: fpu vme de pse tsc msr pae mce cx8 apic
power management:

processor	: 1
vendor_id	: GenuineIntel
model name	: Intel(R) Xeon(R) Platinum 8480C

`

const s390xCPUInfo = `vendor_id       : IBM/S390
# processors    : 2
bogomips per cpu: 3241.00
features	: esan3 zarch stfle msa ldisp eimm dfp edat etf3eh highgprs te vx sie
processor 0: version = FF,  identification = 0133E8,  machine = 2964
processor 1: version = FF,  identification = 0133E8,  machine = 2964
`

func TestParseCPUInfo(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    int64
		wantErr string
	}{
		{name: "empty", in: "", want: 0},
		{name: "grep output", in: "processor\t: 0\nprocessor\t: 1\nprocessor\t: 2", want: 3},
		{name: "x86 whole file", in: x86CPUInfo, want: 2},
		{name: "s390x", in: s390xCPUInfo, want: 2},
		{name: "other keys", in: "processors : 4\nprocessor_id: 3\nmodel name : processor", want: 0},
		{name: "no colon", in: "processor\t: 0\nprocessor 1", wantErr: "without ':'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseCPUInfo(tt.in)
			if checkErr(t, err, tt.wantErr) && got != tt.want {
				t.Errorf("got %d, want %d", got, tt.want)
			}
		})
	}
}

func TestParseMeminfo(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    int64
		wantErr string
	}{
		{name: "real", in: "MemTotal:       24684096 kB\nMemFree:        24032512 kB\n", want: 24684096 * 1024},
		{name: "not first", in: "MemFree: 1 kB\nMemTotal: 2 kB", want: 2048},
		{name: "max", in: "MemTotal: 9007199254740991 kB", want: 9007199254740991 * 1024},
		{name: "empty", in: "", wantErr: "no MemTotal"},
		{name: "missing", in: "MemFree: 1 kB\nMemAvailable: 1 kB", wantErr: "no MemTotal"},
		{name: "indented key", in: " MemTotal: 1 kB", wantErr: "no MemTotal"},
		{name: "no unit", in: "MemTotal: 12", wantErr: "want \"<number> kB\""},
		{name: "wrong unit", in: "MemTotal: 12 MB", wantErr: "want \"<number> kB\""},
		{name: "extra field", in: "MemTotal: 12 kB x", wantErr: "want \"<number> kB\""},
		{name: "not a number", in: "MemTotal: x kB", wantErr: "not a valid number"},
		{name: "negative", in: "MemTotal: -1 kB", wantErr: "not a valid number"},
		{name: "overflow", in: "MemTotal: 9007199254740992 kB", wantErr: "not a valid number"},
		{name: "zero", in: "MemTotal: 0 kB", wantErr: "is 0 kB"},
		{name: "duplicate", in: "MemTotal: 1 kB\nMemTotal: 1 kB", wantErr: "duplicate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseMeminfo(tt.in)
			if checkErr(t, err, tt.wantErr) && got != tt.want {
				t.Errorf("got %d, want %d", got, tt.want)
			}
		})
	}
}

func TestParseWord(t *testing.T) {
	tests := []struct {
		in, want, wantErr string
	}{
		{in: "", want: ""},
		{in: "\n", want: ""},
		{in: "6.1.0-18-amd64\n", want: "6.1.0-18-amd64"},
		{in: "  schedutil  ", want: "schedutil"},
		{in: "a b", wantErr: "single word"},
		{in: "a\nb", wantErr: "single word"},
		{in: "a\tb", wantErr: "single word"},
	}
	for _, tt := range tests {
		got, err := parseWord(tt.in)
		if checkErr(t, err, tt.wantErr) && got != tt.want {
			t.Errorf("parseWord(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseOSRelease(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    OSRelease
		wantErr string
	}{
		{name: "empty", in: ""},
		{
			name: "debian",
			in:   "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\n",
			want: OSRelease{ID: "debian", VersionID: "12", PrettyName: "Debian GNU/Linux 12 (bookworm)"},
		},
		{
			name: "comments blank lines and spaces",
			in:   "# comment\n\n  ID=fedora  \nVERSION_ID=40\n",
			want: OSRelease{ID: "fedora", VersionID: "40"},
		},
		{
			name: "single quotes are literal",
			in:   `PRETTY_NAME='My \"OS\" $x'`,
			want: OSRelease{PrettyName: `My \"OS\" $x`},
		},
		{
			name: "double quote escapes",
			in:   `PRETTY_NAME="a \"b\" \\ \$ \` + "`" + ` \n"`,
			want: OSRelease{PrettyName: `a "b" \ $ ` + "`" + ` \n`},
		},
		{name: "empty values", in: "ID=\nVERSION_ID=\"\"\nPRETTY_NAME=''"},
		{name: "later wins", in: "ID=a\nID=b", want: OSRelease{ID: "b"}},
		{name: "value with =", in: `PRETTY_NAME="a=b"`, want: OSRelease{PrettyName: "a=b"}},
		{name: "no equals", in: "ID debian", wantErr: "not KEY=value"},
		{name: "bad key", in: "1D=debian", wantErr: "not KEY=value"},
		{name: "space in key", in: "I D=debian", wantErr: "not KEY=value"},
		{name: "empty key", in: "=debian", wantErr: "not KEY=value"},
		{name: "unquoted space", in: "PRETTY_NAME=Debian 12", wantErr: "special characters"},
		{name: "unquoted dollar", in: "ID=$x", wantErr: "special characters"},
		{name: "unterminated double", in: `ID="debian`, wantErr: "unterminated double quote"},
		{name: "escaped final quote", in: `ID="debian\"`, wantErr: "unterminated double quote"},
		{name: "unterminated single", in: `ID='debian`, wantErr: "unterminated single quote"},
		{name: "text after double", in: `ID="deb"ian`, wantErr: "text after closing quote"},
		{name: "text after single", in: `ID='deb'ian`, wantErr: "text after closing quote"},
		{name: "multi-line value", in: "PRETTY_NAME=\"a\nb\"", wantErr: "unterminated double quote"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseOSRelease(tt.in)
			if checkErr(t, err, tt.wantErr) && got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseDisks(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []Disk
		wantErr string
	}{
		{name: "empty", in: "", want: []Disk{}},
		{name: "only virtual", in: "loop0 0 0\nram0 0 8192\nzram0 0 0", want: []Disk{}},
		{
			name: "sorted and filtered",
			in:   "sdb 1 100\nnvme0n1 0 2\nloop3 0 5\nsda 1 -\nsr0 - -\ndm-0 0 8\n",
			want: []Disk{
				{Name: "dm-0", SizeBytes: 8 * 512},
				{Name: "nvme0n1", SizeBytes: 1024},
				{Name: "sda", Rotational: true},
				{Name: "sdb", Rotational: true, SizeBytes: 100 * 512},
				{Name: "sr0"},
			},
		},
		{name: "max size", in: "sda 0 18014398509481983", want: []Disk{{Name: "sda", SizeBytes: 18014398509481983 * 512}}},
		{name: "too few fields", in: "sda 1", wantErr: "want \"name rotational size\""},
		{name: "too many fields", in: "sda 1 2 3", wantErr: "want \"name rotational size\""},
		{name: "bad rotational", in: "sda 2 10", wantErr: "rotational \"2\""},
		{name: "bad size", in: "sda 1 1G", wantErr: "not a valid sector count"},
		{name: "negative size", in: "sda 1 -1", wantErr: "not a valid sector count"},
		{name: "size overflow", in: "sda 1 18014398509481984", wantErr: "not a valid sector count"},
		{name: "duplicate", in: "sda 1 1\nsda 1 1", wantErr: "duplicate device"},
		{name: "path in name", in: "../sda 1 1", wantErr: "bad device name"},
		{name: "malformed skipped device", in: "loop0 x 0", wantErr: "rotational"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseDisks(tt.in)
			if checkErr(t, err, tt.wantErr) && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseTHP(t *testing.T) {
	tests := []struct {
		in, want, wantErr string
	}{
		{in: "", want: ""},
		{in: "always [madvise] never\n", want: "madvise"},
		{in: "[always] madvise never", want: "always"},
		{in: "always madvise [never]", want: "never"},
		{in: "always defer defer+madvise [madvise] never", want: "madvise"},
		{in: "always [defer+madvise] madvise never", want: "defer+madvise"},
		{in: "always madvise never", wantErr: "no [active] choice"},
		{in: "[always] [never]", wantErr: "more than one"},
		{in: "[] never", wantErr: "bad choice"},
		{in: "[always never", wantErr: "bad choice"},
		{in: "always] never", wantErr: "bad choice"},
		{in: "[[always]] never", wantErr: "bad choice"},
		{in: "[al]ways never", wantErr: "bad choice"},
		{in: "[always]\nnever", wantErr: "one line"},
	}
	for _, tt := range tests {
		got, err := parseTHP(tt.in)
		if checkErr(t, err, tt.wantErr) && got != tt.want {
			t.Errorf("parseTHP(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseGovernors(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr string
	}{
		{in: "", want: []string{}},
		{in: " \n", want: []string{}},
		{in: "performance powersave\n", want: []string{"performance", "powersave"}},
		{in: "conservative ondemand userspace powersave performance schedutil ", want: []string{"conservative", "ondemand", "userspace", "powersave", "performance", "schedutil"}},
		{in: "performance powersave performance", wantErr: "duplicate governor"},
		{in: "performance\npowersave", wantErr: "one line"},
	}
	for _, tt := range tests {
		got, err := parseGovernors(tt.in)
		if checkErr(t, err, tt.wantErr) && !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseGovernors(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseNvidiaSMI(t *testing.T) {
	h100 := func(i int64, uuid string) GPU {
		return GPU{Index: i, Name: "NVIDIA H100 80GB HBM3", MemoryBytes: 81559 << 20, DriverVersion: "550.54.15", UUID: uuid}
	}
	tests := []struct {
		name    string
		in      string
		want    []GPU
		wantErr string
	}{
		{name: "empty", in: "", want: []GPU{}},
		{
			name: "two GPUs",
			in:   "0, NVIDIA H100 80GB HBM3, 81559, 550.54.15, GPU-a\n1, NVIDIA H100 80GB HBM3, 81559, 550.54.15, GPU-b\n",
			want: []GPU{h100(0, "GPU-a"), h100(1, "GPU-b")},
		},
		{
			name: "sorted by index",
			in:   "1, NVIDIA H100 80GB HBM3, 81559, 550.54.15, GPU-b\n0, NVIDIA H100 80GB HBM3, 81559, 550.54.15, GPU-a",
			want: []GPU{h100(0, "GPU-a"), h100(1, "GPU-b")},
		},
		{
			name: "comma in name",
			in:   "0, Acme, Inc. Accelerator, 1024, 1.0, GPU-x",
			want: []GPU{{Index: 0, Name: "Acme, Inc. Accelerator", MemoryBytes: 1 << 30, DriverVersion: "1.0", UUID: "GPU-x"}},
		},
		{
			name: "not available values",
			in:   "0, NVIDIA GH200 480GB, [N/A], [N/A], [Not Supported]",
			want: []GPU{{Index: 0, Name: "NVIDIA GH200 480GB"}},
		},
		{
			name: "driver not loaded",
			in:   "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running.\n",
			want: []GPU{},
		},
		{name: "no devices", in: "No devices were found", want: []GPU{}},
		{name: "nvml", in: "Failed to initialize NVML: Driver/library version mismatch\nNVML library version: 550.54", want: []GPU{}},
		{name: "too few fields", in: "0, H100, 81559, 550.54.15", wantErr: "want 5 comma-separated fields"},
		{name: "header line", in: "index, name, memory.total [MiB], driver_version, uuid", wantErr: "bad index"},
		{name: "negative index", in: "-1, H100, 1, 1, GPU-1", wantErr: "bad index"},
		{name: "empty name", in: "0, , 1, 1, GPU-1", wantErr: "empty name"},
		{name: "units left in", in: "0, H100, 81559 MiB, 550, GPU-1", wantErr: "bad memory.total"},
		{name: "memory overflow", in: "0, H100, 8796093022208, 550, GPU-1", wantErr: "bad memory.total"},
		{name: "duplicate index", in: "0, H100, 1, 1, GPU-1\n0, H100, 1, 1, GPU-2", wantErr: "duplicate GPU index"},
		{name: "garbage after GPUs", in: "0, H100, 1, 1, GPU-1\nSegmentation fault", wantErr: "want 5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseNvidiaSMI(tt.in)
			if checkErr(t, err, tt.wantErr) && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseDockerInfo(t *testing.T) {
	gpuHost, err := splitSections(string(readTestdata(t, "ubuntu2204-h100x2.txt")))
	if err != nil {
		t.Fatal(err)
	}
	daemonDown, err := splitSections(string(readTestdata(t, "debian12-vm.txt")))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		in      string
		want    *Docker
		wantErr string
	}{
		{name: "empty", in: ""},
		{
			name: "recorded GPU host",
			in:   gpuHost[secDockerInfo],
			want: &Docker{ServerVersion: "26.1.3", Runtimes: []string{"io.containerd.runc.v2", "nvidia", "runc"}, DefaultRuntime: "runc"},
		},
		{name: "recorded daemon down", in: daemonDown[secDockerInfo]},
		{name: "error text", in: "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?"},
		{name: "template error", in: "template: :1:2: executing \"\" at <json .>: error calling json"},
		{
			name: "no runtimes",
			in:   `{"ServerVersion":"20.10.24","Runtimes":null,"DefaultRuntime":""}`,
			want: &Docker{ServerVersion: "20.10.24", Runtimes: []string{}},
		},
		{
			name: "pretty printed",
			in:   "{\n  \"ServerVersion\": \"27.0.1\",\n  \"Runtimes\": {\"crun\": {}, \"runc\": {}},\n  \"DefaultRuntime\": \"crun\"\n}\n",
			want: &Docker{ServerVersion: "27.0.1", Runtimes: []string{"crun", "runc"}, DefaultRuntime: "crun"},
		},
		{name: "truncated", in: `{"ServerVersion":"24.0.7","Runtimes":{`, wantErr: "invalid JSON"},
		{name: "wrong type", in: `{"ServerVersion":24}`, wantErr: "invalid JSON"},
		{name: "runtimes not an object", in: `{"ServerVersion":"24.0.7","Runtimes":["runc"]}`, wantErr: "invalid JSON"},
		{name: "trailing garbage", in: `{"ServerVersion":"24.0.7"} x`, wantErr: "invalid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseDockerInfo(tt.in)
			if checkErr(t, err, tt.wantErr) && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestCommandSucceeded(t *testing.T) {
	tests := []struct {
		in      string
		want    bool
		wantErr string
	}{
		{in: "", want: true},
		{in: "0\n", want: true},
		{in: "1", want: false},
		{in: "124", want: false},
		{in: "255", want: false},
		{in: "256", wantErr: "not a number"},
		{in: "-1", wantErr: "not a number"},
		{in: "ok", wantErr: "not a number"},
	}
	for _, tt := range tests {
		got, err := commandSucceeded(tt.in)
		if checkErr(t, err, tt.wantErr) && got != tt.want {
			t.Errorf("commandSucceeded(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
