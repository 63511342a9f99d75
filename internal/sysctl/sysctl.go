// Package sysctl holds the pure logic of kernel parameters: key and value
// rules, the /proc/sys path of a key, value normalisation, and the
// sysctl.d file format.
package sysctl

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode"
)

// keyPattern is the sysctl key syntax: dot-separated segments of letters,
// digits, '_' and '-'. Empty segments are refused, so a key can never name a
// path outside /proc/sys.
var keyPattern = regexp.MustCompile(`^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$`)

// maxValueLen keeps values within what a single /proc/sys write accepts.
const maxValueLen = 4096

// ValidateKey reports why key is not a sysctl key, or nil.
func ValidateKey(key string) error {
	if !keyPattern.MatchString(key) {
		return fmt.Errorf("%q is not a sysctl key: use dot-separated names of letters, digits, '_' and '-', e.g. net.core.somaxconn", key)
	}
	return nil
}

// ValidateValue reports why value cannot be written as a sysctl value, or
// nil. Tabs are allowed (the kernel separates fields with them); other
// control characters, including newlines, are not.
func ValidateValue(value string) error {
	if strings.TrimSpace(value) == "" {
		return errors.New("value is empty")
	}
	if len(value) > maxValueLen {
		return fmt.Errorf("value is %d bytes long; the kernel takes at most %d", len(value), maxValueLen)
	}
	for _, r := range value {
		if r != '\t' && unicode.IsControl(r) {
			return fmt.Errorf("value holds the control character %U; values are one line of text", r)
		}
	}
	return nil
}

// Path is the /proc/sys file of a valid key.
func Path(key string) string {
	return "/proc/sys/" + strings.ReplaceAll(key, ".", "/")
}

// Normalize collapses runs of whitespace to one space and trims the ends,
// so "4096 87380 16777216" equals the kernel's tab-separated form.
func Normalize(value string) string {
	return strings.Join(strings.Fields(value), " ")
}

// Equal compares two values as the kernel would read them back.
func Equal(a, b string) bool { return Normalize(a) == Normalize(b) }

// Header is the first line of every file this provider renders.
const Header = "# Managed by Terraform (mcpai_host_sysctl). Manual changes are reverted on the next apply.\n"

// Render is the sysctl.d file for settings, keys sorted for a stable diff.
func Render(settings map[string]string) []byte {
	var b bytes.Buffer
	b.WriteString(Header)
	for _, k := range SortedKeys(settings) {
		fmt.Fprintf(&b, "%s = %s\n", k, Normalize(settings[k]))
	}
	return b.Bytes()
}

// SortedKeys returns the keys of m in order.
func SortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ParseFile reads a sysctl.d file as sysctl(8) does: '#' and ';' start
// comments, "key = value" per line, a leading '-' marks a key whose failure
// is ignored, keys may use '/' as separator, and the last occurrence wins.
func ParseFile(content []byte) (map[string]string, error) {
	settings := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(content))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("line %d: %q has no '='", n, line)
		}
		key = strings.TrimPrefix(strings.TrimSpace(key), "-")
		if !strings.Contains(key, ".") {
			key = strings.ReplaceAll(key, "/", ".")
		}
		if err := ValidateKey(key); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		settings[key] = Normalize(value)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return settings, nil
}

// Change is one key whose live value is to be set.
type Change struct {
	Key   string
	Value string
}

// Plan lists the live writes that move a host from the settings in old to
// those in next: every key of next, then every key dropped from old set back
// to its recorded previous value (keys without a record are left as they
// are). Keys are in sorted order so that runs are repeatable.
func Plan(old, next, previous map[string]string) []Change {
	var changes []Change
	for _, k := range SortedKeys(next) {
		changes = append(changes, Change{Key: k, Value: next[k]})
	}
	for _, k := range SortedKeys(old) {
		if _, kept := next[k]; kept {
			continue
		}
		if v, ok := previous[k]; ok {
			changes = append(changes, Change{Key: k, Value: v})
		}
	}
	return changes
}
