package sysctl

import (
	"reflect"
	"strings"
	"testing"
)

func TestValidateKey(t *testing.T) {
	for key, ok := range map[string]bool{
		"net.core.somaxconn":              true,
		"net.ipv4.tcp_rmem":               true,
		"net.ipv4.conf.eth0-1.rp_filter":  true,
		"vm.swappiness":                   true,
		"":                                false,
		"net..core":                       false,
		".net.core":                       false,
		"net.core.":                       false,
		"net/core/somaxconn":              false,
		"../../etc/passwd":                false,
		"net.core.somaxconn; reboot":      false,
		"net.core.somaxconn\nvm.overcomm": false,
		"net.core.$(id)":                  false,
		"net.core.some key":               false,
	} {
		if err := ValidateKey(key); (err == nil) != ok {
			t.Errorf("ValidateKey(%q) = %v, want ok=%v", key, err, ok)
		}
	}
}

func TestValidateValue(t *testing.T) {
	for value, ok := range map[string]bool{
		"65535":                   true,
		"4096 87380 16777216":     true,
		"4096\t87380\t16777216":   true,
		"":                        false,
		"   ":                     false,
		"1\n":                     false,
		"1\nvm.swappiness = 100":  false,
		"1\r":                     false,
		"a\x00b":                  false,
		"\x1b[31m":                false,
		strings.Repeat("1", 4097): false,
	} {
		if err := ValidateValue(value); (err == nil) != ok {
			t.Errorf("ValidateValue(%q) = %v, want ok=%v", value, err, ok)
		}
	}
}

func TestPathAndNormalize(t *testing.T) {
	if got := Path("net.ipv4.tcp_rmem"); got != "/proc/sys/net/ipv4/tcp_rmem" {
		t.Errorf("Path = %q", got)
	}
	if !Equal("4096 87380 16777216", "4096\t87380\t16777216\n") {
		t.Error("kernel's tab-separated form differs from the spaced one")
	}
	if Equal("1024 65535", "1024 65536") {
		t.Error("different values compare equal")
	}
}

func TestRenderParseRoundTrip(t *testing.T) {
	settings := map[string]string{"net.ipv4.tcp_rmem": "4096\t87380  16777216", "net.core.somaxconn": "65535"}
	content := Render(settings)
	want := Header + "net.core.somaxconn = 65535\nnet.ipv4.tcp_rmem = 4096 87380 16777216\n"
	if string(content) != want {
		t.Fatalf("Render =\n%s\nwant\n%s", content, want)
	}
	parsed, err := ParseFile(content)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(parsed, map[string]string{"net.core.somaxconn": "65535", "net.ipv4.tcp_rmem": "4096 87380 16777216"}) {
		t.Errorf("ParseFile = %v", parsed)
	}
}

func TestParseFileSyntax(t *testing.T) {
	parsed, err := ParseFile([]byte("# comment\n; other comment\n\n-net.core.somaxconn=1024\nnet/ipv4/tcp_fin_timeout =  15 \nnet.core.somaxconn = 4096\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(parsed, map[string]string{"net.core.somaxconn": "4096", "net.ipv4.tcp_fin_timeout": "15"}) {
		t.Errorf("ParseFile = %v", parsed)
	}
	for _, bad := range []string{"net.core.somaxconn\n", "bad key = 1\n", "a..b = 1\n"} {
		if _, err := ParseFile([]byte(bad)); err == nil {
			t.Errorf("ParseFile(%q) accepted a broken line", bad)
		}
	}
}

func TestPlan(t *testing.T) {
	old := map[string]string{"a.x": "1", "a.y": "2", "a.z": "3"}
	next := map[string]string{"a.x": "10", "a.w": "4"}
	previous := map[string]string{"a.x": "0", "a.y": "20"}
	got := Plan(old, next, previous)
	want := []Change{{"a.w", "4"}, {"a.x", "10"}, {"a.y", "20"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Plan = %v, want %v", got, want)
	}
	if got := Plan(old, nil, previous); !reflect.DeepEqual(got, []Change{{"a.x", "0"}, {"a.y", "20"}}) {
		t.Errorf("Plan to nothing = %v", got)
	}
}

func FuzzParseFile(f *testing.F) {
	f.Add([]byte(Header + "net.core.somaxconn = 65535\n"))
	f.Add([]byte("-a/b = 1\n;x\n#y\nc.d=\t2 3\n"))
	f.Fuzz(func(t *testing.T, content []byte) {
		parsed, err := ParseFile(content)
		if err != nil {
			return
		}
		for k, v := range parsed {
			if ValidateKey(k) != nil {
				t.Fatalf("parsed invalid key %q", k)
			}
			if v != Normalize(v) {
				t.Fatalf("value %q not normalised", v)
			}
		}
		// What we parse, we can render and parse back to the same thing
		// (empty values aside, which Render would write as "k = ").
		again, err := ParseFile(Render(parsed))
		if err != nil || !reflect.DeepEqual(again, parsed) {
			t.Fatalf("round trip changed %v to %v (%v)", parsed, again, err)
		}
	})
}

func FuzzValidateKey(f *testing.F) {
	f.Add("net.core.somaxconn")
	f.Add("../x")
	f.Fuzz(func(t *testing.T, key string) {
		if ValidateKey(key) != nil {
			return
		}
		p := Path(key)
		if strings.Contains(p, "..") || strings.Contains(p, "//") || !strings.HasPrefix(p, "/proc/sys/") || strings.ContainsAny(p, " \t\n'\"$;`\\") {
			t.Fatalf("valid key %q maps to unsafe path %q", key, p)
		}
	})
}

func FuzzNormalize(f *testing.F) {
	f.Add("4096\t87380 16777216\n")
	f.Fuzz(func(t *testing.T, v string) {
		n := Normalize(v)
		if Normalize(n) != n || !Equal(v, n) || strings.Contains(n, "  ") {
			t.Fatalf("Normalize(%q) = %q is not a fixed point", v, n)
		}
	})
}
