package pgtune

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// selectorCase is one of PGTune's own test expectations (le0pard/pgtune's
// selector tests, 2026-04 release), one setting each, memory in kB.
// testdata/selector_cases.json is a copy of shared/pgtune/selector_cases.json,
// kept in the repository so a clean clone can run it.
type selectorCase struct {
	ID    string `json:"id"`
	Value string `json:"value"`
	Input struct {
		DBVersion       int    `json:"dbVersion"`
		OSType          string `json:"osType"`
		DBType          string `json:"dbType"`
		TotalMemory     int    `json:"totalMemory"`
		TotalMemoryUnit string `json:"totalMemoryUnit"`
		CPUNum          int    `json:"cpuNum"`
		ConnectionNum   int    `json:"connectionNum"`
		HDType          string `json:"hdType"`
		DBSize          string `json:"dbSize"`
	} `json:"input"`
	Match    string          `json:"match"`
	Expected json.RawMessage `json:"expected"`
}

// groups are the cases whose value names several settings that PGTune
// emits together (or not at all).
var groups = map[string][]string{
	"parallel_settings": {"max_worker_processes", "max_parallel_workers_per_gather", "max_parallel_workers", "max_parallel_maintenance_workers"},
	"wal_level":         {"wal_level", "max_wal_senders"},
}

var memoryKeys = []string{
	"shared_buffers", "effective_cache_size", "maintenance_work_mem", "wal_buffers",
	"work_mem", "autovacuum_work_mem", "min_wal_size", "max_wal_size",
}

// alwaysKeys come out for every valid input.
var alwaysKeys = []string{
	"max_connections", "shared_buffers", "effective_cache_size", "maintenance_work_mem",
	"checkpoint_completion_target", "wal_buffers", "default_statistics_target", "random_page_cost",
	"work_mem", "huge_pages", "wal_compression", "min_wal_size", "max_wal_size",
}

func loadSelectorCases(t *testing.T) []selectorCase {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "selector_cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var cases []selectorCase
	if err := dec.Decode(&cases); err != nil {
		t.Fatal(err)
	}
	return cases
}

// caseInput builds the Input of a case. Fields a case leaves out take the
// "when absent" defaults, which Compute applies to empty values. The two
// required ones take the values PGTune's tests start from: db_version 18
// (its DEFAULT_DB_VERSION) and, where no case reads a memory value, 16GB.
func (c selectorCase) caseInput() Input {
	in := Input{
		DBVersion:     c.Input.DBVersion,
		OSType:        c.Input.OSType,
		DBType:        c.Input.DBType,
		TotalMemory:   "16GB",
		CPUNum:        c.Input.CPUNum,
		ConnectionNum: c.Input.ConnectionNum,
		HDType:        c.Input.HDType,
		DBSize:        c.Input.DBSize,
	}
	if in.DBVersion == 0 {
		in.DBVersion = 18
	}
	if c.Input.TotalMemory != 0 {
		in.TotalMemory = strconv.Itoa(c.Input.TotalMemory) + c.Input.TotalMemoryUnit
	}
	return in
}

func TestSelectorCases(t *testing.T) {
	cases := loadSelectorCases(t)
	if len(cases) != 67 {
		t.Fatalf("loaded %d cases, want 67", len(cases))
	}
	for _, c := range cases {
		t.Run(c.ID+"_"+c.Value, func(t *testing.T) {
			if c.Input.TotalMemory == 0 && slices.Contains(memoryKeys, c.Value) {
				t.Fatal("a memory case without totalMemory: the 16GB stand-in would decide it")
			}
			got, err := Compute(c.caseInput())
			if err != nil {
				t.Fatal(err)
			}
			if keys, ok := groups[c.Value]; ok {
				checkGroup(t, got, keys, c.Expected)
				return
			}
			checkValue(t, got, c.Value, c.Match, c.Expected)
		})
	}
}

// checkGroup checks the listed settings' values and that the group's other
// settings are absent.
func checkGroup(t *testing.T, got map[string]string, keys []string, expected json.RawMessage) {
	t.Helper()
	var want []struct {
		Key   string `json:"key"`
		Value any    `json:"value"`
	}
	if err := json.Unmarshal(expected, &want); err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, w := range want {
		listed[w.Key] = true
		raw, _ := json.Marshal(w.Value)
		checkValue(t, got, w.Key, "equal", raw)
	}
	for _, k := range keys {
		if v, ok := got[k]; ok && !listed[k] {
			t.Errorf("%s = %q, want it absent", k, v)
		}
	}
}

// checkValue compares one setting: null means absent, memory compares in
// kB, other numbers by PGTune's printing, strings as they are.
func checkValue(t *testing.T, got map[string]string, key, match string, expected json.RawMessage) {
	t.Helper()
	v, present := got[key]
	var want any
	if err := json.Unmarshal(expected, &want); err != nil {
		t.Fatal(err)
	}
	if want == nil {
		if present {
			t.Errorf("%s = %q, want it absent", key, v)
		}
		return
	}
	if !present {
		t.Fatalf("%s absent, want %v", key, want)
	}
	switch w := want.(type) {
	case string:
		if match != "equal" || v != w {
			t.Errorf("%s = %q, want %s %q", key, v, match, w)
		}
	case float64:
		var n float64
		if slices.Contains(memoryKeys, key) {
			kB, err := ParseMemory(v)
			if err != nil {
				t.Fatalf("%s = %q: %v", key, v, err)
			}
			n = float64(kB)
		} else {
			if want := strconv.FormatFloat(w, 'f', -1, 64); match == "equal" && v != want {
				t.Errorf("%s = %q, want %q", key, v, want)
			}
			var err error
			if n, err = strconv.ParseFloat(v, 64); err != nil {
				t.Fatalf("%s = %q: %v", key, v, err)
			}
		}
		switch match {
		case "equal":
			if n != w {
				t.Errorf("%s = %q, want %v", key, v, w)
			}
		case "greater_than":
			if n <= w {
				t.Errorf("%s = %q, want more than %v", key, v, w)
			}
		default:
			t.Fatalf("unknown match %q", match)
		}
	default:
		t.Fatalf("unexpected expectation %s", expected)
	}
}

// TestComputeFull pins whole outputs, string for string, worked out by hand
// from FORMULAS.md.
func TestComputeFull(t *testing.T) {
	tests := []struct {
		name string
		in   Input
		want map[string]string
	}{
		{
			name: "web on linux, 16GB, 8 CPUs",
			in:   Input{DBVersion: 18, OSType: "linux", DBType: "web", TotalMemory: "16GB", CPUNum: 8, HDType: "ssd", DBSize: "mid_ram"},
			want: map[string]string{
				"max_connections":                  "200",
				"shared_buffers":                   "4GB",
				"effective_cache_size":             "12GB",
				"maintenance_work_mem":             "1GB",
				"checkpoint_completion_target":     "0.9",
				"wal_buffers":                      "16MB",
				"default_statistics_target":        "100",
				"random_page_cost":                 "1.1",
				"effective_io_concurrency":         "200",
				"work_mem":                         "20164kB", // 12582912 / (208·3) = 20164.3
				"huge_pages":                       "try",
				"jit":                              "off",
				"wal_compression":                  "lz4",
				"io_method":                        "io_uring",
				"min_wal_size":                     "1GB",
				"max_wal_size":                     "4GB",
				"max_worker_processes":             "8",
				"max_parallel_workers_per_gather":  "4",
				"max_parallel_workers":             "8",
				"max_parallel_maintenance_workers": "4",
			},
		},
		{
			name: "desktop on windows, PostgreSQL 10, 2GB, hdd, data larger than memory",
			in:   Input{DBVersion: 10, OSType: "windows", DBType: "desktop", TotalMemory: "2GB", HDType: "hdd", DBSize: "greater_ram"},
			want: map[string]string{
				"max_connections":              "20",
				"shared_buffers":               "128MB",
				"effective_cache_size":         "512MB",
				"maintenance_work_mem":         "128MB",
				"checkpoint_completion_target": "0.9",
				"wal_buffers":                  "3932kB", // 3% of 131072
				"default_statistics_target":    "100",
				"random_page_cost":             "4",
				"work_mem":                     "4MB", // floor(3900·0.9) = 3510, raised to 4096
				"huge_pages":                   "off",
				"wal_compression":              "on",
				"min_wal_size":                 "100MB",
				"max_wal_size":                 "2GB",
				"wal_level":                    "minimal",
				"max_wal_senders":              "0",
			},
		},
		{
			name: "dw on mac, PostgreSQL 18, 1TB, 64 CPUs, nvme",
			in:   Input{DBVersion: 18, OSType: "mac", DBType: "dw", TotalMemory: "1TB", CPUNum: 64, ConnectionNum: 40, HDType: "nvme"},
			want: map[string]string{
				"max_connections":                  "40",
				"shared_buffers":                   "256GB",
				"effective_cache_size":             "768GB",
				"maintenance_work_mem":             "8GB",
				"checkpoint_completion_target":     "0.9",
				"wal_buffers":                      "16MB",
				"default_statistics_target":        "500",
				"random_page_cost":                 "4",
				"work_mem":                         "1290555kB", // 805306368 / (104·3) / 2
				"huge_pages":                       "off",
				"wal_compression":                  "lz4",
				"autovacuum_max_workers":           "5",
				"autovacuum_work_mem":              "2GB",
				"io_method":                        "worker",
				"io_workers":                       "16",
				"min_wal_size":                     "4GB",
				"max_wal_size":                     "16GB",
				"max_worker_processes":             "64",
				"max_parallel_workers_per_gather":  "32",
				"max_parallel_workers":             "64",
				"max_parallel_maintenance_workers": "4",
			},
		},
		{
			name: "mixed on linux, PostgreSQL 11, the 512MB minimum, 3 CPUs, san",
			in:   Input{DBVersion: 11, DBType: "mixed", TotalMemory: "512MB", CPUNum: 3, HDType: "san", DBSize: "less_ram"},
			want: map[string]string{
				"max_connections":              "100",
				"shared_buffers":               "128MB",
				"effective_cache_size":         "384MB",
				"maintenance_work_mem":         "32MB",
				"checkpoint_completion_target": "0.9",
				"wal_buffers":                  "3932kB",
				"default_statistics_target":    "100",
				"random_page_cost":             "1.1",
				"effective_io_concurrency":     "300",
				"work_mem":                     "4MB",
				"huge_pages":                   "off",
				"wal_compression":              "on",
				"min_wal_size":                 "1GB",
				"max_wal_size":                 "4GB",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Compute(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			keys := map[string]bool{}
			for k := range got {
				keys[k] = true
			}
			for k := range tt.want {
				keys[k] = true
			}
			for _, k := range slices.Sorted(maps.Keys(keys)) {
				g, inGot := got[k]
				w, inWant := tt.want[k]
				if g != w || inGot != inWant {
					t.Errorf("%s = %q (present %v), want %q (present %v)", k, g, inGot, w, inWant)
				}
			}
		})
	}
}

func TestComputeDefaults(t *testing.T) {
	bare, err := Compute(Input{DBVersion: 17, TotalMemory: "16GB"})
	if err != nil {
		t.Fatal(err)
	}
	explicit, err := Compute(Input{DBVersion: 17, OSType: "linux", DBType: "web", TotalMemory: "16GB", HDType: "ssd", DBSize: "mid_ram"})
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(bare, explicit) {
		t.Errorf("absent inputs gave %v, the documented defaults %v", bare, explicit)
	}
	if bare["max_connections"] != "200" {
		t.Errorf("max_connections = %q, want web's 200", bare["max_connections"])
	}
	// Without cpu_num nothing that depends on it comes out.
	for _, k := range []string{"max_worker_processes", "max_parallel_workers_per_gather", "max_parallel_workers", "max_parallel_maintenance_workers", "autovacuum_max_workers", "io_workers"} {
		if v, ok := bare[k]; ok {
			t.Errorf("%s = %q without cpu_num", k, v)
		}
	}
}

func TestComputeMemoryUnits(t *testing.T) {
	// The same memory in each unit, and in any letter case, gives the same
	// settings.
	want, err := Compute(Input{DBVersion: 16, TotalMemory: "512GB"})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"524288MB", "512gb", " 512 GB "} {
		got, err := Compute(Input{DBVersion: 16, TotalMemory: m})
		if err != nil {
			t.Fatalf("%q: %v", m, err)
		}
		if !maps.Equal(got, want) {
			t.Errorf("%q gave %v, want %v", m, got, want)
		}
	}
}

func TestComputeValidation(t *testing.T) {
	valid := Input{DBVersion: 17, TotalMemory: "16GB"}
	tests := []struct {
		name   string
		change func(*Input)
		field  string
		says   string
	}{
		{"db_version absent", func(in *Input) { in.DBVersion = 0 }, FieldDBVersion, "required"},
		{"db_version too old", func(in *Input) { in.DBVersion = 9 }, FieldDBVersion, "from 10 to 18"},
		{"db_version too new", func(in *Input) { in.DBVersion = 19 }, FieldDBVersion, "from 10 to 18"},
		{"os_type", func(in *Input) { in.OSType = "freebsd" }, FieldOSType, "linux, windows, mac"},
		{"os_type case", func(in *Input) { in.OSType = "Linux" }, FieldOSType, "linux, windows, mac"},
		{"db_type", func(in *Input) { in.DBType = "olap" }, FieldDBType, "web, oltp, dw, desktop, mixed"},
		{"total_memory absent", func(in *Input) { in.TotalMemory = "" }, FieldTotalMemory, "required"},
		{"total_memory without unit", func(in *Input) { in.TotalMemory = "16" }, FieldTotalMemory, "MB, GB or TB"},
		{"total_memory in kB", func(in *Input) { in.TotalMemory = "1048576kB" }, FieldTotalMemory, "MB, GB or TB"},
		{"total_memory fractional", func(in *Input) { in.TotalMemory = "1.5GB" }, FieldTotalMemory, "whole number"},
		{"total_memory negative", func(in *Input) { in.TotalMemory = "-1GB" }, FieldTotalMemory, "whole number"},
		{"total_memory below 512MB", func(in *Input) { in.TotalMemory = "511MB" }, FieldTotalMemory, "at least 512MB"},
		{"total_memory zero", func(in *Input) { in.TotalMemory = "0GB" }, FieldTotalMemory, "at least 512MB"},
		{"total_memory above the form's limit", func(in *Input) { in.TotalMemory = "1000000MB" }, FieldTotalMemory, "at most 999999MB"},
		{"total_memory overflowing", func(in *Input) { in.TotalMemory = "99999999999999999999GB" }, FieldTotalMemory, "whole number"},
		{"cpu_num negative", func(in *Input) { in.CPUNum = -1 }, FieldCPUNum, "from 1 to 999999"},
		{"cpu_num too many", func(in *Input) { in.CPUNum = 1000000 }, FieldCPUNum, "from 1 to 999999"},
		{"connection_num too few", func(in *Input) { in.ConnectionNum = 19 }, FieldConnectionNum, "from 20 to 999999"},
		{"connection_num negative", func(in *Input) { in.ConnectionNum = -20 }, FieldConnectionNum, "from 20 to 999999"},
		{"connection_num too many", func(in *Input) { in.ConnectionNum = 1000000 }, FieldConnectionNum, "from 20 to 999999"},
		{"hd_type", func(in *Input) { in.HDType = "ssd2" }, FieldHDType, "ssd, hdd, san, nvme"},
		{"db_size", func(in *Input) { in.DBSize = "huge" }, FieldDBSize, "less_ram, mid_ram, greater_ram"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := valid
			tt.change(&in)
			got, err := Compute(in)
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("got %v, %v; want a *FieldError", got, err)
			}
			if fe.Field != tt.field || !strings.HasPrefix(err.Error(), tt.field+": ") || !strings.Contains(err.Error(), tt.says) {
				t.Errorf("error %q (field %s), want field %s saying %q", err, fe.Field, tt.field, tt.says)
			}
		})
	}
}

func TestComputeLimits(t *testing.T) {
	for _, in := range []Input{
		{DBVersion: 10, TotalMemory: "512MB", ConnectionNum: 20, CPUNum: 1},
		{DBVersion: 18, TotalMemory: "999999TB", ConnectionNum: 999999, CPUNum: 999999, DBType: "dw"},
		{DBVersion: 18, TotalMemory: "999999MB"},
	} {
		if _, err := Compute(in); err != nil {
			t.Errorf("%+v: %v", in, err)
		}
	}
}

func TestParseMemory(t *testing.T) {
	tests := []struct {
		in   string
		want int64
	}{
		{"16GB", 16 * 1048576},
		{"512MB", 512 * 1024},
		{"1TB", 1073741824},
		{"20164kB", 20164},
		{"16gb", 16 * 1048576},
		{"16 GB", 16 * 1048576},
		{" 4Mb ", 4096},
		{"0kB", 0},
		{"0016GB", 16 * 1048576},
		{"8589934591TB", 8589934591 * 1073741824},
	}
	for _, tt := range tests {
		got, err := ParseMemory(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseMemory(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{"", "GB", "16", "16XB", "16 G", "-1GB", "+1GB", "1.5GB", "1e3MB", "16GB extra", "99999999999999999999kB", "8589934592TB"} {
		if got, err := ParseMemory(in); err == nil {
			t.Errorf("ParseMemory(%q) = %d, want an error", in, got)
		}
	}
}

func TestFormatMemory(t *testing.T) {
	tests := []struct {
		kB   int64
		want string
	}{
		{4194304, "4GB"},
		{1572864, "1536MB"},
		{20164, "20164kB"},
		{2096128, "2047MB"},
		{16384, "16MB"},
		{32, "32kB"},
		{1073741824, "1024GB"},
	}
	for _, tt := range tests {
		if got := FormatMemory(tt.kB); got != tt.want {
			t.Errorf("FormatMemory(%d) = %q, want %q", tt.kB, got, tt.want)
		}
	}
}

func TestFromHost(t *testing.T) {
	const mib, gib = 1 << 20, 1 << 30
	tests := []struct {
		name       string
		bytes      int64
		cpus       int
		rotational bool
		want       Input
	}{
		{"whole GB", 16 * gib, 8, false, Input{TotalMemory: "16GB", CPUNum: 8, HDType: "ssd"}},
		{"GB rounded down", 16*gib - 1, 4, true, Input{TotalMemory: "15GB", CPUNum: 4, HDType: "hdd"}},
		{"MemTotal of a 16GB VM", 16085700 * 1024, 2, false, Input{TotalMemory: "15GB", CPUNum: 2, HDType: "ssd"}},
		{"exactly 1GB", gib, 1, false, Input{TotalMemory: "1GB", CPUNum: 1, HDType: "ssd"}},
		{"under 1GB in MB", gib - 1, 1, false, Input{TotalMemory: "1023MB", CPUNum: 1, HDType: "ssd"}},
		{"terabytes stay in GB", 1536 * gib, 128, false, Input{TotalMemory: "1536GB", CPUNum: 128, HDType: "ssd"}},
		{"unknown CPUs", 600 * mib, 0, false, Input{TotalMemory: "600MB", HDType: "ssd"}},
		{"nonsense facts", -1, -3, false, Input{TotalMemory: "0MB", HDType: "ssd"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FromHost(tt.bytes, tt.cpus, tt.rotational); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("FromHost(%d, %d, %v) = %+v, want %+v", tt.bytes, tt.cpus, tt.rotational, got, tt.want)
			}
		})
	}
	// What FromHost gives is valid input once the version is set.
	in := FromHost(16085700*1024, 2, false)
	in.DBVersion = 17
	if _, err := Compute(in); err != nil {
		t.Error(err)
	}
}

func FuzzParseMemory(f *testing.F) {
	for _, s := range []string{"16GB", "512MB", "1TB", "20164kB", "16 gb", "", "GB", "-1GB", "1.5GB", "99999999999999999999kB", "8589934592TB"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		kB, err := ParseMemory(s)
		if err != nil {
			if kB != 0 {
				t.Fatalf("error %v with %d", err, kB)
			}
			return
		}
		if kB < 0 {
			t.Fatalf("ParseMemory(%q) = %d", s, kB)
		}
		// Printing and parsing again keeps the value.
		if back, err := ParseMemory(FormatMemory(kB)); err != nil || back != kB {
			t.Fatalf("ParseMemory(FormatMemory(%d)) = %d, %v", kB, back, err)
		}
	})
}

func FuzzCompute(f *testing.F) {
	f.Add(18, "linux", "web", "16GB", 8, 0, "ssd", "mid_ram")
	f.Add(10, "windows", "desktop", "512MB", 0, 20, "hdd", "greater_ram")
	f.Add(17, "mac", "dw", "999999TB", 999999, 999999, "nvme", "less_ram")
	f.Add(12, "", "mixed", "3 gb", 3, 0, "san", "")
	f.Add(9, "bsd", "olap", "1.5GB", -1, 19, "tape", "huge")
	f.Fuzz(func(t *testing.T, version int, osType, dbType, memory string, cpus, conns int, hdType, dbSize string) {
		in := Input{DBVersion: version, OSType: osType, DBType: dbType, TotalMemory: memory, CPUNum: cpus, ConnectionNum: conns, HDType: hdType, DBSize: dbSize}
		out, err := Compute(in)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || !strings.HasPrefix(err.Error(), fe.Field+": ") || out != nil {
				t.Fatalf("Compute(%+v) = %v, %v", in, out, err)
			}
			return
		}
		for _, k := range alwaysKeys {
			if out[k] == "" {
				t.Fatalf("Compute(%+v) has no %s: %v", in, k, out)
			}
		}
		for _, k := range memoryKeys {
			v, ok := out[k]
			if !ok {
				continue
			}
			if kB, err := ParseMemory(v); err != nil || kB <= 0 || FormatMemory(kB) != v {
				t.Fatalf("%s = %q does not re-parse: %d, %v", k, v, kB, err)
			}
		}
		for k, v := range out {
			if v == "" {
				t.Fatalf("%s is empty", k)
			}
		}
	})
}
