package kernel

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

func FuzzParseSelector(f *testing.F) {
	for _, tc := range selectorCases {
		f.Add(tc.in)
	}
	f.Add("always [madvise] never [never]")
	f.Add("[always]\u00a0madvise\u2028never")
	f.Fuzz(func(t *testing.T, s string) {
		active, choices, err := ParseSelector(s)
		if err != nil {
			if active != "" || choices != nil {
				t.Fatalf("error %v with results %q, %q", err, active, choices)
			}
			return
		}
		if strings.TrimSpace(s) == "" {
			if active != "" || choices != nil {
				t.Fatalf("blank input gave %q, %q", active, choices)
			}
			return
		}
		n := 0
		for _, c := range choices {
			if c == "" || strings.ContainsAny(c, "[]") || strings.ContainsFunc(c, unicode.IsSpace) {
				t.Fatalf("bad choice %q in %q", c, choices)
			}
			if c == active {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("active %q appears %d times in %q", active, n, choices)
		}
		// The choices, with the active one bracketed, are the input's words.
		words := make([]string, len(choices))
		for i, c := range choices {
			words[i] = c
			if c == active {
				words[i] = "[" + c + "]"
			}
		}
		if !reflect.DeepEqual(words, strings.Fields(s)) {
			t.Fatalf("choices %q (active %q) do not rebuild %q", choices, active, s)
		}
	})
}

func FuzzParseRangeList(f *testing.F) {
	for _, tc := range rangeCases {
		f.Add(tc.in)
	}
	f.Add("0-8191")
	f.Add("0-8192")
	f.Add("00-01,002")
	f.Add(strings.Repeat("\xc8", 100) + "-" + strings.Repeat("\xf4", 100))
	f.Fuzz(func(t *testing.T, s string) {
		ranges, err := ParseRangeList(s)
		if err != nil {
			if ranges != nil {
				t.Fatalf("error %v with ranges %v", err, ranges)
			}
			// Each quoted value is clipped to 64 bytes, which an invalid
			// UTF-8 byte quotes as 4: short, whatever the input's size.
			if len(err.Error()) > 1024 {
				t.Fatalf("error not clipped: %d bytes", len(err.Error()))
			}
			return
		}
		if len(ranges) == 0 {
			t.Fatalf("no error and no ranges for %q", s)
		}
		total := 0
		parts := make([]string, len(ranges))
		for i, r := range ranges {
			if r.Lo < 0 || r.Lo > r.Hi || r.Hi > MaxListID {
				t.Fatalf("bad range %v in %v", r, ranges)
			}
			if i > 0 && r.Lo <= ranges[i-1].Hi {
				t.Fatalf("ranges not ascending and disjoint: %v", ranges)
			}
			total += r.Hi - r.Lo + 1
			parts[i] = strconv.Itoa(r.Lo) + "-" + strconv.Itoa(r.Hi)
		}
		again, err := ParseRangeList(strings.Join(parts, ","))
		if err != nil || !reflect.DeepEqual(again, ranges) {
			t.Fatalf("re-rendered %v parsed to %v, %v", ranges, again, err)
		}
		// CPUs expands exactly these ranges, or refuses them as too many.
		ids, err := CPUs(s)
		if total > MaxCPUs {
			if err == nil {
				t.Fatalf("CPUs(%q) expanded %d ids, above MaxCPUs", s, len(ids))
			}
			return
		}
		if err != nil || len(ids) != total {
			t.Fatalf("CPUs(%q) = %d ids, %v; want %d", s, len(ids), err, total)
		}
		for i := 1; i < len(ids); i++ {
			if ids[i] <= ids[i-1] {
				t.Fatalf("CPUs(%q) not strictly ascending at %d", s, i)
			}
		}
	})
}

func FuzzCmdlineTHP(f *testing.F) {
	for _, tc := range cmdlineCases {
		f.Add(tc.in)
	}
	f.Add("transparent_hugepage=\u00a0never")
	f.Fuzz(func(t *testing.T, cmdline string) {
		v := CmdlineTHP(cmdline)
		if strings.ContainsFunc(v, unicode.IsSpace) {
			t.Fatalf("CmdlineTHP(%q) = %q contains whitespace", cmdline, v)
		}
		if !strings.Contains(cmdline, "transparent_hugepage=") && v != "" {
			t.Fatalf("CmdlineTHP(%q) = %q without the parameter", cmdline, v)
		}
		if v != "" && !strings.Contains(cmdline, "transparent_hugepage="+v) {
			t.Fatalf("CmdlineTHP(%q) = %q, not a value of the parameter", cmdline, v)
		}
		// Anything after "--" belongs to init and cannot change the answer.
		if got := CmdlineTHP(cmdline + " -- transparent_hugepage=x"); got != v {
			t.Fatalf("init arguments changed %q to %q", v, got)
		}
	})
}

func FuzzParsePersisted(f *testing.F) {
	for _, s := range persistedSettings {
		files := s.Render()
		f.Add(files[TmpfilesFile], files[LimitsFile])
	}
	for _, tc := range persistedCases {
		f.Add(tc.tmpfiles, tc.limits)
	}
	f.Fuzz(func(t *testing.T, tmpfiles, limits string) {
		s, err := ParsePersisted(tmpfiles, limits)
		if err != nil {
			if !reflect.DeepEqual(s, Settings{}) {
				t.Fatalf("error %v with settings %s", err, describe(s))
			}
			return
		}
		for _, w := range []string{s.CPUGovernor, s.THPEnabled, s.THPDefrag} {
			if w != "" && !ValidWord(w) {
				t.Fatalf("parsed invalid word %q", w)
			}
		}
		for item, l := range map[string]*Limit{NoFile: s.NoFile, NProc: s.NProc} {
			if l == nil {
				continue
			}
			for _, v := range []string{l.Soft, l.Hard} {
				if _, _, err := ParseLimitValue(item, v); err != nil {
					t.Fatalf("parsed invalid %s value %q: %v", item, v, err)
				}
			}
		}
		// What we read back, we can write and read back to the same thing.
		files := s.Render()
		again, err := ParsePersisted(files[TmpfilesFile], files[LimitsFile])
		if err != nil {
			t.Fatalf("rendered %s does not parse: %v\n%s\n%s", describe(s), err, files[TmpfilesFile], files[LimitsFile])
		}
		if !reflect.DeepEqual(again, s) { // DeepEqual compares the limits by value
			t.Fatalf("round trip changed %s to %s", describe(s), describe(again))
		}
	})
}

func FuzzLimitCheck(f *testing.F) {
	for _, tc := range checkCases {
		f.Add(tc.item, tc.limit.Soft, tc.limit.Hard, tc.nrOpen)
	}
	f.Add("core", Unlimited, Unlimited, uint64(0))
	f.Add(NoFile, "18446744073709551614", "18446744073709551614", uint64(0))
	f.Fuzz(func(t *testing.T, item, softStr, hardStr string, nrOpen uint64) {
		l := Limit{softStr, hardStr}
		if err := l.Check(item, nrOpen); err != nil {
			return
		}
		soft, softInf, err := ParseLimitValue(item, softStr)
		if err != nil {
			t.Fatalf("Check passed with bad soft %q: %v", softStr, err)
		}
		hard, hardInf, err := ParseLimitValue(item, hardStr)
		if err != nil {
			t.Fatalf("Check passed with bad hard %q: %v", hardStr, err)
		}
		if !hardInf && (softInf || soft > hard) {
			t.Fatalf("Check passed %+v: soft above hard", l)
		}
		if item == NoFile {
			if softInf || hardInf {
				t.Fatalf("Check passed an unlimited nofile %+v", l)
			}
			if nrOpen > 0 && hard > nrOpen {
				t.Fatalf("Check passed %+v above nr_open %d", l, nrOpen)
			}
		}
		// A limit that passes survives the persisted files unchanged.
		var s Settings
		switch item {
		case NoFile:
			s.NoFile = &l
		case NProc:
			s.NProc = &l
		default:
			return
		}
		files := s.Render()
		again, err := ParsePersisted(files[TmpfilesFile], files[LimitsFile])
		if err != nil || !reflect.DeepEqual(again, s) {
			t.Fatalf("round trip of %s gave %s, %v", describe(s), describe(again), err)
		}
	})
}
