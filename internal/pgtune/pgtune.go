// Package pgtune computes PostgreSQL settings exactly as the PGTune
// calculator (le0pard/pgtune, 2026-04 release) does for the same inputs,
// value for value and string for string. The rules are restated in
// FORMULAS.md, which this package follows to the letter; its checks are
// PGTune's own test expectations (testdata/selector_cases.json).
package pgtune

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Input is PGTune's form. Empty strings and zero numbers mean "not given":
// the optional ones then take PGTune's defaults.
type Input struct {
	// DBVersion is the PostgreSQL major version, 10 to 18. Required.
	DBVersion int
	// OSType is linux (default), windows or mac.
	OSType string
	// DBType is web (default), oltp, dw, desktop or mixed.
	DBType string
	// TotalMemory is the memory PostgreSQL may use: a whole number and a
	// unit, MB, GB or TB ("16GB"), at least 512MB. Required.
	TotalMemory string
	// CPUNum is the number of CPUs; 0 means unknown.
	CPUNum int
	// ConnectionNum is max_connections, at least 20; 0 means the
	// DBType's default.
	ConnectionNum int
	// HDType is the data storage: ssd (default), hdd, san or nvme.
	HDType string
	// DBSize is the data size against memory: less_ram, mid_ram (default)
	// or greater_ram.
	DBSize string
}

// Field names in errors are the Terraform attribute names.
const (
	FieldDBVersion     = "db_version"
	FieldOSType        = "os_type"
	FieldDBType        = "db_type"
	FieldTotalMemory   = "total_memory"
	FieldCPUNum        = "cpu_num"
	FieldConnectionNum = "connection_num"
	FieldHDType        = "hd_type"
	FieldDBSize        = "db_size"
)

// FieldError is an invalid input. Its message starts with the field's name.
type FieldError struct {
	Field   string
	Problem string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Problem }

func invalid(field, format string, args ...any) error {
	return &FieldError{Field: field, Problem: fmt.Sprintf(format, args...)}
}

// Allowed values, in PGTune's order.
var (
	osTypes = []string{"linux", "windows", "mac"}
	dbTypes = []string{"web", "oltp", "dw", "desktop", "mixed"}
	hdTypes = []string{"ssd", "hdd", "san", "nvme"}
	dbSizes = []string{"less_ram", "mid_ram", "greater_ram"}
)

const (
	minDBVersion = 10
	maxDBVersion = 18
	// maxNumber is PGTune's form limit (MAX_NUMERIC_VALUE) on memory, CPUs
	// and connections. It also keeps every intermediate value far below
	// 2^53, where PGTune's JavaScript doubles and Go's integers agree.
	maxNumber      = 999999
	minMemoryKB    = 512 * kBPerMB
	minConnections = 20
)

// Memory units in kB, the unit of all of PGTune's arithmetic.
const (
	kBPerMB = 1024
	kBPerGB = 1024 * kBPerMB
	kBPerTB = 1024 * kBPerGB
)

var unitKB = map[string]int64{"kB": 1, "MB": kBPerMB, "GB": kBPerGB, "TB": kBPerTB}

// splitMemory splits "16GB" into 16 and "GB". The unit is matched without
// regard to case and may follow a space; it comes back in PostgreSQL's
// spelling (kB, MB, GB, TB).
func splitMemory(s string) (int64, string, error) {
	s = strings.TrimSpace(s)
	i := strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' })
	if i <= 0 {
		return 0, "", fmt.Errorf("%q is not a whole number followed by a unit (kB, MB, GB or TB)", s)
	}
	digits, rest := s[:i], strings.TrimSpace(s[i:])
	var unit string
	for u := range unitKB {
		if strings.EqualFold(rest, u) {
			unit = u
		}
	}
	if unit == "" {
		return 0, "", fmt.Errorf("%q has no unit kB, MB, GB or TB", s)
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return 0, "", fmt.Errorf("%q is too large", s)
	}
	return n, unit, nil
}

// ParseMemory returns a memory value such as "16GB", "1536MB" or "20164kB"
// (as Compute prints them, or as total_memory takes them) in kB.
func ParseMemory(s string) (int64, error) {
	n, unit, err := splitMemory(s)
	if err != nil {
		return 0, err
	}
	if n > math.MaxInt64/unitKB[unit] {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return n * unitKB[unit], nil
}

// FormatMemory prints kB as PGTune does: in the largest unit that divides
// it exactly ("4GB", "1536MB", "20164kB").
func FormatMemory(kB int64) string {
	switch {
	case kB%kBPerGB == 0:
		return strconv.FormatInt(kB/kBPerGB, 10) + "GB"
	case kB%kBPerMB == 0:
		return strconv.FormatInt(kB/kBPerMB, 10) + "MB"
	default:
		return strconv.FormatInt(kB, 10) + "kB"
	}
}

// totalMemoryKB checks total_memory against PGTune's form: a whole number
// of MB, GB or TB, from 512MB, at most 999999 of its unit.
func totalMemoryKB(s string) (int64, error) {
	if strings.TrimSpace(s) == "" {
		return 0, invalid(FieldTotalMemory, `required: a whole number followed by MB, GB or TB, such as "16GB"`)
	}
	n, unit, err := splitMemory(s)
	if err != nil || unit == "kB" {
		return 0, invalid(FieldTotalMemory, `must be a whole number followed by MB, GB or TB, such as "16GB"; got %q`, s)
	}
	if n > maxNumber {
		return 0, invalid(FieldTotalMemory, "must be at most %d%s; got %q", maxNumber, unit, s)
	}
	kB := n * unitKB[unit]
	if kB < minMemoryKB {
		return 0, invalid(FieldTotalMemory, "must be at least 512MB; got %q", s)
	}
	return kB, nil
}

// choice returns v, or def when v is empty, or an error listing the
// allowed values.
func choice(field, v, def string, allowed []string) (string, error) {
	if v == "" {
		return def, nil
	}
	for _, a := range allowed {
		if v == a {
			return v, nil
		}
	}
	return "", invalid(field, "must be one of %s; got %q", strings.Join(allowed, ", "), v)
}

// settings is Input checked, with its defaults filled in.
type settings struct {
	version           int
	os, db, hd, size  string
	ramKB             int64
	cpus, connections int64
	cpusGiven, winOld bool
}

func (in Input) check() (settings, error) {
	var s settings
	var err error
	if in.DBVersion == 0 {
		return s, invalid(FieldDBVersion, "required: a PostgreSQL major version from %d to %d", minDBVersion, maxDBVersion)
	}
	if in.DBVersion < minDBVersion || in.DBVersion > maxDBVersion {
		return s, invalid(FieldDBVersion, "must be a PostgreSQL major version from %d to %d; got %d", minDBVersion, maxDBVersion, in.DBVersion)
	}
	s.version = in.DBVersion
	if s.os, err = choice(FieldOSType, in.OSType, "linux", osTypes); err != nil {
		return s, err
	}
	if s.db, err = choice(FieldDBType, in.DBType, "web", dbTypes); err != nil {
		return s, err
	}
	if s.ramKB, err = totalMemoryKB(in.TotalMemory); err != nil {
		return s, err
	}
	if in.CPUNum < 0 || in.CPUNum > maxNumber {
		return s, invalid(FieldCPUNum, "must be from 1 to %d, or 0 when unknown; got %d", maxNumber, in.CPUNum)
	}
	if in.ConnectionNum != 0 && (in.ConnectionNum < minConnections || in.ConnectionNum > maxNumber) {
		return s, invalid(FieldConnectionNum, "must be from %d to %d, or 0 for the db_type's default; got %d", minConnections, maxNumber, in.ConnectionNum)
	}
	if s.hd, err = choice(FieldHDType, in.HDType, "ssd", hdTypes); err != nil {
		return s, err
	}
	if s.size, err = choice(FieldDBSize, in.DBSize, "mid_ram", dbSizes); err != nil {
		return s, err
	}
	s.cpus, s.cpusGiven = int64(in.CPUNum), in.CPUNum > 0
	s.connections = int64(in.ConnectionNum)
	if s.connections == 0 {
		s.connections = map[string]int64{"web": 200, "oltp": 300, "dw": 40, "desktop": 20, "mixed": 100}[s.db]
	}
	// PostgreSQL on Windows took at most 2GB of work memory up to 17.
	s.winOld = s.os == "windows" && s.version <= 17
	return s, nil
}

// Compute returns PGTune's settings for in, keyed by PostgreSQL parameter
// name. Keys PGTune leaves out for these inputs are absent. An invalid input
// gives a *FieldError.
func Compute(in Input) (map[string]string, error) {
	s, err := in.check()
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, 28)
	num := func(k string, v int64) { out[k] = strconv.FormatInt(v, 10) }
	mem := func(k string, kB int64) { out[k] = FormatMemory(kB) }
	ram := s.ramKB
	parallel := s.cpusGiven && s.cpus >= 4

	num("max_connections", s.connections)

	sharedBuffers := ram / 4
	cacheSize := ram * 3 / 4
	if s.db == "desktop" {
		sharedBuffers, cacheSize = ram/16, ram/4
	}
	mem("shared_buffers", sharedBuffers)
	mem("effective_cache_size", cacheSize)

	maintenance := ram / 16
	if s.db == "dw" {
		maintenance = ram / 8
	}
	maintenanceCap := int64(8 * kBPerGB)
	if s.winOld {
		maintenanceCap = 2 * kBPerGB
	}
	if maintenance >= maintenanceCap {
		maintenance = maintenanceCap
		if s.winOld {
			// PostgreSQL on Windows rejects exactly 2GB.
			maintenance = 2*kBPerGB - kBPerMB
		}
	}
	mem("maintenance_work_mem", maintenance)

	out["checkpoint_completion_target"] = "0.9"

	walBuffers := 3 * sharedBuffers / 100
	switch {
	case walBuffers > 14*kBPerMB:
		walBuffers = 16 * kBPerMB
	case walBuffers < 32:
		walBuffers = 32
	}
	mem("wal_buffers", walBuffers)

	if s.db == "dw" {
		num("default_statistics_target", 500)
	} else {
		num("default_statistics_target", 100)
	}

	if s.size != "less_ram" && (s.hd == "hdd" || s.db == "dw") {
		out["random_page_cost"] = "4"
	} else {
		out["random_page_cost"] = "1.1"
	}

	if s.os == "linux" {
		num("effective_io_concurrency", map[string]int64{"hdd": 2, "ssd": 200, "san": 300, "nvme": 1000}[s.hd])
	}

	mem("work_mem", workMem(s, sharedBuffers, parallel))

	if s.os != "mac" && sharedBuffers >= 2*kBPerGB {
		out["huge_pages"] = "try"
	} else {
		out["huge_pages"] = "off"
	}

	if s.version >= 12 && (s.db == "web" || s.db == "oltp" || s.db == "mixed") {
		out["jit"] = "off"
	}

	if s.version >= 15 {
		out["wal_compression"] = "lz4"
	} else {
		out["wal_compression"] = "on"
	}

	switch {
	case s.cpus >= 32:
		num("autovacuum_max_workers", 5)
	case s.cpus >= 16:
		num("autovacuum_max_workers", 4)
	}

	if maintenance >= 2*kBPerGB {
		mem("autovacuum_work_mem", 2*kBPerGB)
	}

	if s.version >= 18 {
		if s.os == "linux" {
			out["io_method"] = "io_uring"
		} else {
			out["io_method"] = "worker"
			if s.cpusGiven {
				if w := min(32, max(3, s.cpus/4)); w > 3 {
					num("io_workers", w)
				}
			}
		}
	}

	walSizes := map[string][2]int64{
		"web":     {1 * kBPerGB, 4 * kBPerGB},
		"oltp":    {2 * kBPerGB, 8 * kBPerGB},
		"dw":      {4 * kBPerGB, 16 * kBPerGB},
		"desktop": {100 * kBPerMB, 2 * kBPerGB},
		"mixed":   {1 * kBPerGB, 4 * kBPerGB},
	}[s.db]
	mem("min_wal_size", walSizes[0])
	mem("max_wal_size", walSizes[1])

	if parallel {
		half := (s.cpus + 1) / 2
		perGather := half
		if s.db != "dw" {
			perGather = min(half, 4)
		}
		num("max_worker_processes", s.cpus)
		num("max_parallel_workers_per_gather", perGather)
		num("max_parallel_workers", s.cpus)
		if s.version >= 11 {
			num("max_parallel_maintenance_workers", min(half, 4))
		}
	}

	if s.db == "desktop" {
		out["wal_level"] = "minimal"
		out["max_wal_senders"] = "0"
	}
	return out, nil
}

// workMem is PGTune's work_mem. It divides in float64 as PGTune's
// JavaScript does, so the floors land on the same kB.
func workMem(s settings, sharedBuffers int64, parallel bool) int64 {
	workers := int64(8)
	if parallel {
		workers = s.cpus
	}
	base := float64(s.ramKB-sharedBuffers) / float64((s.connections+workers)*3)
	var v float64
	switch s.db {
	case "dw", "mixed":
		v = math.Floor(base / 2)
	case "desktop":
		v = math.Floor(base / 6)
	default:
		v = math.Floor(base)
	}
	switch s.size {
	case "less_ram":
		v = math.Floor(v * 1.3)
	case "greater_ram":
		v = math.Floor(v * 0.9)
	}
	w := max(int64(v), 4*kBPerMB)
	if s.winOld {
		w = min(w, 2*kBPerGB-kBPerMB)
	}
	return w
}

// FromHost turns a host's facts into the inputs PGTune takes from them;
// the caller sets DBVersion and the rest. Memory is rounded down to whole GB
// from 1GB up ("15GB" for 15.6GiB), else to whole MB: PGTune takes a whole
// number of one unit, and whole GB keep its outputs in round units. A
// rotational disk is hdd, any other ssd; a cpuCount below 1 is left unknown.
func FromHost(memoryBytes int64, cpuCount int, rotational bool) Input {
	const mib, gib = 1 << 20, 1 << 30
	in := Input{HDType: "ssd", CPUNum: max(cpuCount, 0)}
	if rotational {
		in.HDType = "hdd"
	}
	if memoryBytes >= gib {
		in.TotalMemory = strconv.FormatInt(memoryBytes/gib, 10) + "GB"
	} else {
		in.TotalMemory = strconv.FormatInt(max(memoryBytes, 0)/mib, 10) + "MB"
	}
	return in
}
