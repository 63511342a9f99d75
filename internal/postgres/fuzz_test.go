package postgres

import (
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/mcpai/terraform-provider-mcpai/internal/similar"
)

// enumSep separates the choices of an enum in the fuzzed string.
const enumSep = ","

func FuzzCanonical(f *testing.F) {
	add := func(s Setting, v, o string) {
		f.Add(s.VarType, s.Unit, s.MinVal, s.MaxVal, strings.Join(s.EnumVals, enumSep), v, o)
	}
	for _, tc := range canonicalCases {
		s := pg15[tc.setting]
		add(s, tc.in, s.Setting)
	}
	for _, tc := range equalCases {
		add(pg15[tc.setting], tc.a, tc.b)
	}
	add(Setting{VarType: "real", Unit: "ms", MinVal: "0", MaxVal: "100"}, "1500us", "1.5")
	add(Setting{VarType: "integer", Unit: "kB"}, "1e308TB", "-1e308TB")
	add(Setting{VarType: "integer", Unit: "0kB"}, "5", "5kB")
	add(Setting{VarType: "integer", Unit: "widgets", MinVal: "0x10", MaxVal: "1e999"}, "7", "7.5")
	add(Setting{VarType: "enum", EnumVals: []string{"İ", "ǅ", "\xff"}}, "i̇", "\xfe")
	f.Fuzz(func(t *testing.T, varType, unit, minVal, maxVal, enums, v, o string) {
		s := Setting{Name: "fuzzed_setting", VarType: varType, Unit: unit, MinVal: minVal, MaxVal: maxVal, EnumVals: strings.Split(enums, enumSep)}
		if _, size, ok := baseUnit(unit); ok && size == 0 {
			// pg_settings never counts in units of none ("0kB"): every
			// value would be 0/0.
			s.Unit = ""
		}
		c, err := Canonical(s, v)
		c2, err2 := Canonical(s, v)
		if c != c2 || (err == nil) != (err2 == nil) || (err != nil && err.Error() != err2.Error()) {
			t.Fatalf("Canonical(%+v, %q) = %q, %v then %q, %v", s, v, c, err, c2, err2)
		}
		if !Equal(s, v, v) {
			t.Fatalf("Equal(%+v, %q, itself) = false", s, v)
		}
		if Equal(s, v, o) != Equal(s, o, v) {
			t.Fatalf("Equal(%+v, %q, %q) is not symmetric", s, v, o)
		}
		if err != nil {
			if c != "" || !strings.HasPrefix(err.Error(), s.Name) {
				t.Fatalf("Canonical(%+v, %q) = %q, %v", s, v, c, err)
			}
			// What does not parse compares as written.
			if Equal(s, v, o) != (strings.TrimSpace(v) == strings.TrimSpace(o)) {
				t.Fatalf("Equal(%+v, %q, %q) = %v for a value that does not parse", s, v, o, Equal(s, v, o))
			}
			return
		}
		if co, err := Canonical(s, o); err == nil && Equal(s, v, o) != (c == co) {
			t.Fatalf("Equal(%+v, %q, %q) = %v, but their forms are %q and %q", s, v, o, Equal(s, v, o), c, co)
		}
		if slices.Contains([]string{"bool", "enum", "integer", "real"}, s.VarType) {
			// Spaces around a value do not count, but for strings.
			if p, err := Canonical(s, " "+v+"\t\n"); err != nil || p != c {
				t.Fatalf("Canonical(%+v, %q) = %q, %v; want %q as without spaces", s, " "+v+"\t\n", p, err, c)
			}
		}

		switch s.VarType {
		case "bool":
			if c != "on" && c != "off" {
				t.Fatalf("Canonical(bool, %q) = %q", v, c)
			}
		case "enum":
			if !slices.ContainsFunc(s.EnumVals, func(e string) bool { return strings.ToLower(e) == c }) {
				t.Fatalf("Canonical(%+v, %q) = %q, not a choice", s, v, c)
			}
		case "integer", "real":
			checkNumber(t, s, v, c)
			return
		default:
			if c != v {
				t.Fatalf("Canonical(%+v, %q) = %q; want it as written", s, v, c)
			}
		}
		// The canonical form is a value of its own, and its own form.
		if again, err := Canonical(s, c); err != nil || again != c {
			t.Fatalf("Canonical(%+v, %q) = %q, %v; want it unchanged", s, c, again, err)
		}
	})
}

// checkNumber checks the canonical form c of a number v: a finite number
// in the setting's base unit (bytes or ms), in range, whole where the
// setting keeps whole units, that reads back, written in the base unit, as
// itself.
func checkNumber(t *testing.T, s Setting, v, c string) {
	t.Helper()
	x, err := strconv.ParseFloat(c, 64)
	if err != nil || math.IsInf(x, 0) || math.IsNaN(x) || strconv.FormatFloat(x, 'g', -1, 64) != c || c == "-0" {
		t.Fatalf("Canonical(%+v, %q) = %q, not a finite number in shortest form", s, v, c)
	}
	kind, size, hasUnit := baseUnit(s.Unit)
	base := ""
	switch {
	case !hasUnit:
		size = 1
	case kind == "memory":
		base = "B"
	default:
		base = "ms"
	}
	if lo, errLo := strconv.ParseFloat(s.MinVal, 64); errLo == nil {
		if hi, errHi := strconv.ParseFloat(s.MaxVal, 64); errHi == nil && (x < lo*size || x > hi*size) {
			t.Fatalf("Canonical(%+v, %q) = %q, outside [%s, %s]", s, v, c, s.MinVal, s.MaxVal)
		}
	}
	if s.VarType == "integer" && x/size != math.Trunc(x/size) && math.Abs(x/size) < 1<<52 {
		t.Fatalf("Canonical(%+v, %q) = %q, not a whole number of %s", s, v, c, s.Unit)
	}
	if again, err := Canonical(s, c+base); err != nil || again != c {
		t.Fatalf("Canonical(%+v, %q) = %q, %v; want %q, the form of %q", s, c+base, again, err, c, v)
	}
	if !Equal(s, v, c+base) {
		t.Fatalf("Equal(%+v, %q, %q) = false", s, v, c+base)
	}
}

// isName is the documented pattern of a setting name, written out.
func isName(s string) bool {
	if s == "" || len(s) > 63 || strings.Count(s, ".") > 1 {
		return false
	}
	for w := range strings.SplitSeq(s, ".") {
		if w == "" || (w[0] >= '0' && w[0] <= '9') {
			return false
		}
		for _, r := range []byte(w) {
			if (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') && r != '_' {
				return false
			}
		}
	}
	return true
}

func FuzzValidateName(f *testing.F) {
	for _, tc := range nameCases {
		f.Add(tc.name)
	}
	for name := range pg15 {
		f.Add(name)
	}
	f.Add("pg_stat_statements.max\x00")
	f.Add("shared_buffers' = '1")
	f.Add("ſhared_buffers")
	known := slices.Sorted(maps.Keys(pg15))
	f.Fuzz(func(t *testing.T, name string) {
		err := ValidateName(name)
		if (err == nil) != isName(name) {
			t.Fatalf("ValidateName(%q) = %v; the pattern says %v", name, err, isName(name))
		}
		if err != nil {
			if !strings.Contains(err.Error(), strconv.Quote(name)) {
				t.Fatalf("ValidateName(%q) = %v, not naming it", name, err)
			}
		} else {
			if strings.ContainsAny(name, "\"'`; \t\r\n\x00=") || len(name) > 63 {
				t.Fatalf("ValidateName(%q) accepted it", name)
			}
			if IsCustom(name) != strings.Contains(name, ".") {
				t.Fatalf("IsCustom(%q) = %v", name, IsCustom(name))
			}
		}

		s := Suggest(name, known)
		if s == "" {
			for _, k := range known {
				if similar.Distance(name, k, similar.MaxEdits+1) <= similar.MaxEdits {
					t.Fatalf("Suggest(%q) = \"\", but %q is close", name, k)
				}
			}
			return
		}
		ds := similar.Distance(name, s, similar.MaxEdits+1)
		if !slices.Contains(known, s) || ds > similar.MaxEdits {
			t.Fatalf("Suggest(%q) = %q", name, s)
		}
		for _, k := range known {
			if dk := similar.Distance(name, k, similar.MaxEdits+1); dk < ds || (dk == ds && k < s) {
				t.Fatalf("Suggest(%q) = %q at %d, but %q is at %d", name, s, ds, k, dk)
			}
		}
	})
}

func FuzzLogErrors(f *testing.F) {
	f.Add(postgresLog, 6)
	f.Add(postgresLog, 1)
	f.Add(postgresLog, -1)
	f.Add(strings.ReplaceAll(postgresLog, "\n", "\r\n"), 2)
	f.Add("ERROR:\n\n PANIC: \r\nFATAL:FATAL:\nerror: x\n", 0)
	f.Add("\x85ERROR:\u00a0\u2028x", 3)
	f.Fuzz(func(t *testing.T, log string, n int) {
		got := LogErrors(log, n)
		all := LogErrors(log, len(log)+1)
		if len(got) > max(n, 0) {
			t.Fatalf("LogErrors(n=%d) gave %d lines", n, len(got))
		}
		// The last n of all the lines, oldest first.
		if len(got) > 0 && !reflect.DeepEqual(got, all[len(all)-len(got):]) {
			t.Fatalf("LogErrors(n=%d) = %q, not the last of %q", n, got, all)
		}
		if n >= len(all) && len(got) != len(all) {
			t.Fatalf("LogErrors(n=%d) = %d of %d lines", n, len(got), len(all))
		}
		want := 0
		for line := range strings.SplitSeq(log, "\n") {
			if strings.Contains(line, "FATAL:") || strings.Contains(line, "PANIC:") || strings.Contains(line, "ERROR:") {
				want++
			}
		}
		if len(all) != want {
			t.Fatalf("LogErrors gave %d lines; the log has %d complaints", len(all), want)
		}
		for _, l := range all {
			if !strings.Contains(l, "FATAL:") && !strings.Contains(l, "PANIC:") && !strings.Contains(l, "ERROR:") {
				t.Fatalf("LogErrors gave %q, not a complaint", l)
			}
			if l != strings.TrimSpace(l) || strings.Contains(l, "\n") || !strings.Contains(log, l) {
				t.Fatalf("bad line %q", l)
			}
		}
	})
}
