// Package postgres holds the pure logic of the PostgreSQL layer: setting
// names, value validation against pg_settings' metadata and unit-aware
// comparison (4096MB equals 4GB; shared_buffers counts 8kB pages; ms, s and
// min), the server's own complaints in its log, and index definitions
// (index.go).
package postgres

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/mcpai/terraform-provider-mcpai/internal/similar"
)

// Setting is one row of pg_settings: what the server says a setting is.
type Setting struct {
	Name     string
	Setting  string   // current value, in Unit
	Unit     string   // "", "kB", "8kB", "MB", "ms", "s", "min", ...
	VarType  string   // bool, integer, real, string, enum
	Context  string   // postmaster settings need a restart
	MinVal   string   // "" when none
	MaxVal   string   // "" when none
	EnumVals []string // for enum
}

// NeedsRestart reports whether a new value takes effect only on restart.
func (s Setting) NeedsRestart() bool { return s.Context == "postmaster" }

// namePattern is a setting name: words of letters, digits and '_' (names
// are case-insensitive: DateStyle), and a dot for an extension's settings
// (pg_stat_statements.max). Anything else cannot be a name, so it never
// reaches the server.
var namePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$`)

// ValidateName reports why name cannot be a setting name, or nil.
func ValidateName(name string) error {
	if len(name) > 63 || !namePattern.MatchString(name) {
		return fmt.Errorf("%q is not a setting name: use letters, digits and '_' (and one '.' for an extension's setting), e.g. shared_buffers", name)
	}
	return nil
}

// IsCustom reports whether name is an extension's setting (it has a dot):
// the server knows it only once the extension is loaded.
func IsCustom(name string) bool { return strings.Contains(name, ".") }

// Suggest returns the known name closest to name, or "".
func Suggest(name string, known []string) string { return similar.Closest(name, known) }

// Memory units in bytes and time units in milliseconds, as PostgreSQL
// reads them (case-sensitive, 1024-based).
var (
	memoryUnits = map[string]float64{"B": 1, "kB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30, "TB": 1 << 40}
	timeUnits   = map[string]float64{"us": 0.001, "ms": 1, "s": 1000, "min": 60000, "h": 3600000, "d": 86400000}
)

// baseUnit returns whether unit is a memory or a time unit, and its size in
// bytes or milliseconds. pg_settings' units may carry a count ("8kB").
func baseUnit(unit string) (kind string, size float64, ok bool) {
	n, u := 1.0, unit
	if i := strings.IndexFunc(unit, func(r rune) bool { return r < '0' || r > '9' }); i > 0 {
		c, err := strconv.ParseFloat(unit[:i], 64)
		if err != nil {
			return "", 0, false
		}
		n, u = c, unit[i:]
	}
	if sz, ok := memoryUnits[u]; ok {
		return "memory", n * sz, true
	}
	if sz, ok := timeUnits[u]; ok {
		return "time", n * sz, true
	}
	return "", 0, false
}

var numberWithUnit = regexp.MustCompile(`^\s*([-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?)\s*([A-Za-z]*)\s*$`)

// Canonical turns a value into a form in which two spellings of the same
// setting compare equal: numbers with units in bytes or milliseconds,
// booleans as on/off, enums lower-case. It also validates the value
// against s (type, unit, range, choices).
func Canonical(s Setting, value string) (string, error) {
	switch s.VarType {
	case "bool":
		switch strings.ToLower(strings.TrimSpace(value)) {
		case "on", "true", "yes", "1", "t", "y", "tr", "tru", "ye":
			return "on", nil
		case "off", "false", "no", "0", "f", "n", "of", "fa", "fal", "fals":
			return "off", nil
		}
		return "", fmt.Errorf("%s is a boolean: use on or off, not %q", s.Name, value)
	case "enum":
		v := strings.ToLower(strings.TrimSpace(value))
		for _, e := range s.EnumVals {
			if strings.ToLower(e) == v {
				return v, nil
			}
		}
		return "", fmt.Errorf("%s must be one of %s, not %q", s.Name, strings.Join(s.EnumVals, ", "), value)
	case "integer", "real":
		n, err := s.number(value)
		if err != nil {
			return "", err
		}
		return strconv.FormatFloat(n, 'g', -1, 64), nil
	}
	if IsList(s.Name) {
		return strings.Join(ListItems(value), ", "), nil
	}
	return value, nil // strings compare as written
}

// listSettings take a comma-separated list, which ALTER SYSTEM must be
// given as separate literals: one literal is one element.
var listSettings = map[string]bool{
	"shared_preload_libraries":  true,
	"session_preload_libraries": true,
	"local_preload_libraries":   true,
	"search_path":               true,
	"temp_tablespaces":          true,
}

// IsList reports whether name takes a comma-separated list.
func IsList(name string) bool { return listSettings[strings.ToLower(name)] }

// ListItems splits a list value into its elements, trimmed, without empty
// ones and without the double quotes the server prints around some.
func ListItems(value string) []string {
	var out []string
	for item := range strings.SplitSeq(value, ",") {
		item = strings.TrimSpace(item)
		if len(item) >= 2 && item[0] == '"' && item[len(item)-1] == '"' {
			item = item[1 : len(item)-1]
		}
		if item != "" {
			out = append(out, item)
		}
	}
	return out
}

// secretSettings hold credentials, which plans and state would show.
var secretSettings = map[string]bool{"primary_conninfo": true, "ssl_passphrase_command": true}

// IsSecret reports whether name's value may hold a credential.
func IsSecret(name string) bool { return secretSettings[strings.ToLower(name)] }

// number reads a numeric value in the setting's base (bytes, ms, or plain)
// and checks it against the setting's range.
func (s Setting) number(value string) (float64, error) {
	m := numberWithUnit.FindStringSubmatch(value)
	if m == nil {
		return 0, fmt.Errorf("%s takes a number%s, not %q", s.Name, unitHint(s.Unit), value)
	}
	n, err := strconv.ParseFloat(m[1], 64)
	if err != nil || math.IsInf(n, 0) || math.IsNaN(n) {
		return 0, fmt.Errorf("%s takes a number%s, not %q", s.Name, unitHint(s.Unit), value)
	}
	kind, size, hasUnit := baseUnit(s.Unit)
	if !hasUnit {
		size = 1 // a plain number is its own base; its range is as written
	}
	switch {
	case m[2] == "" && hasUnit:
		n *= size // a bare number counts in the setting's own unit
	case m[2] != "" && !hasUnit:
		return 0, fmt.Errorf("%s takes a plain number, not %q", s.Name, value)
	case m[2] != "":
		table := memoryUnits
		if kind == "time" {
			table = timeUnits
		}
		f, ok := table[m[2]]
		if !ok {
			return 0, fmt.Errorf("%s: %q is not a unit for it; use %s", s.Name, m[2], unitList(kind))
		}
		n *= f
	}
	if math.IsInf(n, 0) {
		return 0, fmt.Errorf("%s = %q is out of range", s.Name, value)
	}
	if s.VarType == "integer" && hasUnit {
		// The server keeps whole units of the setting, rounding half to
		// even as rint() does.
		n = math.RoundToEven(n/size) * size
	}
	if s.VarType == "integer" && !hasUnit && n != math.Trunc(n) {
		return 0, fmt.Errorf("%s takes a whole number, not %q", s.Name, value)
	}
	if n == 0 {
		n = 0 // -0 (from "-0", or "-1kB" rounded to 8kB pages) is 0
	}
	if lo, hi, ok := s.bounds(size); ok && (n < lo || n > hi) {
		return 0, fmt.Errorf("%s = %q is out of range: it must lie between %s and %s%s", s.Name, value, s.MinVal, s.MaxVal, unitSuffix(s.Unit))
	}
	return n, nil
}

// bounds returns the setting's range in its base unit.
func (s Setting) bounds(size float64) (lo, hi float64, ok bool) {
	if s.MinVal == "" || s.MaxVal == "" {
		return 0, 0, false
	}
	l, err1 := strconv.ParseFloat(s.MinVal, 64)
	h, err2 := strconv.ParseFloat(s.MaxVal, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, false
	}
	return l * size, h * size, true
}

func unitHint(unit string) string {
	kind, _, ok := baseUnit(unit)
	if !ok {
		return ""
	}
	return " with an optional unit (" + unitList(kind) + ")"
}

func unitSuffix(unit string) string {
	if unit == "" {
		return ""
	}
	return " (in units of " + unit + ")"
}

func unitList(kind string) string {
	if kind == "time" {
		return "us, ms, s, min, h, d"
	}
	return "B, kB, MB, GB, TB"
}

// Equal reports whether two values of s mean the same; values that do not
// parse compare as written.
func Equal(s Setting, a, b string) bool {
	ca, errA := Canonical(s, a)
	cb, errB := Canonical(s, b)
	if errA != nil || errB != nil {
		return strings.TrimSpace(a) == strings.TrimSpace(b)
	}
	return ca == cb
}

// SortedNames returns the keys of a settings map, sorted.
func SortedNames(m map[string]string) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

// LogErrors picks the server's complaints from the end of its log: lines
// with FATAL, PANIC or ERROR, at most n, oldest first.
func LogErrors(log string, n int) []string {
	var out []string
	for line := range strings.SplitSeq(log, "\n") {
		l := strings.TrimSpace(line)
		if strings.Contains(l, "FATAL:") || strings.Contains(l, "PANIC:") || strings.Contains(l, "ERROR:") {
			out = append(out, l)
		}
	}
	return out[len(out)-min(len(out), max(n, 0)):]
}
