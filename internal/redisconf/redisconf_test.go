package redisconf

import (
	"maps"
	"strings"
	"testing"
)

// The tables below also seed the fuzz targets in fuzz_test.go.

type normalizeCase struct {
	param, in, want string
	err             string // substring of the error; "" means no error
}

var normalizeCases = []normalizeCase{
	// Memory units as memtoull reads them: k, m, g are powers of 1000, kb,
	// mb, gb of 1024, any case.
	{param: "maxmemory", in: "8589934592", want: "8589934592"},
	{param: "maxmemory", in: "8gb", want: "8589934592"},
	{param: "maxmemory", in: "8GB", want: "8589934592"},
	{param: "maxmemory", in: "8Gb", want: "8589934592"},
	{param: "maxmemory", in: " 8gb\n", want: "8589934592"},
	{param: "MaxMemory", in: "8gb", want: "8589934592"},
	{param: "maxmemory", in: "8g", want: "8000000000"},
	{param: "maxmemory", in: "8G", want: "8000000000"},
	{param: "maxmemory", in: "100mb", want: "104857600"},
	{param: "maxmemory", in: "100MB", want: "104857600"},
	{param: "maxmemory", in: "100m", want: "100000000"},
	{param: "maxmemory", in: "64kb", want: "65536"},
	{param: "maxmemory", in: "64KB", want: "65536"},
	{param: "maxmemory", in: "64k", want: "64000"},
	{param: "maxmemory", in: "64K", want: "64000"},
	{param: "maxmemory", in: "512b", want: "512"},
	{param: "maxmemory", in: "512B", want: "512"},
	{param: "maxmemory", in: "0", want: "0"},
	{param: "maxmemory", in: "007mb", want: "7340032"},
	{param: "maxmemory", in: "18446744073709551615", want: "18446744073709551615"},
	{param: "maxmemory", in: "18446744073709551616", err: "too large"},
	{param: "maxmemory", in: "17179869184gb", err: "too large"},
	{param: "maxmemory", in: "", err: "not a memory size"},
	{param: "maxmemory", in: "gb", err: "not a memory size"},
	{param: "maxmemory", in: "-1", err: "not a memory size"},
	{param: "maxmemory", in: "+1", err: "not a memory size"},
	{param: "maxmemory", in: "1.5gb", err: "not a memory size"},
	{param: "maxmemory", in: "8 gb", err: "not a memory size"},
	{param: "maxmemory", in: "8tb", err: "not a memory size"},
	{param: "maxmemory", in: "8gib", err: "not a memory size"},
	{param: "maxmemory", in: "10%", err: "not a memory size"},
	{param: "maxmemory-clients", in: "10%", want: "10%"},
	{param: "maxmemory-clients", in: " 010% ", want: "10%"},
	{param: "maxmemory-clients", in: "100%", want: "100%"},
	{param: "maxmemory-clients", in: "0%", want: "0"},
	{param: "maxmemory-clients", in: "101%", err: "percentage"},
	{param: "maxmemory-clients", in: "%", err: "percentage"},
	{param: "maxmemory-clients", in: "1gb", want: "1073741824"},
	{param: "client-query-buffer-limit", in: "1gb", want: "1073741824"},
	{param: "proto-max-bulk-len", in: "512mb", want: "536870912"},
	{param: "repl-backlog-size", in: "1mb", want: "1048576"},
	{param: "active-defrag-ignore-bytes", in: "100mb", want: "104857600"},
	{param: "hash-max-listpack-value", in: "1kb", want: "1024"},
	{param: "hash-max-ziplist-value", in: "1kb", want: "1024"},
	{param: "auto-aof-rewrite-min-size", in: "64mb", want: "67108864"},
	// Counts are not memory: the text stays.
	{param: "hash-max-listpack-entries", in: " 512 ", want: "512"},
	{param: "maxclients", in: "10000", want: "10000"},

	{param: "save", in: "900 1 300 10 60 10000", want: "900 1 300 10 60 10000"},
	{param: "save", in: "  900   1\t300 10\n60 10000 ", want: "900 1 300 10 60 10000"},
	{param: "save", in: "3600 1 300 100 60 10000", want: "3600 1 300 100 60 10000"},
	{param: "save", in: "0900 01", want: "900 1"},
	{param: "save", in: "60 0", want: "60 0"},
	{param: "save", in: "", want: ""},
	{param: "save", in: "  ", want: ""},
	{param: "save", in: `""`, want: ""},
	{param: "save", in: "900", err: "pairs"},
	{param: "save", in: "900 1 300", err: "pairs"},
	{param: "save", in: "0 1", err: "seconds"},
	{param: "save", in: "900 -1", err: "seconds"},
	{param: "save", in: "15m 1", err: "seconds"},

	{param: "client-output-buffer-limit", in: "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
		want: "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"},
	{param: "client-output-buffer-limit", in: "normal 0 0 0 replica 256mb 64mb 60 pubsub 32mb 8mb 60",
		want: "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"},
	{param: "client-output-buffer-limit", in: "PUBSUB 32MB 8MB 60  Normal 0 0 0",
		want: "normal 0 0 0 pubsub 33554432 8388608 60"},
	{param: "client-output-buffer-limit", in: "pubsub 32mb 8mb 60 pubsub 64mb 16mb 90",
		want: "pubsub 67108864 16777216 90"},
	{param: "client-output-buffer-limit", in: "replica 1g 1k 5", want: "slave 1000000000 1000 5"},
	{param: "client-output-buffer-limit", in: "", err: "<class>"},
	{param: "client-output-buffer-limit", in: "pubsub 32mb 8mb", err: "<class>"},
	{param: "client-output-buffer-limit", in: "master 0 0 0", err: "not a client class"},
	{param: "client-output-buffer-limit", in: "pubsub 32xb 8mb 60", err: "hard limit"},
	{param: "client-output-buffer-limit", in: "pubsub 32mb -8 60", err: "soft limit"},
	{param: "client-output-buffer-limit", in: "pubsub 32mb 8mb -1", err: "seconds"},

	{param: "appendonly", in: "YES", want: "yes"},
	{param: "appendonly", in: " No ", want: "no"},
	{param: "protected-mode", in: "no", want: "no"},
	{param: "slave-read-only", in: "Yes", want: "yes"},
	{param: "appendonly", in: "true", err: "yes or no"},
	{param: "appendonly", in: "1", err: "yes or no"},

	{param: "maxmemory-policy", in: "AllKeys-LRU", want: "allkeys-lru"},
	{param: "appendfsync", in: " EverySec ", want: "everysec"},
	{param: "loglevel", in: "WARNING", want: "warning"},
	{param: "oom-score-adj", in: "relative", want: "yes"},
	{param: "oom-score-adj", in: "Absolute", want: "absolute"},
	{param: "shutdown-on-sigterm", in: "NOSAVE  Force", want: "force nosave"}, // flags compare as a set, sorted,

	{param: "notify-keyspace-events", in: "", want: ""},
	{param: "notify-keyspace-events", in: "Ex", want: "xE"},
	{param: "notify-keyspace-events", in: "KEA", want: "AKE"},
	{param: "notify-keyspace-events", in: "g$lshzxetdKE", want: "AKE"},
	{param: "notify-keyspace-events", in: "AKEmn", want: "AKEmn"},
	{param: "notify-keyspace-events", in: "xx", want: "x"},
	{param: "notify-keyspace-events", in: "KEq", err: "event class"},

	{param: "unixsocketperm", in: "0700", want: "700"},
	{param: "unixsocketperm", in: "770", want: "770"},
	{param: "unixsocketperm", in: "0", want: "0"},
	{param: "unixsocketperm", in: "0800", err: "file mode"},
	{param: "unixsocketperm", in: "1777", err: "file mode"},
	{param: "oom-score-adj-values", in: " 0  200 800", want: "0 200 800"},
	{param: "oom-score-adj-values", in: "0 x 800", err: "integer"},
	{param: "latency-tracking-info-percentiles", in: "50.0 99  99.90", want: "50 99 99.9"},
	{param: "latency-tracking-info-percentiles", in: "", want: ""},
	{param: "latency-tracking-info-percentiles", in: "101", err: "percentile"},
	{param: "latency-tracking-info-percentiles", in: "NaN", err: "percentile"},
	{param: "bind", in: "127.0.0.1   -::1", want: "127.0.0.1 -::1"},

	// Everything else keeps its text, trimmed; string values keep case.
	{param: "timeout", in: " 300 ", want: "300"},
	{param: "dir", in: " /var/lib/Redis ", want: "/var/lib/Redis"},
	{param: "masteruser", in: "Replicator", want: "Replicator"},
	{param: "requirepass", in: "0123", want: "0123"},
	{param: "some-future-param", in: "  A  B ", want: "A  B"},
}

func TestNormalize(t *testing.T) {
	for _, tc := range normalizeCases {
		t.Run(tc.param+"="+tc.in, func(t *testing.T) {
			got, err := Normalize(tc.param, tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Normalize(%q, %q) = %q, %v; want error with %q", tc.param, tc.in, got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Normalize(%q, %q) = %q, %v; want %q", tc.param, tc.in, got, err, tc.want)
			}
			if again, err := Normalize(tc.param, got); err != nil || again != got {
				t.Fatalf("Normalize not idempotent: %q then %q, %v", got, again, err)
			}
		})
	}
}

var equalCases = []struct {
	param, a, b string
	want        bool
}{
	{"maxmemory", "8gb", "8589934592", true},
	{"maxmemory", "8GB", "8gb", true},
	{"maxmemory", "8g", "8gb", false},
	{"maxmemory", "1024kb", "1mb", true},
	{"maxmemory-policy", "ALLKEYS-LRU", "allkeys-lru", true},
	{"save", "900 1  300 10", "900 1 300 10", true},
	{"save", "900 1", "900 1 300 10", false},
	{"save", "", "", true},
	{"client-output-buffer-limit", "replica 256mb 64mb 60",
		"normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60", true},
	{"client-output-buffer-limit", "pubsub 64mb 16mb 60",
		"normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60", false},
	{"client-output-buffer-limit", "normal 0 0 0", "pubsub 32mb 8mb 60", false},
	{"appendonly", "Yes", "yes", true},
	{"notify-keyspace-events", "Ex", "xE", true},
	{"dir", "/data", "/Data", false},
	// Values Normalize rejects compare as trimmed text.
	{"maxmemory", " lots ", "lots", true},
	{"maxmemory", "lots", "8gb", false},
}

func TestEqual(t *testing.T) {
	for _, tc := range equalCases {
		if got := Equal(tc.param, tc.a, tc.b); got != tc.want {
			t.Errorf("Equal(%q, %q, %q) = %v; want %v", tc.param, tc.a, tc.b, got, tc.want)
		}
		if got := Equal(tc.param, tc.b, tc.a); got != tc.want {
			t.Errorf("Equal(%q, %q, %q) = %v; want %v", tc.param, tc.b, tc.a, got, tc.want)
		}
	}
}

func TestValidateName(t *testing.T) {
	for name, want := range map[string]string{
		"maxmemory":             "",
		"maxmemory-policy":      "",
		"server_cpulist":        "",
		"hash-max-ziplist-9":    "",
		"MaxMemory":             "lower case, \"maxmemory\"",
		"":                      "not a parameter name",
		"-maxmemory":            "not a parameter name",
		"max memory":            "not a parameter name",
		"maxmemory\n":           "not a parameter name",
		"dir*":                  "not a parameter name",
		strings.Repeat("a", 65): "not a parameter name",
	} {
		err := ValidateName(name)
		if want == "" {
			if err != nil {
				t.Errorf("ValidateName(%q) = %v", name, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ValidateName(%q) = %v; want error with %q", name, err, want)
		}
	}
}

func TestImmutable(t *testing.T) {
	for _, p := range []string{
		"tcp-backlog", "databases", "io-threads", "io-threads-do-reads", "daemonize", "supervised", "pidfile",
		"unixsocket", "unixsocketperm", "logfile", "syslog-enabled", "syslog-ident", "syslog-facility",
		"always-show-logo", "cluster-enabled", "cluster-config-file", "cluster-port", "set-proc-title",
		"enable-protected-configs", "enable-debug-command", "enable-module-command", "appendfilename",
		"appenddirname", "aclfile", "rdbchecksum", "server_cpulist", "bgsave_cpulist", "replicaof", "slaveof",
		"TCP-Backlog",
	} {
		if !Immutable(p) {
			t.Errorf("Immutable(%q) = false", p)
		}
	}
	for _, p := range []string{
		"port", "bind", "protected-mode", "tls-port", "aof-use-rdb-preamble", "proc-title-template",
		"disable-thp", "oom-score-adj", "ignore-warnings", "maxmemory", "save", "dir", "dbfilename",
		"appendonly", "unknown-param",
	} {
		if Immutable(p) {
			t.Errorf("Immutable(%q) = true", p)
		}
	}
}

func TestProtectedAndSensitive(t *testing.T) {
	for p, want := range map[string]bool{"dir": true, "dbfilename": true, "DIR": true, "logfile": false, "maxmemory": false} {
		if got := Protected(p); got != want {
			t.Errorf("Protected(%q) = %v; want %v", p, got, want)
		}
	}
	for p, want := range map[string]bool{
		"requirepass": true, "masterauth": true, "masteruser": true, "tls-key-file-pass": true,
		"tls-client-key-file-pass": true, "RequirePass": true, "maxmemory": false, "aclfile": false,
	} {
		if got := Sensitive(p); got != want {
			t.Errorf("Sensitive(%q) = %v; want %v", p, got, want)
		}
	}
}

const infoServer = "# Server\r\nredis_version:7.2.4\r\nredis_git_sha1:00000000\r\nredis_mode:standalone\r\n" +
	"os:Linux 6.1.0-18-amd64 x86_64\r\narch_bits:64\r\nexecutable:/usr/bin/redis-server\r\n" +
	"config_file:/etc/redis/redis.conf\r\nio_threads_active:0\r\n\r\n# Clients\r\nconnected_clients:1\r\n"

func TestParseInfo(t *testing.T) {
	got := ParseInfo(infoServer)
	want := map[string]string{
		"redis_version": "7.2.4", "redis_git_sha1": "00000000", "redis_mode": "standalone",
		"os": "Linux 6.1.0-18-amd64 x86_64", "arch_bits": "64", "executable": "/usr/bin/redis-server",
		"config_file": "/etc/redis/redis.conf", "io_threads_active": "0", "connected_clients": "1",
	}
	if !maps.Equal(got, want) {
		t.Fatalf("ParseInfo = %v; want %v", got, want)
	}
	if got := ParseInfo("config_file:\nrole:master\nnot a pair\n:x\n"); !maps.Equal(got, map[string]string{"config_file": "", "role": "master"}) {
		t.Fatalf("ParseInfo = %v", got)
	}
	if got := ParseInfo(""); len(got) != 0 {
		t.Fatalf("ParseInfo(\"\") = %v", got)
	}
}

func TestParseConfigGet(t *testing.T) {
	got := ParseConfigGet([]string{"maxmemory", "0", "MaxMemory-Policy", "noeviction", "save", "", "dangling"})
	want := map[string]string{"maxmemory": "0", "maxmemory-policy": "noeviction", "save": ""}
	if !maps.Equal(got, want) {
		t.Fatalf("ParseConfigGet = %v; want %v", got, want)
	}
	if got := ParseConfigGet(nil); len(got) != 0 {
		t.Fatalf("ParseConfigGet(nil) = %v", got)
	}
}

var classifyCases = []struct {
	msg, kind, detail string
}{
	{"NOAUTH Authentication required.", KindAuth, ""},
	{"WRONGPASS invalid username-password pair or user is disabled.", KindAuth, ""},
	{"WRONGPASS invalid username-password pair", KindAuth, ""},
	{"ERR invalid password", KindAuth, ""},
	{"ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?", KindAuth, ""},
	{"ERR Client sent AUTH, but no password is set", KindAuth, ""},
	{"-NOAUTH Authentication required.", KindAuth, ""},
	{"NOPERM this user has no permissions to run the 'config' command or its subcommand", KindNoPerm, "config"},
	{"NOPERM this user has no permissions to run the 'config|get' command", KindNoPerm, "config get"},
	{"NOPERM User alice has no permissions to run the 'config|set' command", KindNoPerm, "config set"},
	{"NOPERM User alice has no permissions to run the 'config|rewrite' command", KindNoPerm, "config rewrite"},
	{"NOPERM User alice has no permissions to run the 'info' command", KindNoPerm, "info"},
	{"NOPERM this user has no permissions to access one of the keys used as arguments", KindNoPerm, ""},
	{"ERR unknown command 'CONFIG'", KindNoConfigCommand, "config"},
	{"ERR unknown command `CONFIG`, with args beginning with: `GET`, `maxmemory`, ", KindNoConfigCommand, "config"},
	{"ERR unknown command 'CONFIG', with args beginning with: 'SET' 'maxmemory' '1gb' ", KindNoConfigCommand, "config"},
	{"ERR unknown command 'INFO', with args beginning with: 'server' ", KindUnknownCommand, "info"},
	{"ERR unknown command 'x y', with args beginning with: ", KindUnknownCommand, ""},
	{"ERR CONFIG SET failed (possibly related to argument 'tcp-backlog') - can't set immutable config", KindImmutable, "tcp-backlog"},
	{"ERR CONFIG SET failed (possibly related to argument 'DATABASES') - can't set immutable config", KindImmutable, "databases"},
	{"ERR CONFIG SET failed (possibly related to argument 'dir') - can't set protected config", KindProtected, "dir"},
	{"ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value", KindInvalid, "maxmemory"},
	{"ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction", KindInvalid, "maxmemory-policy"},
	{"ERR CONFIG SET failed (possibly related to argument 'maxmemory') - duplicate parameter", KindInvalid, "maxmemory"},
	{"ERR Invalid argument 'xyz' for CONFIG SET 'maxmemory-policy' - argument(s) must be one of the following: volatile-lru, noeviction", KindInvalid, "maxmemory-policy"},
	{"ERR Invalid argument 'it's' for CONFIG SET 'save'", KindInvalid, "save"},
	{"ERR Unsupported CONFIG parameter: daemonize", KindUnknownParameter, "daemonize"},
	{"ERR Unknown option or number of arguments for CONFIG SET - 'maxmemroy'", KindUnknownParameter, "maxmemroy"},
	{"ERR Rewriting config file: Read-only file system", KindRewrite, "Read-only file system"},
	{"ERR Rewriting config file: Permission denied", KindRewrite, "Permission denied"},
	{"ERR CONFIG REWRITE failed: Read-only file system", KindRewrite, "Read-only file system"},
	{"ERR Rewriting config file: /etc/redis/redis.conf: odd", KindRewrite, ""},
	{"ERR The server is running without a config file", KindRewrite, "no config file"},
	{"LOADING Redis is loading the dataset in memory", KindLoading, ""},
	{"ERR unknown subcommand 'REWRITE'. Try CONFIG HELP.", KindOther, ""},
	{"ERR wrong number of arguments for 'config|set' command", KindOther, ""},
	{"READONLY You can't write against a read only replica.", KindOther, ""},
	{"", KindOther, ""},
}

func TestClassifyError(t *testing.T) {
	for _, tc := range classifyCases {
		kind, detail := ClassifyError(tc.msg)
		if kind != tc.kind || detail != tc.detail {
			t.Errorf("ClassifyError(%q) = %q, %q; want %q, %q", tc.msg, kind, detail, tc.kind, tc.detail)
		}
	}
}

var setCases = []struct {
	name, content, param, value, want string
}{
	{name: "missing, appended", content: "port 6379\n", param: "tcp-backlog", value: "1024",
		want: "port 6379\n" + TerraformComment + "\ntcp-backlog 1024\n"},
	{name: "missing, no final newline", content: "port 6379", param: "tcp-backlog", value: "1024",
		want: "port 6379\n" + TerraformComment + "\ntcp-backlog 1024\n"},
	{name: "empty file", content: "", param: "databases", value: "32",
		want: TerraformComment + "\ndatabases 32\n"},
	{name: "CRLF file", content: "port 6379\r\n", param: "databases", value: "32",
		want: "port 6379\r\n" + TerraformComment + "\r\ndatabases 32\r\n"},
	{name: "replaced in place", content: "# comment\ntcp-backlog 511\nport 6379\n", param: "tcp-backlog", value: "1024",
		want: "# comment\ntcp-backlog 1024\nport 6379\n"},
	{name: "comments stay", content: "# tcp-backlog 511\ntcp-backlog 511\n#tcp-backlog 2\n", param: "tcp-backlog", value: "4096",
		want: "# tcp-backlog 511\ntcp-backlog 4096\n#tcp-backlog 2\n"},
	{name: "only a comment", content: "# databases 16\n", param: "databases", value: "32",
		want: "# databases 16\n" + TerraformComment + "\ndatabases 32\n"},
	{name: "indented and upper case", content: "  TCP-BACKLOG   511  \n", param: "tcp-backlog", value: "1024",
		want: "tcp-backlog 1024\n"},
	{name: "duplicates: last replaced, earlier commented", content: "databases 16\nport 1\ndatabases 8\n", param: "databases", value: "32",
		want: "# databases 16\nport 1\ndatabases 32\n"},
	{name: "alias", content: "slaveof 10.0.0.1 6379\n", param: "replicaof", value: "10.0.0.2 6380",
		want: "replicaof 10.0.0.2 6380\n"},
	{name: "prefix is another parameter", content: "io-threads-do-reads yes\n", param: "io-threads", value: "4",
		want: "io-threads-do-reads yes\n" + TerraformComment + "\nio-threads 4\n"},
	{name: "quoted value replaced", content: "logfile \"/var/log/redis/redis server.log\"\n", param: "logfile", value: "/var/log/redis.log",
		want: "logfile /var/log/redis.log\n"},
	{name: "value with space quoted", content: "syslog-ident redis\n", param: "syslog-ident", value: "redis main",
		want: "syslog-ident \"redis main\"\n"},
	{name: "empty value quoted", content: "logfile /var/log/redis.log\n", param: "logfile", value: "",
		want: "logfile \"\"\n"},
	{name: "quote and backslash escaped", content: "", param: "syslog-ident", value: `a"b\c`,
		want: TerraformComment + "\nsyslog-ident \"a\\\"b\\\\c\"\n"},
	{name: "multi-word value not quoted", content: "save 900 1\n", param: "save", value: " 3600 1  300 100 ",
		want: "save 3600 1 300 100\n"},
	{name: "multi-word empty", content: "save 900 1\nsave 300 10\n", param: "save", value: "",
		want: "# save 900 1\nsave \"\"\n"},
	{name: "unparsable line left alone", content: "databases \"16\n", param: "databases", value: "32",
		want: "databases \"16\n" + TerraformComment + "\ndatabases 32\n"},
}

func TestSetInConfigFile(t *testing.T) {
	for _, tc := range setCases {
		t.Run(tc.name, func(t *testing.T) {
			got := SetInConfigFile(tc.content, tc.param, tc.value)
			if got != tc.want {
				t.Fatalf("SetInConfigFile(%q, %q, %q) =\n%q\nwant\n%q", tc.content, tc.param, tc.value, got, tc.want)
			}
			if again := SetInConfigFile(got, tc.param, tc.value); again != got {
				t.Fatalf("not stable: %q then %q", got, again)
			}
		})
	}
}

func TestConfigFileValue(t *testing.T) {
	const conf = "# databases 4\ndatabases 16\n  LOGFILE \"/var/log/redis server.log\"\nsyslog-ident 'it\\'s'\n" +
		"slaveof 10.0.0.1 6379\ndatabases 8 \r\nbad \"x\"y\nempty \"\"\n"
	for _, tc := range []struct {
		param, want string
		ok          bool
	}{
		{"databases", "8", true},
		{"logfile", "/var/log/redis server.log", true},
		{"syslog-ident", "it's", true},
		{"replicaof", "10.0.0.1 6379", true},
		{"slaveof", "10.0.0.1 6379", true},
		{"empty", "", true},
		{"bad", "", false},
		{"tcp-backlog", "", false},
	} {
		got, ok := ConfigFileValue(conf, tc.param)
		if got != tc.want || ok != tc.ok {
			t.Errorf("ConfigFileValue(%q) = %q, %v; want %q, %v", tc.param, got, ok, tc.want, tc.ok)
		}
	}
}

func TestSplitArgs(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		err  bool
	}{
		{in: `a b  c`, want: []string{"a", "b", "c"}},
		{in: `"a b" 'c d'`, want: []string{"a b", "c d"}},
		{in: `"\x41\n\t\\\"" x`, want: []string{"A\n\t\\\"", "x"}},
		{in: `ab"c d"e`, err: true},
		{in: `"open`, err: true},
		{in: `'open`, err: true},
		{in: `"\`, err: true},
		{in: `x"a b"`, want: []string{"xa b"}},
		{in: ``, want: nil},
	} {
		got, err := splitArgs(tc.in)
		if (err != nil) != tc.err || strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("splitArgs(%q) = %q, %v; want %q, error %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}
