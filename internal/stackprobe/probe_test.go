package stackprobe

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	r := Parse(`noise without separators
host|vm.swappiness|60
host|net.ipv4.tcp_rmem|4096 131072 6291456
docker|daemon.json|{"live-restore":true,"log-opts":{"max-size":"10m"}}
postgres|shared_buffers| 128MB 
|nolayer|x
host|nokey
`)
	want := map[string]map[string]string{
		"host":     {"vm.swappiness": "60", "net.ipv4.tcp_rmem": "4096 131072 6291456"},
		"docker":   {"daemon.json:live-restore": "true", "daemon.json:log-opts": `{"max-size":"10m"}`},
		"postgres": {"shared_buffers": "128MB"},
	}
	if len(r) != len(want) {
		t.Fatalf("layers %v, want %v", r, want)
	}
	for layer, kv := range want {
		for k, v := range kv {
			if r[layer][k] != v {
				t.Errorf("%s %s = %q, want %q", layer, k, r[layer][k], v)
			}
		}
		if len(r[layer]) != len(kv) {
			t.Errorf("%s has %v, want %v", layer, r[layer], kv)
		}
	}
	// No daemon.json, or an empty one, stays readable.
	if got := Parse("docker|daemon.json|none")["docker"]["daemon.json"]; got != "none" {
		t.Errorf("missing file = %q", got)
	}
	if got := Parse("docker|daemon.json|{}")["docker"]["daemon.json"]; got != "{}" {
		t.Errorf("empty file = %q", got)
	}
}

func TestDiff(t *testing.T) {
	before := Snapshot{
		"h1": {"redis": {"maxmemory": "0"}, "host": {"vm.swappiness": "60", "fs.file-max": "9"}},
		"h2": {"host": {"vm.swappiness": "60"}},
	}
	after := Snapshot{
		"h1": {"redis": {"maxmemory": "6gb"}, "host": {"vm.swappiness": "10", "fs.file-max": "9"}, "containers": {"api-1": "img running"}},
		"h2": {"host": {"vm.swappiness": "60"}},
	}
	got := Diff(before, after)
	want := []Change{
		{"h1", "host", "vm.swappiness", "60", "10"},
		{"h1", "containers", "api-1", "", "img running"},
		{"h1", "redis", "maxmemory", "0", "6gb"},
	}
	if len(got) != len(want) {
		t.Fatalf("Diff = %v\nwant %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("change %d = %v, want %v", i, got[i], want[i])
		}
	}
	if d := Diff(before, before); len(d) != 0 {
		t.Errorf("a reading differs from itself: %v", d)
	}
	table := Table(got)
	for _, s := range []string{"HOST", "vm.swappiness  60", "→", "(none)", "6gb"} {
		if !strings.Contains(table, s) {
			t.Errorf("table lacks %q:\n%s", s, table)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add("host|vm.swappiness|60\ndocker|daemon.json|{\"a\":1}")
	f.Fuzz(func(t *testing.T, s string) {
		r := Parse(s)
		for layer, kv := range r {
			if layer == "" || strings.Contains(layer, "\n") {
				t.Fatalf("bad layer %q", layer)
			}
			for k := range kv {
				if k == "" {
					t.Fatalf("empty key in %s", layer)
				}
			}
		}
	})
}

func TestCollapse(t *testing.T) {
	changes := Diff(Snapshot{
		"h1": {"host": {"vm.swappiness": "60", "net.core.somaxconn": "4096", "fs.file-max": "9"}},
		"h2": {"host": {"vm.swappiness": "60", "net.core.somaxconn": "4096", "fs.file-max": "8"}},
	}, Snapshot{
		"h1": {"host": {"vm.swappiness": "10", "net.core.somaxconn": "65535", "fs.file-max": "7"}},
		"h2": {"host": {"vm.swappiness": "10", "net.core.somaxconn": "65535", "fs.file-max": "7"}},
	})
	got := Collapse(changes, []string{"h1", "h2"})
	want := []Change{
		{"h1", "host", "fs.file-max", "9", "7"},
		{"h1", "host", "net.core.somaxconn", "4096", "65535"},
		{"h1+h2", "host", "vm.swappiness", "60", "10"},
		{"h2", "host", "fs.file-max", "8", "7"},
		{"h2", "host", "net.core.somaxconn", "4096", "65535"},
	}
	if len(got) != len(want) {
		t.Fatalf("Collapse = %v\nwant %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("change %d = %v, want %v", i, got[i], want[i])
		}
	}
	if one := Collapse(changes[:1], []string{"h1"}); len(one) != 1 {
		t.Errorf("one host: %v", one)
	}
}
