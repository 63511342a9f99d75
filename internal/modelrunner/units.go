package modelrunner

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	units "github.com/docker/go-units"
)

// ParseSize reads a size as docker run takes it: "64g", "512m", "1024"
// (bytes); units are powers of 1024.
func ParseSize(s string) (int64, error) {
	n, err := units.RAMInBytes(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a size such as 64g or 512m", s)
	}
	if n <= 0 {
		return 0, fmt.Errorf("%q must be more than 0", s)
	}
	return n, nil
}

// FormatSize writes n in the largest unit that divides it exactly.
func FormatSize(n int64) string {
	for _, u := range []struct {
		suffix string
		size   int64
	}{{"t", 1 << 40}, {"g", 1 << 30}, {"m", 1 << 20}, {"k", 1 << 10}} {
		if n != 0 && n%u.size == 0 {
			return strconv.FormatInt(n/u.size, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}

// ParseCPUs reads a CPU count such as "8" or "7.5" into the engine's
// NanoCPUs.
func ParseCPUs(s string) (int64, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%q is not a number of CPUs such as 8 or 7.5", s)
	}
	n := int64(math.Round(f * 1e9))
	if n < 10_000_000 {
		return 0, errors.New("cpus must be 0.01 or more")
	}
	if f > 1e6 {
		return 0, fmt.Errorf("%q is more CPUs than any host has", s)
	}
	return n, nil
}

// FormatCPUs writes NanoCPUs as a CPU count.
func FormatCPUs(n int64) string {
	return strconv.FormatFloat(float64(n)/1e9, 'f', -1, 64)
}

// CheckCPUSet checks a cpuset against a host's CPU count.
func CheckCPUSet(set string, ncpu int) error {
	for part := range strings.SplitSeq(set, ",") {
		_, hi, isRange := strings.Cut(part, "-")
		if !isRange {
			hi = part
		}
		n, err := strconv.Atoi(strings.TrimSpace(hi))
		if err != nil {
			return fmt.Errorf("cpuset %q is not a CPU list such as 0-7,16-23", set)
		}
		if n >= ncpu {
			return fmt.Errorf("cpuset %q names CPU %d, but the engine reports %d CPUs (0-%d)", set, n, ncpu, ncpu-1)
		}
	}
	return nil
}
