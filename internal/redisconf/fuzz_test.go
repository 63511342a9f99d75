package redisconf

import (
	"strings"
	"testing"
)

// fuzzParams are the parameters the fuzz targets draw from: one of each
// kind Normalize treats apart, and one it does not know.
var fuzzParams = []string{
	"maxmemory", "maxmemory-clients", "save", "client-output-buffer-limit", "appendonly", "maxmemory-policy",
	"oom-score-adj", "shutdown-on-sigterm", "notify-keyspace-events", "unixsocketperm", "oom-score-adj-values",
	"latency-tracking-info-percentiles", "bind", "dir", "logfile", "tcp-backlog", "replicaof", "slaveof",
}

func FuzzNormalize(f *testing.F) {
	for i, tc := range normalizeCases {
		f.Add(uint8(i), tc.in)
	}
	for i, tc := range equalCases {
		f.Add(uint8(i), tc.a)
	}
	f.Add(uint8(0), "99999999999999999999999gb")
	f.Add(uint8(3), "normal\t0 0 0\nreplica 1 2 3")
	f.Add(uint8(10), "1e2 1E-3 0x10")
	f.Fuzz(func(t *testing.T, which uint8, value string) {
		param := fuzzParams[int(which)%len(fuzzParams)]
		n, err := Normalize(param, value)
		if err != nil {
			if n != "" {
				t.Fatalf("Normalize(%q, %q) = %q with error %v", param, value, n, err)
			}
			if !Equal(param, value, value) {
				t.Fatalf("Equal(%q, %q, itself) = false", param, value)
			}
			return
		}
		again, err := Normalize(param, n)
		if err != nil || again != n {
			t.Fatalf("Normalize(%q, %q) = %q, then %q, %v", param, value, n, again, err)
		}
		if n != strings.TrimSpace(n) {
			t.Fatalf("Normalize(%q, %q) = %q, not trimmed", param, value, n)
		}
		if param != "client-output-buffer-limit" || n != "" {
			if !Equal(param, value, n) || !Equal(param, n, value) {
				t.Fatalf("Equal(%q, %q, %q) = false", param, value, n)
			}
		}
	})
}

func FuzzSetInConfigFile(f *testing.F) {
	for i, tc := range setCases {
		f.Add(tc.content, uint8(i), tc.value)
	}
	f.Add("maxmemory 1gb\r\n# x\r\nMAXMEMORY 2gb", uint8(0), "3gb")
	f.Add("save 900 1\nsave 300 10\nsave \"\"\n", uint8(2), "60 10000")
	f.Add("logfile 'a\\'b'\nlogfile \"\\x00\"", uint8(14), "\x00\xff\"'\\ \t")
	f.Fuzz(func(t *testing.T, content string, which uint8, value string) {
		param := fuzzParams[int(which)%len(fuzzParams)]
		got := SetInConfigFile(content, param, value)

		want := value
		if multiWord[canonical(param)] {
			want = strings.Join(strings.Fields(value), " ")
		}
		if v, ok := ConfigFileValue(got, param); !ok || v != want {
			t.Fatalf("after SetInConfigFile(%q, %q, %q) = %q, ConfigFileValue = %q, %v; want %q",
				content, param, value, got, v, ok, want)
		}
		// One active line holds the parameter; every other line is kept
		// byte for byte, in order, earlier lines for the parameter only
		// commented out.
		isParam := func(l fileLine) bool {
			p, _, ok := directive(l.text)
			return ok && p == canonical(param)
		}
		orig, out := splitLines(content), splitLines(got)
		last := -1
		for i, l := range orig {
			if isParam(l) {
				last = i
			}
		}
		if last < 0 {
			last = len(orig) + 1 // appended after TerraformComment
			if len(out) != len(orig)+2 || out[len(orig)].text != TerraformComment {
				t.Fatalf("SetInConfigFile(%q, %q, %q) = %q: not appended under the comment", content, param, value, got)
			}
		} else if len(out) != len(orig) {
			t.Fatalf("SetInConfigFile(%q, %q, %q) = %q: %d lines, had %d", content, param, value, got, len(out), len(orig))
		}
		for i, l := range out {
			if isParam(l) != (i == last) {
				t.Fatalf("SetInConfigFile(%q, %q, %q) = %q: line %d %q", content, param, value, got, i, l.text)
			}
			if i >= len(orig) || i == last {
				continue
			}
			want := orig[i]
			if isParam(want) {
				want.text = "# " + want.text
			}
			line, was := l.text+l.end, want.text+want.end
			if want.end == "" && i == len(orig)-1 { // gains a line ending before the appended lines
				appended := "\n"
				if orig[0].end == "\r\n" {
					appended = "\r\n"
				}
				line = strings.TrimSuffix(line, appended)
			}
			if line != was {
				t.Fatalf("SetInConfigFile(%q, %q, %q) = %q: line %d is %q, was %q", content, param, value, got, i, l, orig[i])
			}
		}
		if SetInConfigFile(got, param, value) != got {
			t.Fatalf("SetInConfigFile not stable on %q", got)
		}
	})
}

func FuzzClassifyError(f *testing.F) {
	for _, tc := range classifyCases {
		f.Add(tc.msg)
	}
	f.Add("NOPERM '")
	f.Add("ERR CONFIG SET failed (possibly related to argument '') - ")
	f.Fuzz(func(t *testing.T, msg string) {
		kind, detail := ClassifyError(msg)
		switch kind {
		case KindAuth, KindNoPerm, KindNoConfigCommand, KindUnknownCommand, KindImmutable, KindProtected,
			KindUnknownParameter, KindInvalid, KindRewrite, KindLoading, KindOther:
		default:
			t.Fatalf("ClassifyError(%q) kind %q", msg, kind)
		}
		// The detail is a name or plain words, never free text.
		if strings.ContainsAny(detail, "'`\"\n\r:/\\") || len(detail) > len(msg) && detail != "no config file" {
			t.Fatalf("ClassifyError(%q) detail %q", msg, detail)
		}
	})
}
