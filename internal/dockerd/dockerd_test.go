package dockerd

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

// The tables below also seed the fuzz targets in fuzz_test.go.

// guideConfig is the performance guide's daemon.json, as written there.
const guideConfig = `{"storage-driver":"overlay2","log-driver":"json-file","log-opts":{"max-size":"10m","max-file":"3"},"default-ulimits":{"nofile":{"Name":"nofile","Hard":65536,"Soft":65536}},"exec-opts":["native.cgroupdriver=systemd"],"live-restore":true,"metrics-addr":"127.0.0.1:9323","data-root":"/var/lib/docker"}`

// guideReordered is the same document with its keys, nested keys included,
// in another order, and spaced as a person would write it.
const guideReordered = `{
    "data-root": "/var/lib/docker",
    "metrics-addr" : "127.0.0.1:9323",
    "live-restore": true,
    "exec-opts": [ "native.cgroupdriver=systemd" ],
    "default-ulimits": {
        "nofile": { "Soft": 65536, "Hard": 65536, "Name": "nofile" }
    },
    "log-opts": {"max-file": "3",	"max-size": "10m"},
    "log-driver": "json-file",
    "storage-driver": "overlay2"
}
`

var guideDoc = Document{
	"storage-driver":  `"overlay2"`,
	"log-driver":      `"json-file"`,
	"log-opts":        `{"max-file":"3","max-size":"10m"}`,
	"default-ulimits": `{"nofile":{"Hard":65536,"Name":"nofile","Soft":65536}}`,
	"exec-opts":       `["native.cgroupdriver=systemd"]`,
	"live-restore":    `true`,
	"metrics-addr":    `"127.0.0.1:9323"`,
	"data-root":       `"/var/lib/docker"`,
}

type parseCase struct {
	name, in string
	want     Document
	err      string // substring of the error; "" means no error
}

var parseCases = []parseCase{
	{name: "guide", in: guideConfig, want: guideDoc},
	{name: "guide reordered", in: guideReordered, want: guideDoc},
	{name: "guide with CRLF", in: strings.ReplaceAll(guideReordered, "\n", "\r\n"), want: guideDoc},
	{name: "empty", in: "", want: Document{}},
	{name: "blank", in: " \n\t\r\n", want: Document{}},
	{name: "empty object", in: "{}", want: Document{}},
	{name: "empty object spaced", in: " {\n}\n", want: Document{}},
	{name: "numbers kept exactly", in: `{"a":65536,"b":1e3,"c":0.5,"d":-0,"e":1E+3,"f":12345678901234567890123,"g":1.50}`,
		want: Document{"a": "65536", "b": "1e3", "c": "0.5", "d": "-0", "e": "1E+3", "f": "12345678901234567890123", "g": "1.50"}},
	{name: "nested numbers kept", in: `{"default-ulimits":{"nofile":{"Hard":1e5,"Soft":0.5}}}`,
		want: Document{"default-ulimits": `{"nofile":{"Hard":1e5,"Soft":0.5}}`}},
	{name: "null false and empty values", in: `{"a":null,"b":false,"c":"","d":[],"e":{}}`,
		want: Document{"a": "null", "b": "false", "c": `""`, "d": "[]", "e": "{}"}},
	{name: "escaped key", in: `{"\u0064ebug":true}`, want: Document{"debug": "true"}},
	{name: "escapes rendered by encoding/json", in: `{"labels":["a<b&c>", "\u00e9\/"]}`,
		want: Document{"labels": `["a\u003cb\u0026c\u003e","é/"]`}},
	// Only top-level keys are checked: encoding/json keeps the last of a
	// nested pair, as dockerd does.
	{name: "nested duplicate collapses", in: `{"log-opts":{"max-size":"1m","max-size":"10m"}}`,
		want: Document{"log-opts": `{"max-size":"10m"}`}},
	{name: "array", in: `["debug"]`, err: "must be a JSON object"},
	{name: "empty array", in: `[]`, err: "must be a JSON object"},
	{name: "string", in: `"debug"`, err: "must be a JSON object"},
	{name: "number", in: `1`, err: "must be a JSON object"},
	{name: "null", in: `null`, err: "must be a JSON object"},
	{name: "trailing garbage", in: `{"debug":true} x`, err: "one JSON object and nothing after it"},
	{name: "trailing brace", in: `{"debug":true}}`, err: "one JSON object and nothing after it"},
	{name: "trailing comma after object", in: `{"debug":true},`, err: "one JSON object and nothing after it"},
	{name: "two objects", in: `{"debug":true}{"debug":false}`, err: "one JSON object and nothing after it"},
	{name: "two objects on lines", in: "{}\n{}\n", err: "one JSON object and nothing after it"},
	{name: "object then array", in: `{} []`, err: "one JSON object and nothing after it"},
	{name: "duplicate key", in: `{"debug":true,"debug":false}`, err: `key "debug" appears twice`},
	{name: "duplicate key same value", in: `{"debug":true,"live-restore":true,"debug":true}`, err: `key "debug" appears twice`},
	{name: "duplicate key escaped", in: `{"debug":true,"\u0064ebug":true}`, err: `key "debug" appears twice`},
	{name: "unclosed", in: `{"debug":true`, err: "not JSON"},
	{name: "unclosed nested", in: `{"log-opts":{"max-size":"1m"}`, err: "not JSON"},
	{name: "open brace only", in: `{`, err: "not JSON"},
	{name: "closing brace only", in: `}`, err: "not JSON"},
	{name: "trailing comma", in: `{"debug":true,}`, err: "not JSON"},
	{name: "missing comma", in: `{"debug":true "live-restore":true}`, err: "not JSON"},
	{name: "missing colon", in: `{"debug" true}`, err: "not JSON"},
	{name: "missing value", in: `{"debug":}`, err: `value of "debug"`},
	{name: "unquoted key", in: `{debug:true}`, err: "not JSON"},
	{name: "number key", in: `{1:true}`, err: "not JSON"},
	{name: "single quotes", in: `{'debug':true}`, err: "not JSON"},
	{name: "comment", in: "{\n// debug\n\"debug\":true}", err: "not JSON"},
	{name: "bad literal", in: `{"debug":True}`, err: `value of "debug"`},
	{name: "bad number", in: `{"mtu":01}`, err: "not JSON"},
	{name: "byte order mark", in: "\ufeff{}", err: "not JSON"},
	{name: "garbage", in: `daemon`, err: "not JSON"},
}

func TestParse(t *testing.T) {
	for _, tc := range parseCases {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := Parse([]byte(tc.in))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Parse(%q) = %v, %v; want error with %q", tc.in, doc, err, tc.err)
				}
				if doc != nil {
					t.Errorf("error with document %v", doc)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(doc, tc.want) {
				t.Fatalf("Parse(%q) = %v, %v; want %v", tc.in, doc, err, tc.want)
			}
		})
	}
}

func TestString(t *testing.T) {
	for _, tc := range []struct {
		name string
		doc  Document
		want string
	}{
		{name: "empty", doc: Document{}, want: "{}"},
		{name: "nil", doc: nil, want: "{}"},
		{name: "one", doc: Document{"debug": "true"}, want: `{"debug":true}`},
		{name: "sorted", doc: Document{"live-restore": "true", "debug": "false", "data-root": `"/d"`}, want: `{"data-root":"/d","debug":false,"live-restore":true}`},
		{name: "numbers as written", doc: Document{"b": "1e3", "a": "0.5", "c": "65536"}, want: `{"a":0.5,"b":1e3,"c":65536}`},
		{name: "key escaped", doc: Document{`a"b`: "1", "<": "2"}, want: `{"\u003c":2,"a\"b":1}`},
		{name: "guide", doc: guideDoc, want: `{"data-root":"/var/lib/docker","default-ulimits":{"nofile":{"Hard":65536,"Name":"nofile","Soft":65536}},"exec-opts":["native.cgroupdriver=systemd"],"live-restore":true,"log-driver":"json-file","log-opts":{"max-file":"3","max-size":"10m"},"metrics-addr":"127.0.0.1:9323","storage-driver":"overlay2"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.doc.String(); got != tc.want {
				t.Fatalf("String() = %s; want %s", got, tc.want)
			}
		})
	}
}

// Every document that parses renders to text that parses back to it, and
// rendering again gives the same text.
func TestRoundTrip(t *testing.T) {
	for _, tc := range parseCases {
		if tc.err != "" {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			doc, err := Parse([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			s := doc.String()
			again, err := Parse([]byte(s))
			if err != nil || !reflect.DeepEqual(again, doc) {
				t.Fatalf("String %s parsed to %v, %v; want %v", s, again, err, doc)
			}
			if again.String() != s {
				t.Fatalf("String not stable: %s then %s", s, again.String())
			}
			ind := doc.Indent()
			if !strings.HasSuffix(string(ind), "}\n") || strings.HasSuffix(string(ind), "\n\n") {
				t.Fatalf("Indent does not end with one newline: %q", ind)
			}
			again, err = Parse(ind)
			if err != nil || !reflect.DeepEqual(again, doc) {
				t.Fatalf("Indent %s parsed to %v, %v; want %v", ind, again, err, doc)
			}
			if c, err := Canonical(ind); err != nil || c != s {
				t.Fatalf("Canonical(Indent) = %s, %v; want %s", c, err, s)
			}
		})
	}
}

func TestIndent(t *testing.T) {
	for _, tc := range []struct {
		name string
		doc  Document
		want string
	}{
		{name: "empty", doc: Document{}, want: "{}\n"},
		{name: "nil", doc: nil, want: "{}\n"},
		{name: "flat", doc: Document{"live-restore": "true", "debug": "false"}, want: "{\n  \"debug\": false,\n  \"live-restore\": true\n}\n"},
		{name: "nested", doc: Document{"log-opts": `{"max-file":"3","max-size":"10m"}`, "exec-opts": `["native.cgroupdriver=systemd"]`},
			want: `{
  "exec-opts": [
    "native.cgroupdriver=systemd"
  ],
  "log-opts": {
    "max-file": "3",
    "max-size": "10m"
  }
}
`},
		{name: "numbers as written", doc: Document{"n": "1e3"}, want: "{\n  \"n\": 1e3\n}\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(tc.doc.Indent()); got != tc.want {
				t.Fatalf("Indent() = %q; want %q", got, tc.want)
			}
		})
	}
}

func TestCanonical(t *testing.T) {
	for _, tc := range []struct {
		name string
		a, b string
		same bool
	}{
		{name: "guide spellings", a: guideConfig, b: guideReordered, same: true},
		{name: "spacing", a: `{"debug":true}`, b: "{ \"debug\" :\ttrue }\n", same: true},
		{name: "key order", a: `{"debug":true,"live-restore":true}`, b: `{"live-restore":true,"debug":true}`, same: true},
		{name: "nested key order", a: `{"log-opts":{"max-size":"10m","max-file":"3"}}`, b: `{"log-opts":{"max-file":"3","max-size":"10m"}}`, same: true},
		{name: "deep key order", a: `{"runtimes":{"nvidia":{"path":"nvidia-container-runtime","runtimeArgs":[]}}}`, b: `{"runtimes":{"nvidia":{"runtimeArgs":[],"path":"nvidia-container-runtime"}}}`, same: true},
		{name: "string escapes", a: `{"data-root":"/var/lib/docker"}`, b: `{"data-root":"\/var\/lib\/d\u006fcker"}`, same: true},
		{name: "empty and blank", a: ``, b: " \n", same: true},
		{name: "empty and empty object", a: ``, b: `{}`, same: true},
		{name: "array order matters", a: `{"dns":["8.8.8.8","8.8.4.4"]}`, b: `{"dns":["8.8.4.4","8.8.8.8"]}`},
		{name: "value differs", a: `{"debug":true}`, b: `{"debug":false}`},
		{name: "number spelling differs", a: `{"mtu":1500}`, b: `{"mtu":1.5e3}`},
		{name: "integer and float", a: `{"shutdown-timeout":15}`, b: `{"shutdown-timeout":15.0}`},
		{name: "string and bool", a: `{"debug":true}`, b: `{"debug":"true"}`},
		{name: "extra key", a: `{"debug":true}`, b: `{"debug":true,"live-restore":true}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ca, err := Canonical([]byte(tc.a))
			if err != nil {
				t.Fatal(err)
			}
			cb, err := Canonical([]byte(tc.b))
			if err != nil {
				t.Fatal(err)
			}
			if (ca == cb) != tc.same {
				t.Fatalf("Canonical: %s and %s; want same=%v", ca, cb, tc.same)
			}
		})
	}
}

func TestCanonicalError(t *testing.T) {
	for _, in := range []string{`[]`, `{"debug":true,"debug":true}`, `{`, `{}{}`} {
		if c, err := Canonical([]byte(in)); err == nil || c != "" {
			t.Errorf("Canonical(%q) = %q, %v; want an error", in, c, err)
		}
	}
	if c, err := Canonical(nil); err != nil || c != "{}" {
		t.Errorf("Canonical(nil) = %q, %v; want {}", c, err)
	}
}

func TestKeys(t *testing.T) {
	if got := (Document{}).Keys(); got == nil || len(got) != 0 {
		t.Errorf("Keys of an empty document = %#v; want empty", got)
	}
	want := []string{"data-root", "default-ulimits", "exec-opts", "live-restore", "log-driver", "log-opts", "metrics-addr", "storage-driver"}
	if got := guideDoc.Keys(); !reflect.DeepEqual(got, want) {
		t.Errorf("Keys() = %q; want %q", got, want)
	}
}

type changedCase struct {
	name      string
	old, next string
	want      []string
}

var changedCases = []changedCase{
	{name: "unchanged", old: guideConfig, next: guideConfig},
	{name: "nested order only", old: guideConfig, next: guideReordered},
	{name: "both empty", old: ``, next: `{}`},
	{name: "added", old: `{"debug":true}`, next: `{"debug":true,"live-restore":true}`, want: []string{"live-restore"}},
	{name: "added to empty", old: ``, next: `{"storage-driver":"overlay2","debug":true}`, want: []string{"debug", "storage-driver"}},
	{name: "removed", old: `{"debug":true,"live-restore":true}`, next: `{"debug":true}`, want: []string{"live-restore"}},
	{name: "removed all", old: `{"storage-driver":"overlay2","debug":true}`, next: ``, want: []string{"debug", "storage-driver"}},
	{name: "changed", old: `{"debug":true,"live-restore":true}`, next: `{"debug":false,"live-restore":true}`, want: []string{"debug"}},
	{name: "nested changed", old: `{"log-opts":{"max-size":"10m","max-file":"3"}}`, next: `{"log-opts":{"max-file":"5","max-size":"10m"}}`, want: []string{"log-opts"}},
	{name: "number spelling", old: `{"mtu":1500}`, next: `{"mtu":1.5e3}`, want: []string{"mtu"}},
	{name: "to null", old: `{"debug":true}`, next: `{"debug":null}`, want: []string{"debug"}},
	{name: "all kinds sorted", old: `{"z":1,"b":1,"m":1,"a":1}`, next: `{"y":1,"b":2,"m":1,"c":1}`, want: []string{"a", "b", "c", "y", "z"}},
}

func TestChanged(t *testing.T) {
	for _, tc := range changedCases {
		t.Run(tc.name, func(t *testing.T) {
			old, err := Parse([]byte(tc.old))
			if err != nil {
				t.Fatal(err)
			}
			next, err := Parse([]byte(tc.next))
			if err != nil {
				t.Fatal(err)
			}
			if got := Changed(old, next); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Changed(%v, %v) = %q; want %q", old, next, got, tc.want)
			}
			if got := Changed(next, old); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Changed(%v, %v) = %q; want %q (the same both ways)", next, old, got, tc.want)
			}
		})
	}
	if got := Changed(nil, nil); got != nil {
		t.Errorf("Changed(nil, nil) = %q", got)
	}
}

func TestReloadable(t *testing.T) {
	for _, tc := range []struct {
		key  string
		want bool
	}{
		{"debug", true},
		{"labels", true},
		{"live-restore", true},
		{"max-concurrent-downloads", true},
		{"max-concurrent-uploads", true},
		{"max-download-attempts", true},
		{"shutdown-timeout", true},
		{"insecure-registries", true},
		{"registry-mirrors", true},
		{"allow-nondistributable-artifacts", true},
		{"runtimes", true},
		{"default-runtime", true},
		{"storage-driver", false},
		{"storage-opts", false},
		{"log-driver", false},
		{"log-opts", false},
		{"data-root", false},
		{"exec-opts", false},
		{"hosts", false},
		{"default-ulimits", false},
		{"metrics-addr", false},
		{"iptables", false},
		{"no-such-key", false},
		{"", false},
		{"Debug", false},
	} {
		t.Run(tc.key, func(t *testing.T) {
			if got := Reloadable(tc.key); got != tc.want {
				t.Fatalf("Reloadable(%q) = %v; want %v", tc.key, got, tc.want)
			}
		})
	}
	for k := range reloadable {
		if !knownKeys[k] {
			t.Errorf("reloadable key %q is not a known key", k)
		}
	}
}

func TestNeedRestart(t *testing.T) {
	for _, tc := range []struct {
		name    string
		changed []string
		want    []string
	}{
		{name: "none", changed: nil},
		{name: "only reloadable", changed: []string{"debug", "labels", "live-restore"}},
		{name: "only restart", changed: []string{"data-root", "log-opts", "storage-driver"}, want: []string{"data-root", "log-opts", "storage-driver"}},
		{name: "mixed keeps order", changed: []string{"data-root", "debug", "live-restore", "log-opts", "storage-driver"}, want: []string{"data-root", "log-opts", "storage-driver"}},
		{name: "guide", changed: guideDoc.Keys(), want: []string{"data-root", "default-ulimits", "exec-opts", "log-driver", "log-opts", "metrics-addr", "storage-driver"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := NeedRestart(tc.changed); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("NeedRestart(%q) = %q; want %q", tc.changed, got, tc.want)
			}
		})
	}
}

func TestUnknownKeys(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want []Unknown
	}{
		{name: "guide", in: guideConfig},
		{name: "empty", in: ``},
		{name: "transposed letters", in: `{"storage-drvier":"overlay2"}`, want: []Unknown{{"storage-drvier", "storage-driver"}}},
		{name: "singular", in: `{"log-opt":{"max-size":"10m"}}`, want: []Unknown{{"log-opt", "log-opts"}}},
		{name: "far off", in: `{"zzzzzzzzzz":true}`, want: []Unknown{{"zzzzzzzzzz", ""}}},
		{name: "flag spelling", in: `{"--debug":true}`, want: []Unknown{{"--debug", "debug"}}},
		{name: "case", in: `{"Debug":true}`, want: []Unknown{{"Debug", "debug"}}},
		{name: "underscore", in: `{"live_restore":true}`, want: []Unknown{{"live_restore", "live-restore"}}},
		{name: "plural flag", in: `{"insecure-registry":["r:5000"]}`, want: []Unknown{{"insecure-registry", "insecure-registries"}}},
		{name: "three edits", in: `{"dtroot":"/d"}`, want: []Unknown{{"dtroot", "data-root"}}},
		{name: "four edits is not a typo", in: `{"xxxxdebug":true}`, want: []Unknown{{"xxxxdebug", ""}}},
		{name: "tie takes the first key", in: `{"ipv":true}`, want: []Unknown{{"ipv", "ip"}}},
		{name: "empty key", in: `{"":true}`, want: []Unknown{{"", "ip"}}},
		{name: "long key", in: `{"` + strings.Repeat("storage-driver", 5) + `":1}`, want: []Unknown{{strings.Repeat("storage-driver", 5), ""}}},
		{name: "sorted, known skipped", in: `{"storage-drvier":"overlay2","debug":true,"log-opt":{},"zzzzzzzzzz":1}`,
			want: []Unknown{{"log-opt", "log-opts"}, {"storage-drvier", "storage-driver"}, {"zzzzzzzzzz", ""}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := Parse([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			// The known keys are a map: the answer must not depend on
			// its order.
			for range 20 {
				if got := UnknownKeys(doc); !reflect.DeepEqual(got, tc.want) {
					t.Fatalf("UnknownKeys(%v) = %q; want %q", doc, got, tc.want)
				}
			}
		})
	}
}

func TestKnownKeys(t *testing.T) {
	if len(knownKeys) < 80 {
		t.Errorf("only %d known keys", len(knownKeys))
	}
	for k := range knownKeys {
		if k == "" || k != strings.ToLower(k) || strings.ContainsAny(k, " _=") {
			t.Errorf("odd known key %q", k)
		}
		if s := suggest(k); s != k {
			t.Errorf("suggest(%q) = %q; want the key itself", k, s)
		}
	}
	for flag, k := range flagKeys {
		if !knownKeys[k] {
			t.Errorf("flag %q maps to unknown key %q", flag, k)
		}
	}
}

type flagCase struct {
	name string
	args []string
	want map[string]string
}

var flagCases = []flagCase{
	{name: "docker.service", args: []string{"-H", "fd://", "--containerd=/run/containerd/containerd.sock"},
		want: map[string]string{"hosts": "-H fd://", "containerd": "--containerd=/run/containerd/containerd.sock"}},
	{name: "none", args: nil, want: map[string]string{}},
	{name: "short inline", args: []string{"-Hfd://"}, want: map[string]string{"hosts": "-Hfd://"}},
	{name: "long inline", args: []string{"--host=unix:///x"}, want: map[string]string{"hosts": "--host=unix:///x"}},
	{name: "long spaced", args: []string{"--host", "tcp://0.0.0.0:2375"}, want: map[string]string{"hosts": "--host tcp://0.0.0.0:2375"}},
	{name: "bool long", args: []string{"--debug"}, want: map[string]string{"debug": "--debug"}},
	{name: "bool short", args: []string{"-D"}, want: map[string]string{"debug": "-D"}},
	{name: "bool false", args: []string{"--live-restore=false"}, want: map[string]string{"live-restore": "--live-restore=false"}},
	{name: "bool then flag", args: []string{"-D", "-H", "fd://"}, want: map[string]string{"debug": "-D", "hosts": "-H fd://"}},
	{name: "list flag", args: []string{"--log-opt", "max-size=1m"}, want: map[string]string{"log-opts": "--log-opt max-size=1m"}},
	{name: "storage driver", args: []string{"--storage-driver", "overlay2"}, want: map[string]string{"storage-driver": "--storage-driver overlay2"}},
	{name: "storage driver short", args: []string{"-s", "overlay2"}, want: map[string]string{"storage-driver": "-s overlay2"}},
	{name: "graph", args: []string{"-g", "/srv/docker"}, want: map[string]string{"data-root": "-g /srv/docker"}},
	{name: "data root", args: []string{"--data-root=/srv/docker"}, want: map[string]string{"data-root": "--data-root=/srv/docker"}},
	{name: "plural keys", args: []string{"--exec-opt", "native.cgroupdriver=systemd", "--insecure-registry=r:5000", "--registry-mirror", "https://m", "--label", "a=b", "--add-runtime", "x=/bin/x"},
		want: map[string]string{"exec-opts": "--exec-opt native.cgroupdriver=systemd", "insecure-registries": "--insecure-registry=r:5000", "registry-mirrors": "--registry-mirror https://m", "labels": "--label a=b", "runtimes": "--add-runtime x=/bin/x"}},
	{name: "repeated flag", args: []string{"-H", "fd://", "-H", "tcp://127.0.0.1:2375"}, want: map[string]string{"hosts": "-H tcp://127.0.0.1:2375"}},
	{name: "unknown flags ignored", args: []string{"--config-file", "/etc/docker/other.json", "--validate", "-x", "--no-such=1"}, want: map[string]string{}},
	{name: "unknown flag value not a flag", args: []string{"--config-file", "--debug"}, want: map[string]string{"debug": "--debug"}},
	{name: "words ignored", args: []string{"debug", "hosts"}, want: map[string]string{}},
	{name: "dash alone", args: []string{"-", "--debug"}, want: map[string]string{"debug": "--debug"}},
	{name: "after double dash ignored", args: []string{"--debug", "--", "-H", "fd://", "--storage-driver=vfs"}, want: map[string]string{"debug": "--debug"}},
	{name: "double dash first", args: []string{"--", "--debug"}, want: map[string]string{}},
	{name: "empty long name", args: []string{"--=debug"}, want: map[string]string{}},
	{name: "three dashes", args: []string{"---debug"}, want: map[string]string{}},
	{name: "single dash long", args: []string{"-debug"}, want: map[string]string{}},
	{name: "key not a flag", args: []string{"--hosts", "fd://"}, want: map[string]string{"hosts": "--hosts fd://"}},
}

func TestFlagKeys(t *testing.T) {
	for _, tc := range flagCases {
		t.Run(tc.name, func(t *testing.T) {
			if got := FlagKeys(tc.args); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("FlagKeys(%q) = %q; want %q", tc.args, got, tc.want)
			}
		})
	}
}

func TestConflicts(t *testing.T) {
	flags := FlagKeys([]string{"-H", "fd://", "--containerd=/run/containerd/containerd.sock"})
	for _, tc := range []struct {
		name  string
		in    string
		flags map[string]string
		want  []Conflict
	}{
		{name: "hosts", in: `{"hosts":["unix:///var/run/docker.sock","tcp://127.0.0.1:2375"],"debug":true}`, flags: flags,
			want: []Conflict{{Key: "hosts", Flag: "-H fd://"}}},
		{name: "two sorted", in: `{"hosts":[],"containerd":"/run/c.sock","debug":true}`, flags: flags,
			want: []Conflict{{Key: "containerd", Flag: "--containerd=/run/containerd/containerd.sock"}, {Key: "hosts", Flag: "-H fd://"}}},
		{name: "none", in: guideConfig, flags: flags},
		{name: "no flags", in: `{"hosts":["fd://"]}`, flags: nil},
		{name: "empty document", in: ``, flags: flags},
		{name: "short debug", in: `{"debug":false}`, flags: FlagKeys([]string{"-D"}), want: []Conflict{{Key: "debug", Flag: "-D"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := Parse([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if got := Conflicts(doc, tc.flags); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Conflicts(%v, %q) = %+v; want %+v", doc, tc.flags, got, tc.want)
			}
		})
	}
}

// dockerService is `systemctl show -p ExecStart docker.service` on Ubuntu
// with Docker's own packages.
const dockerService = "ExecStart={ path=/usr/bin/dockerd ; argv[]=/usr/bin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock ; ignore_errors=no ; start_time=[Mon 2024-05-06 10:12:01 UTC] ; stop_time=[n/a] ; pid=1234 ; code=(null) ; status=0/0 }\n"

type execStartCase struct {
	name, in string
	want     []string
	err      string
}

var execStartCases = []execStartCase{
	{name: "docker.service", in: dockerService, want: []string{"/usr/bin/dockerd", "-H", "fd://", "--containerd=/run/containerd/containerd.sock"}},
	{name: "not started", in: "ExecStart={ path=/usr/bin/dockerd ; argv[]=/usr/bin/dockerd -H fd:// ; ignore_errors=no ; start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }",
		want: []string{"/usr/bin/dockerd", "-H", "fd://"}},
	{name: "ignore errors prefix", in: "ExecStart={ path=/usr/bin/dockerd ; argv[]=/usr/bin/dockerd ; ignore_errors=yes ; start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }",
		want: []string{"/usr/bin/dockerd"}},
	{name: "among other properties", in: "Id=docker.service\nExecStartPre={ path=/bin/true ; argv[]=/bin/true ; ignore_errors=no }\n" + dockerService + "MainPID=1234\n",
		want: []string{"/usr/bin/dockerd", "-H", "fd://", "--containerd=/run/containerd/containerd.sock"}},
	{name: "CRLF and indent", in: "  ExecStart={ path=/usr/bin/dockerd ; argv[]=/usr/bin/dockerd --debug ; ignore_errors=no }\r\n",
		want: []string{"/usr/bin/dockerd", "--debug"}},
	{name: "empty ExecStart", in: "ExecStart=\n"},
	{name: "empty ExecStart no newline", in: "ExecStart="},
	{name: "first line wins", in: "ExecStart=\n" + dockerService},
	{name: "missing", in: "", err: "no ExecStart= line"},
	{name: "other property only", in: "ExecStartPre={ path=/bin/true ; argv[]=/bin/true ; ignore_errors=no }\n", err: "no ExecStart= line"},
	{name: "unit not found", in: "Unit docker.service could not be found.\n", err: "no ExecStart= line"},
	{name: "long output clipped", in: strings.Repeat("x", 10000), err: "..."},
}

func TestParseExecStart(t *testing.T) {
	for _, tc := range execStartCases {
		t.Run(tc.name, func(t *testing.T) {
			argv, err := ParseExecStart(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("ParseExecStart(%q) = %q, %v; want error with %q", tc.in, argv, err, tc.err)
				}
				if argv != nil || len(err.Error()) > 200 {
					t.Errorf("error %v with argv %q", err, argv)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(argv, tc.want) {
				t.Fatalf("ParseExecStart(%q) = %q, %v; want %q", tc.in, argv, err, tc.want)
			}
		})
	}
	// The service's argv, less argv[0], is what FlagKeys reads.
	argv, err := ParseExecStart(dockerService)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"hosts": "-H fd://", "containerd": "--containerd=/run/containerd/containerd.sock"}
	if got := FlagKeys(argv[1:]); !reflect.DeepEqual(got, want) {
		t.Fatalf("FlagKeys of docker.service = %q; want %q", got, want)
	}
}

// debianDefault is /etc/default/docker as Debian and Ubuntu ship it.
const debianDefault = `# Docker Upstart and SysVinit configuration file

#
# THIS FILE DOES NOT APPLY TO SYSTEMD
#
#   Please see the documentation for "systemd drop-ins":
#   https://docs.docker.com/engine/admin/systemd/
#

# Customize location of Docker binary (especially for development testing).
#DOCKERD="/usr/local/bin/dockerd"

# Use DOCKER_OPTS to modify the daemon startup options.
#DOCKER_OPTS="--dns 8.8.8.8 --dns 8.8.4.4"

# If you need Docker to use an HTTP proxy, it can also be specified here.
#export http_proxy="http://127.0.0.1:3128/"

# This is also a handy place to tweak where Docker's temporary files go.
#export DOCKER_TMPDIR="/mnt/bigdrive/docker-tmp"
`

type defaultOptsCase struct {
	name, in string
	want     []string
}

var defaultOptsCases = []defaultOptsCase{
	{name: "debian default", in: debianDefault},
	{name: "empty", in: ""},
	{name: "double quotes", in: `DOCKER_OPTS="--dns 8.8.8.8 --dns 8.8.4.4"`, want: []string{"--dns", "8.8.8.8", "--dns", "8.8.4.4"}},
	{name: "uncommented in debian default", in: strings.Replace(debianDefault, `#DOCKER_OPTS=`, `DOCKER_OPTS=`, 1), want: []string{"--dns", "8.8.8.8", "--dns", "8.8.4.4"}},
	{name: "single quotes", in: "DOCKER_OPTS='-H tcp://127.0.0.1:2375 --debug'\n", want: []string{"-H", "tcp://127.0.0.1:2375", "--debug"}},
	{name: "unquoted", in: "DOCKER_OPTS=--debug\n", want: []string{"--debug"}},
	{name: "export", in: `export DOCKER_OPTS="--debug"`, want: []string{"--debug"}},
	{name: "indented with spaces inside", in: "  DOCKER_OPTS=\"  --debug\t -H fd:// \"  \n", want: []string{"--debug", "-H", "fd://"}},
	{name: "last assignment wins", in: "DOCKER_OPTS=\"--debug\"\nDOCKER_OPTS=\"--dns 1.1.1.1\"\n", want: []string{"--dns", "1.1.1.1"}},
	{name: "last empty assignment wins", in: "DOCKER_OPTS=\"--debug\"\nDOCKER_OPTS=\"\"\n", want: []string{}},
	{name: "commented later assignment ignored", in: "DOCKER_OPTS=\"--debug\"\n#DOCKER_OPTS=\"--dns 1.1.1.1\"\n", want: []string{"--debug"}},
	{name: "mismatched quotes kept", in: `DOCKER_OPTS="--debug'`, want: []string{`"--debug'`}},
	{name: "other variables ignored", in: "DOCKERD=/usr/local/bin/dockerd\nDOCKER_OPTS_EXTRA=\"--debug\"\nMY_DOCKER_OPTS=\"-D\"\n"},
	{name: "CRLF", in: "DOCKER_OPTS=\"--debug\"\r\n", want: []string{"--debug"}},
	{name: "lone quote", in: `DOCKER_OPTS="`, want: []string{`"`}},
}

func TestParseDefaultOpts(t *testing.T) {
	for _, tc := range defaultOptsCases {
		t.Run(tc.name, func(t *testing.T) {
			if got := ParseDefaultOpts(tc.in); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("ParseDefaultOpts(%q) = %#v; want %#v", tc.in, got, tc.want)
			}
		})
	}
}

// running is /info of a daemon started with the guide's configuration.
var running = Effective{
	ServerVersion:  "27.3.1",
	StorageDriver:  "overlay2",
	LoggingDriver:  "json-file",
	CgroupDriver:   "systemd",
	LiveRestore:    true,
	RootDir:        "/var/lib/docker",
	DefaultRuntime: "runc",
	Runtimes:       []string{"io.containerd.runc.v2", "runc"},
}

func TestPending(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		eff  Effective
		want []string
	}{
		{name: "guide in effect", in: guideConfig, eff: running},
		{name: "empty document", in: ``, eff: Effective{}},
		{name: "keys /info does not show never pending", in: `{"max-concurrent-downloads":9,"log-opts":{"max-size":"1m"}}`, eff: Effective{}},
		{name: "debug", in: `{"debug":true}`, eff: Effective{}, want: []string{"debug"}},
		{name: "debug in effect", in: `{"debug":true}`, eff: Effective{Debug: true}},
		{name: "labels any order", in: `{"labels":["b=2","a=1"]}`, eff: Effective{Labels: []string{"a=1", "b=2"}}},
		{name: "labels missing one", in: `{"labels":["b=2","a=1"]}`, eff: Effective{Labels: []string{"a=1"}}, want: []string{"labels"}},
		{name: "mirrors normalised", in: `{"registry-mirrors":["https://m.example"]}`, eff: Effective{RegistryMirrors: []string{"https://m.example/"}}},
		{name: "storage-driver", in: `{"storage-driver":"vfs"}`, eff: running, want: []string{"storage-driver"}},
		{name: "log-driver", in: `{"log-driver":"journald"}`, eff: running, want: []string{"log-driver"}},
		{name: "data-root", in: `{"data-root":"/srv/docker"}`, eff: running, want: []string{"data-root"}},
		{name: "data-root trailing slash", in: `{"data-root":"/var/lib/docker/"}`, eff: running},
		{name: "data-root unclean", in: `{"data-root":"/var//lib/./docker"}`, eff: running},
		{name: "default-runtime", in: `{"default-runtime":"crun"}`, eff: running, want: []string{"default-runtime"}},
		{name: "default-runtime equal", in: `{"default-runtime":"runc"}`, eff: running},
		{name: "live-restore on", in: `{"live-restore":true}`, eff: Effective{}, want: []string{"live-restore"}},
		{name: "live-restore off", in: `{"live-restore":false}`, eff: running, want: []string{"live-restore"}},
		{name: "live-restore off equal", in: `{"live-restore":false}`, eff: Effective{}},
		{name: "cgroup driver", in: `{"exec-opts":["native.cgroupdriver=cgroupfs"]}`, eff: running, want: []string{"exec-opts"}},
		{name: "cgroup driver equal", in: `{"exec-opts":["native.cgroupdriver=systemd"]}`, eff: running},
		{name: "exec-opts without cgroup driver", in: `{"exec-opts":["native.unprivileged=1"]}`, eff: running},
		{name: "exec-opts two drivers listed once", in: `{"exec-opts":["native.cgroupdriver=cgroupfs","native.cgroupdriver=none"]}`, eff: running, want: []string{"exec-opts"}},
		{name: "runtimes missing", in: `{"runtimes":{"nvidia":{"path":"nvidia-container-runtime"}}}`, eff: running, want: []string{"runtimes"}},
		{name: "runtimes present", in: `{"runtimes":{"nvidia":{"path":"nvidia-container-runtime"}}}`, eff: Effective{Runtimes: []string{"nvidia", "runc"}}},
		{name: "runtimes empty", in: `{"runtimes":{}}`, eff: Effective{}},
		{name: "empty strings are the defaults", in: `{"storage-driver":"","log-driver":"","data-root":"","default-runtime":""}`, eff: running},
		{name: "nulls are the defaults", in: `{"storage-driver":null,"log-driver":null,"data-root":null,"default-runtime":null,"exec-opts":null,"runtimes":null}`, eff: running},
		{name: "live-restore null is false", in: `{"live-restore":null}`, eff: running, want: []string{"live-restore"}},
		{name: "wrong types not compared", in: `{"storage-driver":1,"live-restore":"yes","exec-opts":"native.cgroupdriver=x","runtimes":["nvidia"],"data-root":null}`, eff: running},
		{name: "all pending sorted", in: `{"storage-driver":"vfs","log-driver":"local","data-root":"/d","default-runtime":"crun","live-restore":false,"exec-opts":["native.cgroupdriver=cgroupfs"],"runtimes":{"crun":{}},"debug":true}`,
			eff: running, want: []string{"data-root", "debug", "default-runtime", "exec-opts", "live-restore", "log-driver", "runtimes", "storage-driver"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := Parse([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			got := Pending(doc, tc.eff)
			if len(got) == 0 && len(tc.want) == 0 {
				return
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Pending(%v, %+v) = %q; want %q", doc, tc.eff, got, tc.want)
			}
		})
	}
}

func TestPidFile(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     string
	}{
		{name: "default", in: ``, want: DefaultPidFile},
		{name: "guide", in: guideConfig, want: "/var/run/docker.pid"},
		{name: "override", in: `{"pidfile":"/run/docker-custom.pid"}`, want: "/run/docker-custom.pid"},
		{name: "relative ignored", in: `{"pidfile":"docker.pid"}`, want: DefaultPidFile},
		{name: "dot relative ignored", in: `{"pidfile":"./run/docker.pid"}`, want: DefaultPidFile},
		{name: "empty ignored", in: `{"pidfile":""}`, want: DefaultPidFile},
		{name: "not a string ignored", in: `{"pidfile":1}`, want: DefaultPidFile},
		{name: "null ignored", in: `{"pidfile":null}`, want: DefaultPidFile},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := Parse([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if got := doc.PidFile(); got != tc.want {
				t.Fatalf("PidFile() of %v = %q; want %q", doc, got, tc.want)
			}
		})
	}
}

func TestSocket(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     string
	}{
		{name: "default", in: ``, want: DefaultSocket},
		{name: "guide", in: guideConfig, want: DefaultSocket},
		{name: "unix", in: `{"hosts":["unix:///run/docker-x.sock"]}`, want: "/run/docker-x.sock"},
		{name: "first unix", in: `{"hosts":["tcp://127.0.0.1:2375","unix:///run/a.sock","unix:///run/b.sock"]}`, want: "/run/a.sock"},
		{name: "systemd socket", in: `{"hosts":["fd://"]}`, want: DefaultSocket},
		{name: "tcp only", in: `{"hosts":["tcp://0.0.0.0:2376"]}`, want: DefaultSocket},
		{name: "relative ignored", in: `{"hosts":["unix://docker.sock"]}`, want: DefaultSocket},
		{name: "not a list", in: `{"hosts":"unix:///run/a.sock"}`, want: DefaultSocket},
		{name: "empty list", in: `{"hosts":[]}`, want: DefaultSocket},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := Parse([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if got := doc.Socket(); got != tc.want {
				t.Fatalf("Socket() of %v = %q; want %q", doc, got, tc.want)
			}
		})
	}
}

// dockerdLog is the end of `journalctl -u docker` for a daemon.json that
// names a missing storage driver.
const dockerdLog = `May 06 10:12:01 host systemd[1]: Starting docker.service - Docker Application Container Engine...
May 06 10:12:01 host dockerd[4242]: time="2024-05-06T10:12:01.123456789Z" level=info msg="Starting up"
May 06 10:12:01 host dockerd[4242]: time="2024-05-06T10:12:01.124000000Z" level=info msg="detected 127.0.0.53 nameserver, assuming systemd-resolved, so using resolv.conf: /run/systemd/resolve/resolv.conf"
May 06 10:12:01 host dockerd[4242]: time="2024-05-06T10:12:01.200000000Z" level=warning msg="failed to load plugin" error="no such file"
May 06 10:12:01 host dockerd[4242]: time="2024-05-06T10:12:01.210000000Z" level=error msg="[graphdriver] prior storage driver overlay2 failed: driver not supported"
May 06 10:12:01 host dockerd[4242]: time="2024-05-06T10:12:01.220000000Z" level=error msg="failed to mount overlay: no such device" storage-driver=overlay2
May 06 10:12:01 host dockerd[4242]: failed to start daemon: error initializing graphdriver: driver not supported: overlay2
May 06 10:12:01 host systemd[1]: docker.service: Main process exited, code=exited, status=1/FAILURE
May 06 10:12:01 host systemd[1]: docker.service: Failed with result 'exit-code'.
`

func TestErrorLines(t *testing.T) {
	all := []string{
		`May 06 10:12:01 host dockerd[4242]: time="2024-05-06T10:12:01.210000000Z" level=error msg="[graphdriver] prior storage driver overlay2 failed: driver not supported"`,
		`May 06 10:12:01 host dockerd[4242]: time="2024-05-06T10:12:01.220000000Z" level=error msg="failed to mount overlay: no such device" storage-driver=overlay2`,
		`May 06 10:12:01 host dockerd[4242]: failed to start daemon: error initializing graphdriver: driver not supported: overlay2`,
	}
	for _, tc := range []struct {
		name, log string
		n         int
		want      []string
	}{
		{name: "all", log: dockerdLog, n: 10, want: all},
		{name: "exactly", log: dockerdLog, n: 3, want: all},
		{name: "last two", log: dockerdLog, n: 2, want: all[1:]},
		{name: "last one", log: dockerdLog, n: 1, want: all[2:]},
		{name: "none asked", log: dockerdLog, n: 0, want: []string{}},
		{name: "negative", log: dockerdLog, n: -1, want: []string{}},
		{name: "empty log", log: "", n: 5},
		{name: "info only", log: `time="2024-05-06T10:12:01Z" level=info msg="Daemon has completed initialization"`, n: 5},
		{name: "fatal", log: `time="2024-05-06T10:12:01Z" level=fatal msg="Error starting daemon: pid file found"` + "\n", n: 5,
			want: []string{`time="2024-05-06T10:12:01Z" level=fatal msg="Error starting daemon: pid file found"`}},
		{name: "configuration file", log: "  unable to configure the Docker daemon with file /etc/docker/daemon.json: the following directives don't match any configuration option: storage-drvier\r\n", n: 5,
			want: []string{"unable to configure the Docker daemon with file /etc/docker/daemon.json: the following directives don't match any configuration option: storage-drvier"}},
		{name: "upper case level", log: `time="x" LEVEL=ERROR msg="y"`, n: 5, want: []string{`time="x" LEVEL=ERROR msg="y"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ErrorLines(tc.log, tc.n)
			if len(got) == 0 && len(tc.want) == 0 {
				return
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("ErrorLines(n=%d) = %q; want %q", tc.n, got, tc.want)
			}
		})
	}
}

func TestClip(t *testing.T) {
	if got := clip("short"); got != `"short"` {
		t.Errorf("clip(short) = %s", got)
	}
	long := strings.Repeat("ab", 100)
	if got := clip(long); got != `"`+long[:80]+`"...` {
		t.Errorf("clip(long) = %s", got)
	}
}

func TestConstants(t *testing.T) {
	for _, p := range []string{DefaultPath, DefaultPidFile, DefaultSocket} {
		if !strings.HasPrefix(p, "/") {
			t.Errorf("%q is not absolute", p)
		}
	}
}

func TestRestartKeys(t *testing.T) {
	doc := func(s string) Document {
		d, err := Parse([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	cases := []struct {
		name        string
		old, next   string
		extra, want []string
	}{
		{"reloadable change", `{"debug":false}`, `{"debug":true}`, nil, nil},
		{"reloadable added", `{}`, `{"live-restore":true}`, nil, nil},
		{"reloadable removed needs a restart", `{"live-restore":true}`, `{}`, nil, []string{"live-restore"}},
		{"non-reloadable change", `{"log-level":"info"}`, `{"log-level":"warn"}`, nil, []string{"log-level"}},
		{"pending non-reloadable", `{"storage-driver":"vfs"}`, `{"storage-driver":"vfs"}`, []string{"storage-driver"}, []string{"storage-driver"}},
		{"pending reloadable", `{"live-restore":true}`, `{"live-restore":true}`, []string{"live-restore"}, nil},
		{"nothing", `{"debug":true}`, `{"debug":true}`, nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := RestartKeys(doc(tc.old), doc(tc.next), tc.extra)
			if !slices.Equal(got, tc.want) {
				t.Errorf("RestartKeys = %v, want %v", got, tc.want)
			}
		})
	}
}
