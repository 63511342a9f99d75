package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mcpai/terraform-provider-mcpai/internal/acctest"
)

// testSandbox is a sandbox folder with h1 (full), h2 (full, the special
// one) and h3 (light), as scripts/sandbox.sh leaves it.
func testSandbox(t *testing.T) sandbox {
	t.Helper()
	dir := t.TempDir()
	for i, services := range []string{"", "sshd docker postgres redis\n", "sshd\n"} {
		h := filepath.Join(dir, "h"+string(rune('1'+i)))
		if err := os.MkdirAll(h, 0o755); err != nil {
			t.Fatal(err)
		}
		key := "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI" + strings.Repeat(string(rune('a'+i)), 8) + " root@mcpai-h\n"
		if err := os.WriteFile(filepath.Join(h, "ssh_host_ed25519_key.pub"), []byte(key), 0o644); err != nil {
			t.Fatal(err)
		}
		// h1 has no services file (an older sandbox.sh): a full host.
		if services != "" {
			if err := os.WriteFile(filepath.Join(h, "services"), []byte(services), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return sandbox{
		Dir: dir, Count: 3, NSPrefix: "mcpai-h", NetPrefix: "10.213",
		SudoUser: "mcpai", NoprivUser: "mcpai-nopriv", Password: "pw\"\\", Passphrase: "pp",
		CurrentEngine: []int{2}, GPUMock: []int{2}, EmulatedCPUFreq: []int{2}, THPNever: []int{2},
		HookLogName: "mcpai-nvidia-hook.log",
		PGVersion:   "15", PGCluster: "main", PGRole: "mcpai", PGDatabase: "mcpai", PGPort: 5432,
		RedisPort: 6379, RedisTLSPort: 6380, RedisNoconfigUser: "noconfig", RedisNoconfigPassword: "nc",
	}
}

func TestHostsJSONLayout(t *testing.T) {
	s := testSandbox(t)
	data, err := s.hostsJSON()
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	// {"hosts":[ then one host a line, then ]} and a newline.
	if len(lines) != 6 || lines[0] != `{"hosts":[` || lines[4] != "]}" || lines[5] != "" {
		t.Fatalf("layout:\n%s", data)
	}
	for n, l := range lines[1:4] {
		if !strings.HasPrefix(l, `  {"name":"h`) || (n < 2) != strings.HasSuffix(l, "},") {
			t.Errorf("host line %d: %s", n+1, l)
		}
	}
	// A light host's line ends with "light":true; the keys after it are a
	// full host's only.
	if !strings.HasSuffix(lines[3], `"services":["sshd"],"light":true}`) {
		t.Errorf("light host: %s", lines[3])
	}
	// Keys in scripts/sandbox.sh's order, nothing escaped beyond JSON's need.
	for _, want := range []string{
		`{"name":"h1","address":"10.213.1.2","port":22,"user":"root","private_key_path":"` + s.Dir + `/id_ed25519",`,
		`"password":"pw\"\\","sshd_log":"` + s.Dir + `/h1/sshd.log","netns":"mcpai-h1",`,
		`"cpufreq":"none","cmdline_thp":"","services":["sshd","docker","postgres","redis"],"light":false,"docker_engine":"distribution",`,
		`"gpu_mock":false,"nvidia_hook_log":"","cdi_dir":"","postgres_port":5432,`,
		`"redis_log":"` + s.Dir + `/h1/log/redis/redis-server.log"}`,
	} {
		if !strings.Contains(lines[1], want) {
			t.Errorf("h1 lacks %s:\n%s", want, lines[1])
		}
	}
	for _, want := range []string{
		`"cpufreq":"emulated","cmdline_thp":"never",`,
		`"docker_engine":"current","docker_socket":"` + s.Dir + `/h2/run/docker.sock",`,
		`"gpu_mock":true,"nvidia_hook_log":"` + s.Dir + `/h2/log/mcpai-nvidia-hook.log","cdi_dir":"` + s.Dir + `/h2/etc/cdi",`,
		`"postgres_conf_dir":"` + s.Dir + `/h2/etc/postgresql/15/main","postgres_data_dir":"` + s.Dir + `/h2/lib/postgresql/15/main",`,
		`"redis_address":"10.213.2.2:6379","redis_tls_address":"10.213.2.2:6380",`,
	} {
		if !strings.Contains(lines[2], want) {
			t.Errorf("h2 lacks %s:\n%s", want, lines[2])
		}
	}
}

// What the tests read (internal/acctest.Host) is what hosts.json says.
func TestHostsJSONReadByTests(t *testing.T) {
	s := testSandbox(t)
	data, err := s.hostsJSON()
	if err != nil {
		t.Fatal(err)
	}
	var doc struct{ Hosts []acctest.Host }
	dec := json.NewDecoder(strings.NewReader(string(data)))
	if err := dec.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Hosts) != 3 {
		t.Fatalf("%d hosts", len(doc.Hosts))
	}
	h1, h2, h3 := doc.Hosts[0], doc.Hosts[1], doc.Hosts[2]
	if h1.HostKey != "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIaaaaaaaa" || h1.Password != `pw"\` || h1.KnownHostsPath != s.Dir+"/known_hosts" {
		t.Errorf("h1: %+v", h1)
	}
	if h1.DockerImage != sleeperImage || h1.LocustImage != locustImage || h1.PostgresPassword != `pw"\` || h1.Light {
		t.Errorf("h1: %+v", h1)
	}
	if !h2.GPUMock || h2.DockerEngine != "current" || h2.CPUFreq != "emulated" || h2.CmdlineTHP != "never" {
		t.Errorf("h2: %+v", h2)
	}
	if !h3.Light || h3.DockerSocket != "" || h3.PostgresPort != 0 || len(h3.Services) != 1 {
		t.Errorf("h3 (light): %+v", h3)
	}
	// Every key written is one a field of acctest.Host reads, but for the
	// demo images, which only scripts read.
	var raw struct{ Hosts []map[string]any }
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, f := range jsonKeys(acctest.Host{}) {
		known[f] = true
	}
	for k := range raw.Hosts[1] {
		if !known[k] && !strings.HasPrefix(k, "demo_") {
			t.Errorf("hosts.json key %q: no field of acctest.Host reads it", k)
		}
	}
}

// jsonKeys are the JSON keys of a struct's fields.
func jsonKeys(v any) []string {
	data, _ := json.Marshal(v)
	var m map[string]any
	_ = json.Unmarshal(data, &m)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	return keys
}

func TestKnownHosts(t *testing.T) {
	s := testSandbox(t)
	// h2 not started yet: no host key, no line.
	if err := os.Remove(filepath.Join(s.Dir, "h2", "ssh_host_ed25519_key.pub")); err != nil {
		t.Fatal(err)
	}
	got, err := s.knownHosts()
	if err != nil {
		t.Fatal(err)
	}
	want := "10.213.1.2 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIaaaaaaaa\n10.213.3.2 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIcccccccc\n"
	if string(got) != want {
		t.Errorf("known_hosts:\n%s\nwant:\n%s", got, want)
	}
	// hosts.json needs every host's key.
	if _, err := s.hostsJSON(); err == nil {
		t.Error("hosts.json without h2's host key")
	}
}

func TestHostList(t *testing.T) {
	var got []int
	if err := hostList(&got)("2,3"); err != nil || len(got) != 2 || got[0] != 2 || got[1] != 3 {
		t.Errorf("hostList(2,3) = %v, %v", got, err)
	}
	for _, bad := range []string{"", "0", "x", "2,"} {
		if err := hostList(new([]int))(bad); err == nil {
			t.Errorf("hostList(%q) took it", bad)
		}
	}
}
