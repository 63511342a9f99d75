package hostfacts

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/mcpai/terraform-provider-mcpai/internal/kernel"
)

// clip shortens a value quoted in an error so that a huge malformed section
// does not produce a huge message.
func clip(s string) string {
	const n = 64
	if len(s) > n {
		return strconv.Quote(s[:n]) + "..."
	}
	return strconv.Quote(s)
}

// parseCPUList counts the ids in a kernel range list such as "0-3,8-11" (the
// format of /sys/devices/system/cpu/online and .../node/online).
func parseCPUList(s string) (int64, error) {
	ranges, err := kernel.ParseRangeList(s)
	if err != nil {
		return 0, err
	}
	var count int64
	for _, r := range ranges {
		count += int64(r.Hi - r.Lo + 1)
	}
	return count, nil
}

// parseCPUInfo counts "processor" entries in /proc/cpuinfo (or the script's
// grep of them). x86 and arm64 print "processor\t: N"; s390x prints
// "processor N: ..."; both count once per line.
func parseCPUInfo(s string) (int64, error) {
	var n int64
	for line := range strings.SplitSeq(s, "\n") {
		rest, ok := strings.CutPrefix(line, "processor")
		if !ok || rest == "" || (rest[0] != ' ' && rest[0] != '\t' && rest[0] != ':') {
			continue // other keys, e.g. "processors" or "model name"
		}
		if !strings.Contains(rest, ":") {
			return 0, fmt.Errorf("processor line without ':': %s", clip(line))
		}
		n++
	}
	return n, nil
}

// parseMeminfo returns MemTotal in bytes. Every Linux /proc/meminfo has it,
// so its absence is an error, not an unknown.
func parseMeminfo(s string) (int64, error) {
	var (
		total int64
		found bool
	)
	for line := range strings.SplitSeq(s, "\n") {
		rest, ok := strings.CutPrefix(line, "MemTotal:")
		if !ok {
			continue
		}
		if found {
			return 0, errors.New("duplicate MemTotal line")
		}
		found = true
		fields := strings.Fields(rest)
		if len(fields) != 2 || fields[1] != "kB" {
			return 0, fmt.Errorf("MemTotal line %s: want \"<number> kB\"", clip(line))
		}
		kb, err := strconv.ParseUint(fields[0], 10, 64)
		if err != nil || kb > math.MaxInt64/1024 {
			return 0, fmt.Errorf("MemTotal %s: not a valid number of kB", clip(fields[0]))
		}
		if kb == 0 {
			return 0, errors.New("MemTotal is 0 kB")
		}
		total = int64(kb) * 1024
	}
	if !found {
		return 0, errors.New("no MemTotal line")
	}
	return total, nil
}

// parseWord reads a one-line, one-token value (uname output, the current
// governor). Empty means absent.
func parseWord(s string) (string, error) {
	s = strings.TrimSpace(s)
	if strings.ContainsFunc(s, isSpace) {
		return "", fmt.Errorf("want a single word, got %s", clip(s))
	}
	return s, nil
}

func isSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\v' || r == '\f'
}

// parseOSRelease reads the os-release(5) shell-assignment format. Quoting
// follows the shell subset the spec allows; a line that a shell would not
// read as a single assignment is an error.
func parseOSRelease(s string) (OSRelease, error) {
	var r OSRelease
	for line := range strings.SplitSeq(s, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		key, raw, ok := strings.Cut(line, "=")
		if !ok || !isEnvKey(key) {
			return OSRelease{}, fmt.Errorf("line %s: not KEY=value", clip(line))
		}
		val, err := unquoteOSRelease(raw)
		if err != nil {
			return OSRelease{}, fmt.Errorf("%s: %w", key, err)
		}
		// Later assignments win, as they would in a shell.
		switch key {
		case "ID":
			r.ID = val
		case "VERSION_ID":
			r.VersionID = val
		case "PRETTY_NAME":
			r.PrettyName = val
		}
	}
	return r, nil
}

func isEnvKey(k string) bool {
	if k == "" || k[0] >= '0' && k[0] <= '9' {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if (c < 'A' || c > 'Z') && (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

// unquoteOSRelease decodes one value: "double quoted" (backslash escapes
// \" \\ \$ \` only, as in sh), 'single quoted' (literal), or bare.
func unquoteOSRelease(raw string) (string, error) {
	if raw == "" {
		return "", nil
	}
	switch raw[0] {
	case '\'':
		end := strings.IndexByte(raw[1:], '\'')
		if end < 0 {
			return "", fmt.Errorf("unterminated single quote in %s", clip(raw))
		}
		if end+2 != len(raw) {
			return "", fmt.Errorf("text after closing quote in %s", clip(raw))
		}
		return raw[1 : end+1], nil
	case '"':
		var b strings.Builder
		for i := 1; i < len(raw); i++ {
			c := raw[i]
			switch {
			case c == '"':
				if i+1 != len(raw) {
					return "", fmt.Errorf("text after closing quote in %s", clip(raw))
				}
				return b.String(), nil
			case c == '\\' && i+1 < len(raw) && strings.IndexByte("\"\\$`", raw[i+1]) >= 0:
				i++
				b.WriteByte(raw[i])
			default:
				b.WriteByte(c)
			}
		}
		return "", fmt.Errorf("unterminated double quote in %s", clip(raw))
	}
	if strings.ContainsAny(raw, "\"'\\`$ \t") {
		return "", fmt.Errorf("unquoted value %s has shell special characters", clip(raw))
	}
	return raw, nil
}

// skippedDiskPrefixes are virtual devices that are never tuning targets.
var skippedDiskPrefixes = []string{"loop", "ram", "zram"}

// parseDisks reads the script's "name rotational size" lines, where
// rotational is 0/1 and size is in 512-byte sectors (the sysfs unit,
// whatever the logical block size); "-" marks an unreadable value.
func parseDisks(s string) ([]Disk, error) {
	disks := []Disk{}
	seen := map[string]bool{}
	for line := range strings.SplitSeq(s, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) != 3 {
			return nil, fmt.Errorf("line %s: want \"name rotational size\"", clip(line))
		}
		name, rot, size := fields[0], fields[1], fields[2]
		if strings.ContainsAny(name, "/@\\") {
			return nil, fmt.Errorf("bad device name %s", clip(name))
		}
		if seen[name] {
			return nil, fmt.Errorf("duplicate device %s", clip(name))
		}
		seen[name] = true
		d := Disk{Name: name}
		switch rot {
		case "0", "-":
		case "1":
			d.Rotational = true
		default:
			return nil, fmt.Errorf("device %s: rotational %s is not 0 or 1", name, clip(rot))
		}
		if size != "-" {
			sectors, err := strconv.ParseUint(size, 10, 64)
			if err != nil || sectors > math.MaxInt64/512 {
				return nil, fmt.Errorf("device %s: size %s is not a valid sector count", name, clip(size))
			}
			d.SizeBytes = int64(sectors) * 512
		}
		if slices.ContainsFunc(skippedDiskPrefixes, func(p string) bool { return strings.HasPrefix(name, p) }) {
			continue
		}
		disks = append(disks, d)
	}
	slices.SortFunc(disks, func(a, b Disk) int { return strings.Compare(a.Name, b.Name) })
	return disks, nil
}

// parseTHP returns the bracketed (active) choice of a sysfs selector such as
// "always [madvise] never". Empty means THP is not built in.
func parseTHP(s string) (string, error) {
	active, _, err := kernel.ParseSelector(s)
	return active, err
}

// parseGovernors splits scaling_available_governors, in kernel order.
func parseGovernors(s string) ([]string, error) { return kernel.ParseGovernors(s) }

// nvidiaSMIFailures start the messages nvidia-smi prints on stdout when it
// runs but cannot report GPUs. They mean "no usable GPU", not bad output.
var nvidiaSMIFailures = []string{
	"NVIDIA-SMI has failed",
	"No devices were found",
	"Failed to initialize NVML",
	"Unable to determine the device handle",
}

// nvidiaSMINA reports nvidia-smi's placeholders for values a GPU does not
// expose (printed even with nounits).
func nvidiaSMINA(v string) bool {
	return v == "[N/A]" || v == "N/A" || v == "[Not Supported]"
}

// parseNvidiaSMI reads
// "--query-gpu=index,name,memory.total,driver_version,uuid
// --format=csv,noheader,nounits" output: "0, NVIDIA H100 80GB HBM3, 81559,
// 550.54.15, GPU-...". memory.total is in MiB.
func parseNvidiaSMI(s string) ([]GPU, error) {
	gpus := []GPU{}
	seen := map[int64]bool{}
	s = strings.TrimSpace(s)
	if s == "" {
		return gpus, nil
	}
	if slices.ContainsFunc(nvidiaSMIFailures, func(p string) bool { return strings.HasPrefix(s, p) }) {
		return gpus, nil
	}
	for line := range strings.SplitSeq(s, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		parts := strings.Split(line, ",")
		n := len(parts)
		if n < 5 {
			return nil, fmt.Errorf("line %s: want 5 comma-separated fields", clip(line))
		}
		// Only the name is free text, so a comma in it is absorbed by
		// anchoring the other fields at both ends.
		idx, err := strconv.ParseUint(strings.TrimSpace(parts[0]), 10, 31)
		if err != nil {
			return nil, fmt.Errorf("line %s: bad index", clip(line))
		}
		g := GPU{
			Index:         int64(idx),
			Name:          strings.TrimSpace(strings.Join(parts[1:n-3], ",")),
			DriverVersion: strings.TrimSpace(parts[n-2]),
			UUID:          strings.TrimSpace(parts[n-1]),
		}
		if g.Name == "" {
			return nil, fmt.Errorf("line %s: empty name", clip(line))
		}
		if mem := strings.TrimSpace(parts[n-3]); !nvidiaSMINA(mem) {
			mib, err := strconv.ParseUint(mem, 10, 64)
			if err != nil || mib > math.MaxInt64>>20 {
				return nil, fmt.Errorf("line %s: bad memory.total %s", clip(line), clip(mem))
			}
			g.MemoryBytes = int64(mib) << 20
		}
		if nvidiaSMINA(g.DriverVersion) {
			g.DriverVersion = ""
		}
		if nvidiaSMINA(g.UUID) {
			g.UUID = ""
		}
		if seen[g.Index] {
			return nil, fmt.Errorf("duplicate GPU index %d", g.Index)
		}
		seen[g.Index] = true
		gpus = append(gpus, g)
	}
	slices.SortFunc(gpus, func(a, b GPU) int { return cmp.Compare(a.Index, b.Index) })
	return gpus, nil
}

// parseDockerInfo reads "docker info --format '{{json .}}'". Output that is
// not a JSON object (an error message) and a client-only report (the CLI
// still prints JSON, with an empty ServerVersion, when the daemon is down)
// both mean "no usable docker". A JSON object that does not decode is
// damaged output and an error.
func parseDockerInfo(s string) (*Docker, error) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "{") {
		return nil, nil
	}
	var info struct {
		ServerVersion  string
		Runtimes       map[string]json.RawMessage
		DefaultRuntime string
	}
	if err := json.Unmarshal([]byte(s), &info); err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	if info.ServerVersion == "" {
		return nil, nil
	}
	d := &Docker{
		ServerVersion:  info.ServerVersion,
		Runtimes:       []string{},
		DefaultRuntime: info.DefaultRuntime,
	}
	for name := range info.Runtimes {
		d.Runtimes = append(d.Runtimes, name)
	}
	slices.Sort(d.Runtimes)
	return d, nil
}
