package dockerd

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/mcpai/terraform-provider-mcpai/internal/similar"
)

func FuzzParse(f *testing.F) {
	for _, tc := range parseCases {
		f.Add([]byte(tc.in))
	}
	for _, tc := range changedCases {
		f.Add([]byte(tc.old))
		f.Add([]byte(tc.next))
	}
	f.Add([]byte(`{"pidfile":"/run/d.pid","hosts":["unix:///run/d.sock"],"storage-drvier":"vfs"}`))
	f.Add([]byte(`{"a":"\xff","\xfe":1}`))
	f.Add([]byte(`{"labels":["\u2028<>&"],"k":1e400,"n":-0.0e-0}`))
	f.Add([]byte(`{"a":[[[[{}]]]],"b":{"":{"":null}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := Parse(data)
		if err != nil {
			if doc != nil {
				t.Fatalf("error %v with document %v", err, doc)
			}
			if c, err2 := Canonical(data); err2 == nil || c != "" {
				t.Fatalf("Parse failed (%v) but Canonical gave %q, %v", err, c, err2)
			}
			return
		}
		if doc == nil {
			t.Fatal("nil document without an error")
		}
		if len(strings.TrimSpace(string(data))) == 0 && len(doc) != 0 {
			t.Fatalf("blank input gave %v", doc)
		}
		for k, v := range doc {
			if !json.Valid([]byte(v)) {
				t.Fatalf("value of %q is not JSON: %s", k, v)
			}
			var c bytes.Buffer
			if err := json.Compact(&c, []byte(v)); err != nil || c.String() != v {
				t.Fatalf("value of %q is not compact: %s", k, v)
			}
		}
		keys := doc.Keys()
		if len(keys) != len(doc) || !slices.IsSorted(keys) {
			t.Fatalf("Keys() = %q for %d keys", keys, len(doc))
		}

		// What we read, we render, and read back to the same document.
		s := doc.String()
		again, err := Parse([]byte(s))
		if err != nil || !reflect.DeepEqual(again, doc) {
			t.Fatalf("String %s parsed to %v, %v; want %v", s, again, err, doc)
		}
		if again.String() != s {
			t.Fatalf("String not stable: %s then %s", s, again.String())
		}
		if c, err := Canonical(data); err != nil || c != s {
			t.Fatalf("Canonical = %q, %v; want %q", c, err, s)
		}
		ind := doc.Indent()
		if !strings.HasSuffix(string(ind), "}\n") {
			t.Fatalf("Indent does not end with }\\n: %q", ind)
		}
		again, err = Parse(ind)
		if err != nil || !reflect.DeepEqual(again, doc) {
			t.Fatalf("Indent %s parsed to %v, %v; want %v", ind, again, err, doc)
		}

		if c := Changed(doc, doc); c != nil {
			t.Fatalf("Changed(doc, doc) = %q", c)
		}
		if c := Changed(Document{}, doc); !reflect.DeepEqual(c, nilIfEmpty(keys)) {
			t.Fatalf("Changed({}, doc) = %q; want %q", c, keys)
		}
		for _, k := range NeedRestart(keys) {
			if Reloadable(k) || doc[k] == "" {
				t.Fatalf("NeedRestart gave %q", k)
			}
		}
		for _, u := range UnknownKeys(doc) {
			if knownKeys[u.Key] || doc[u.Key] == "" {
				t.Fatalf("UnknownKeys gave %q", u.Key)
			}
			if u.Suggestion != "" && (!knownKeys[u.Suggestion] || u.Suggestion == u.Key) {
				t.Fatalf("UnknownKeys suggested %q for %q", u.Suggestion, u.Key)
			}
		}
		for _, eff := range []Effective{{}, running} {
			p := Pending(doc, eff)
			if !slices.IsSorted(p) || len(slices.Compact(slices.Clone(p))) != len(p) {
				t.Fatalf("Pending not sorted and unique: %q", p)
			}
			for _, k := range p {
				if doc[k] == "" {
					t.Fatalf("Pending gave %q, absent from the document", k)
				}
			}
		}
		if p := doc.PidFile(); !strings.HasPrefix(p, "/") {
			t.Fatalf("PidFile() = %q", p)
		}
		if p := doc.Socket(); !strings.HasPrefix(p, "/") {
			t.Fatalf("Socket() = %q", p)
		}
	})
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

// argSep separates arguments in the fuzzed string; a newline lets an
// argument hold spaces.
const argSep = "\n"

func FuzzFlagKeys(f *testing.F) {
	for _, tc := range flagCases {
		f.Add(strings.Join(tc.args, argSep))
	}
	for _, tc := range execStartCases {
		if argv, err := ParseExecStart(tc.in); err == nil && len(argv) > 1 {
			f.Add(strings.Join(argv[1:], argSep))
		}
	}
	f.Add(strings.Join(ParseDefaultOpts(`DOCKER_OPTS="--dns 8.8.8.8 --dns 8.8.4.4 -g /srv -Dl debug"`), argSep))
	f.Add("-\n--\n-H")
	f.Add("--log-opt=\n-s\n\n-p\n-")
	f.Fuzz(func(t *testing.T, s string) {
		args := strings.Split(s, argSep)
		flags := FlagKeys(args)
		if flags == nil {
			t.Fatal("nil map")
		}
		end := slices.Index(args, "--")
		if end < 0 {
			end = len(args)
		}
		for k, v := range flags {
			if !knownKeys[k] {
				t.Fatalf("FlagKeys(%q) gave unknown key %q", args, k)
			}
			if !strings.HasPrefix(v, "-") {
				t.Fatalf("FlagKeys(%q) gave %q: %q, not a flag", args, k, v)
			}
			// The flag as written: one argument, or one and its value.
			found := false
			for i := 0; i < end && !found; i++ {
				found = v == args[i] || (i+1 < end && v == args[i]+" "+args[i+1])
			}
			if !found {
				t.Fatalf("FlagKeys(%q) gave %q: %q, not an argument before --", args, k, v)
			}
		}
		// Whatever follows "--" is not dockerd's.
		more := append(slices.Clone(args), "--", "-D", "--data-root=/x", "-H", "fd://")
		if got := FlagKeys(more); !reflect.DeepEqual(got, flags) {
			t.Fatalf("arguments after -- changed %q to %q", flags, got)
		}
		// A document setting every key conflicts with every flag.
		doc := Document{}
		for k := range flags {
			doc[k] = "null"
		}
		c := Conflicts(doc, flags)
		if len(c) != len(flags) {
			t.Fatalf("Conflicts gave %d of %d flags", len(c), len(flags))
		}
		for i, x := range c {
			if flags[x.Key] != x.Flag || (i > 0 && c[i-1].Key >= x.Key) {
				t.Fatalf("Conflicts = %+v for %q", c, flags)
			}
		}
	})
}

func FuzzParseExecStart(f *testing.F) {
	for _, tc := range execStartCases {
		f.Add(tc.in)
	}
	f.Add("ExecStart={ argv[]= ; }")
	f.Add("ExecStart={ argv[]=a\t; b ; }")
	f.Add("ExecStart=argv[]=argv[]=x ;y")
	f.Fuzz(func(t *testing.T, s string) {
		argv, err := ParseExecStart(s)
		if err != nil {
			if argv != nil {
				t.Fatalf("error %v with argv %q", err, argv)
			}
			if len(err.Error()) > 1024 {
				t.Fatalf("error not clipped: %d bytes", len(err.Error()))
			}
			return
		}
		hasLine := false
		for line := range strings.SplitSeq(s, "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "ExecStart=") {
				hasLine = true
				break
			}
		}
		if !hasLine {
			t.Fatalf("ParseExecStart(%q) = %q without an ExecStart= line", s, argv)
		}
		if !strings.Contains(s, "argv[]=") && argv != nil {
			t.Fatalf("ParseExecStart(%q) = %q without argv[]=", s, argv)
		}
		for _, w := range argv {
			if w == "" || strings.ContainsFunc(w, unicode.IsSpace) || !strings.Contains(s, w) {
				t.Fatalf("ParseExecStart(%q) gave bad word %q", s, w)
			}
		}
		// The first ExecStart= line is the answer; later ones do not count.
		later := s + "\nExecStart={ path=/x ; argv[]=/x --debug ; }"
		if got, err := ParseExecStart(later); err != nil || !reflect.DeepEqual(got, argv) {
			t.Fatalf("a later line changed %q to %q, %v", argv, got, err)
		}
		// The words, printed as systemd does, read back the same, unless
		// one begins with the separator.
		if len(argv) == 0 || slices.ContainsFunc(argv, func(w string) bool { return strings.HasPrefix(w, ";") }) {
			return
		}
		line := "ExecStart={ path=/usr/bin/dockerd ; argv[]=" + strings.Join(argv, " ") + " ; ignore_errors=no }"
		if got, err := ParseExecStart(line); err != nil || !reflect.DeepEqual(got, argv) {
			t.Fatalf("%q read back as %q, %v; want %q", line, got, err, argv)
		}
	})
}

func FuzzParseDefaultOpts(f *testing.F) {
	for _, tc := range defaultOptsCases {
		f.Add(tc.in)
	}
	f.Add("export DOCKER_OPTS='\u00a0-D\u2028-H x'")
	f.Add("DOCKER_OPTS=\"\"\"")
	f.Fuzz(func(t *testing.T, s string) {
		opts := ParseDefaultOpts(s)
		for _, w := range opts {
			if w == "" || strings.ContainsFunc(w, unicode.IsSpace) || !strings.Contains(s, w) {
				t.Fatalf("ParseDefaultOpts(%q) gave bad word %q", s, w)
			}
		}
		if opts != nil && !strings.Contains(s, "DOCKER_OPTS=") {
			t.Fatalf("ParseDefaultOpts(%q) = %q without DOCKER_OPTS=", s, opts)
		}
		// The last assignment wins...
		want := []string{"--debug", "-H", "fd://"}
		if got := ParseDefaultOpts(s + "\nDOCKER_OPTS=\"--debug -H fd://\""); !reflect.DeepEqual(got, want) {
			t.Fatalf("a last assignment after %q gave %q; want %q", s, got, want)
		}
		// ...and an earlier one loses to any in s.
		if opts != nil {
			if got := ParseDefaultOpts("DOCKER_OPTS=--debug\n" + s); !reflect.DeepEqual(got, opts) {
				t.Fatalf("an earlier assignment changed %q to %q", opts, got)
			}
		}
	})
}

// FuzzSuggest: the "did you mean" of unknown keys (the distance itself is
// tested in internal/similar).
func FuzzSuggest(f *testing.F) {
	f.Add("storage-driver", "storage-drvier")
	f.Add("storage-drvier", "log-opt")
	f.Add("ipv", "")
	f.Add("\xff\xfe", "\xfe\xff")
	f.Fuzz(func(t *testing.T, a, b string) {
		const limit = 4
		for _, key := range []string{a, b} {
			s := suggest(key)
			u := UnknownKeys(Document{key: "true"})
			if knownKeys[key] {
				if s != key || u != nil {
					t.Fatalf("known key %q: suggest %q, UnknownKeys %+v", key, s, u)
				}
				continue
			}
			if !reflect.DeepEqual(u, []Unknown{{Key: key, Suggestion: s}}) {
				t.Fatalf("UnknownKeys of %q = %+v; want suggestion %q", key, u, s)
			}
			if s == "" {
				for k := range knownKeys {
					if similar.Distance(key, k, limit) < limit {
						t.Fatalf("no suggestion for %q, but %q is close", key, k)
					}
				}
				continue
			}
			if !knownKeys[s] || s == key {
				t.Fatalf("suggest(%q) = %q", key, s)
			}
			ds := similar.Distance(key, s, limit)
			for k := range knownKeys {
				if dk := similar.Distance(key, k, limit); dk < ds || (dk == ds && k < s) {
					t.Fatalf("suggest(%q) = %q at %d, but %q is at %d", key, s, ds, k, dk)
				}
			}
		}
	})
}

func FuzzErrorLines(f *testing.F) {
	f.Add(dockerdLog, 2)
	f.Add(dockerdLog, -1)
	f.Add("level=error\nLEVEL=FATAL x\n\n failed to start daemon \r\n", 0)
	f.Fuzz(func(t *testing.T, log string, n int) {
		got := ErrorLines(log, n)
		all := ErrorLines(log, len(log)+1)
		if len(got) > max(n, 0) {
			t.Fatalf("ErrorLines(n=%d) gave %d lines", n, len(got))
		}
		// The last n of all the lines, oldest first.
		if len(got) > 0 && !reflect.DeepEqual(got, all[len(all)-len(got):]) {
			t.Fatalf("ErrorLines(n=%d) = %q, not the last of %q", n, got, all)
		}
		if n >= len(all) && len(got) != len(all) {
			t.Fatalf("ErrorLines(n=%d) = %d of %d lines", n, len(got), len(all))
		}
		for _, l := range all {
			if l != strings.TrimSpace(l) || strings.Contains(l, "\n") || !strings.Contains(log, l) {
				t.Fatalf("bad line %q", l)
			}
		}
	})
}
