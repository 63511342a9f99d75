package hostfacts

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Section names, in the order the script prints them.
const (
	secBegin        = "begin" // content: the format version
	secCPUOnline    = "cpu_online"
	secCPUInfo      = "cpuinfo"
	secMeminfo      = "meminfo"
	secNodeOnline   = "node_online"
	secKernel       = "kernel"
	secArch         = "arch"
	secOSRelease    = "os_release"
	secDisks        = "disks"
	secTHPEnabled   = "thp_enabled"
	secTHPDefrag    = "thp_defrag"
	secGovernors    = "cpufreq_governors"
	secGovernor     = "cpufreq_governor"
	secNvidiaSMI    = "nvidia_smi"
	secNvidiaSMIRC  = "nvidia_smi_rc" // exit status; empty when not installed
	secDockerInfo   = "docker_info"
	secDockerInfoRC = "docker_info_rc" // exit status; empty when not installed
	secEnd          = "end"
)

const (
	formatVersion  = "1"
	markerPrefix   = "@@mcpai:"
	markerSuffix   = "@@"
	escapeChar     = '\\'
	maxSectionName = 64
)

// sections maps a section name to its unescaped content: lines joined by
// "\n", without a trailing newline.
type sections map[string]string

// markerName returns the section name if line is a marker line.
func markerName(line string) (string, bool) {
	if !strings.HasPrefix(line, markerPrefix) || !strings.HasSuffix(line, markerSuffix) ||
		len(line) < len(markerPrefix)+len(markerSuffix)+1 {
		return "", false
	}
	name := line[len(markerPrefix) : len(line)-len(markerSuffix)]
	if len(name) > maxSectionName {
		return "", false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return "", false
		}
	}
	return name, true
}

// splitSections cuts script output into sections. Text before the begin
// marker is ignored because a user's shell startup files may print to stdout
// before the script runs; text after the end marker is ignored for the same
// reason (logout scripts). Between the two, every line is a marker or
// escaped content, so anything else is corruption and an error.
func splitSections(out string) (sections, error) {
	lines := strings.Split(out, "\n")
	secs := sections{}
	var (
		cur     string
		content []string
		begun   bool
		ended   bool
	)
	flush := func() {
		if cur != "" {
			secs[cur] = strings.Join(content, "\n")
		}
		content = content[:0]
	}
	for i, line := range lines {
		// A pty (ssh -t) turns "\n" into "\r\n"; content never relies on a
		// trailing '\r'.
		line = strings.TrimSuffix(line, "\r")
		name, isMarker := markerName(line)
		if !begun {
			if isMarker && name == secBegin {
				begun = true
				cur = secBegin
			}
			continue
		}
		if isMarker {
			flush()
			if _, dup := secs[name]; dup || name == secBegin {
				return nil, fmt.Errorf("hostfacts: line %d: duplicate section %q", i+1, name)
			}
			if name == secEnd {
				secs[secEnd] = ""
				ended = true
				break
			}
			cur = name
			continue
		}
		switch {
		case line == "":
		case line[0] == escapeChar:
			line = line[1:]
		case line[0] == '@':
			// The script escapes every content line starting with '@', so
			// this is damaged output rather than data.
			return nil, fmt.Errorf("hostfacts: line %d: unescaped line starting with '@' in section %q", i+1, cur)
		}
		content = append(content, line)
	}
	switch {
	case !begun:
		return nil, errors.New("hostfacts: no @@mcpai:begin@@ marker: output is not from hostfacts.Script")
	case !ended:
		return nil, errors.New("hostfacts: no @@mcpai:end@@ marker: output is truncated")
	}
	return secs, nil
}

// Parse parses the stdout of Command(). Facts every Linux host has (MemTotal,
// a CPU count) are required; everything else is optional and an empty or
// missing section yields the documented zero value. A section that is present
// but malformed is an error naming the section.
func Parse(out []byte) (Facts, error) {
	secs, err := splitSections(string(out))
	if err != nil {
		return Facts{}, err
	}
	if v := strings.TrimSpace(secs[secBegin]); v != formatVersion {
		return Facts{}, fmt.Errorf("hostfacts: unsupported format version %q, want %q", v, formatVersion)
	}
	// wrap names the section in every error so that a failing host can be
	// diagnosed from the message alone.
	wrap := func(section string, err error) error {
		return fmt.Errorf("hostfacts: section %s: %w", section, err)
	}

	f := Facts{
		Disks:        []Disk{},
		CPUGovernors: []string{},
		GPUs:         []GPU{},
	}

	// CPUs: the online range list is authoritative; /proc/cpuinfo is the
	// fallback for hosts without sysfs. A present but malformed list is an
	// error rather than a reason to fall back, so that a bad value is seen.
	if s := strings.TrimSpace(secs[secCPUOnline]); s != "" {
		if f.CPUCount, err = parseCPUList(s); err != nil {
			return Facts{}, wrap(secCPUOnline, err)
		}
	} else {
		if f.CPUCount, err = parseCPUInfo(secs[secCPUInfo]); err != nil {
			return Facts{}, wrap(secCPUInfo, err)
		}
		if f.CPUCount == 0 {
			return Facts{}, wrap(secCPUInfo, errors.New("no online CPU list and no processor entries"))
		}
	}

	if f.MemoryBytes, err = parseMeminfo(secs[secMeminfo]); err != nil {
		return Facts{}, wrap(secMeminfo, err)
	}

	f.NUMANodes = 1
	if s := strings.TrimSpace(secs[secNodeOnline]); s != "" {
		if f.NUMANodes, err = parseCPUList(s); err != nil {
			return Facts{}, wrap(secNodeOnline, err)
		}
	}

	if f.Kernel, err = parseWord(secs[secKernel]); err != nil {
		return Facts{}, wrap(secKernel, err)
	}
	if f.Architecture, err = parseWord(secs[secArch]); err != nil {
		return Facts{}, wrap(secArch, err)
	}
	if f.OS, err = parseOSRelease(secs[secOSRelease]); err != nil {
		return Facts{}, wrap(secOSRelease, err)
	}
	if f.Disks, err = parseDisks(secs[secDisks]); err != nil {
		return Facts{}, wrap(secDisks, err)
	}
	if f.THPMode, err = parseTHP(secs[secTHPEnabled]); err != nil {
		return Facts{}, wrap(secTHPEnabled, err)
	}
	if f.THPDefrag, err = parseTHP(secs[secTHPDefrag]); err != nil {
		return Facts{}, wrap(secTHPDefrag, err)
	}
	if f.CPUGovernors, err = parseGovernors(secs[secGovernors]); err != nil {
		return Facts{}, wrap(secGovernors, err)
	}
	if f.CurrentGovernor, err = parseWord(secs[secGovernor]); err != nil {
		return Facts{}, wrap(secGovernor, err)
	}

	// Command sections: a non-zero exit status (not installed, driver not
	// loaded, daemon down, timeout) means "absent", whatever stdout says.
	ok, err := commandSucceeded(secs[secNvidiaSMIRC])
	if err != nil {
		return Facts{}, wrap(secNvidiaSMIRC, err)
	}
	if ok {
		if f.GPUs, err = parseNvidiaSMI(secs[secNvidiaSMI]); err != nil {
			return Facts{}, wrap(secNvidiaSMI, err)
		}
	}
	ok, err = commandSucceeded(secs[secDockerInfoRC])
	if err != nil {
		return Facts{}, wrap(secDockerInfoRC, err)
	}
	if ok {
		if f.Docker, err = parseDockerInfo(secs[secDockerInfo]); err != nil {
			return Facts{}, wrap(secDockerInfo, err)
		}
	}
	return f, nil
}

// commandSucceeded reads an exit status section. An empty section means the
// command was not run (not installed); its output section is then empty too,
// and parsing that empty output yields "absent", so empty counts as success.
func commandSucceeded(s string) (bool, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return true, nil
	}
	rc, err := strconv.ParseUint(s, 10, 8)
	if err != nil {
		return false, fmt.Errorf("exit status %q is not a number in 0-255", s)
	}
	return rc == 0, nil
}
