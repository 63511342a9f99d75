// Package acctest gives tests the sandbox hosts that `make sandbox` starts:
// their addresses, keys and host keys, read from .sandbox/hosts.json, and
// the checks the tests make on them behind the provider's back (Host's
// methods in checks*.go), shared by the resource and the module tests.
package acctest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/mcpai/terraform-provider-mcpai/internal/remote"
)

// Host is one sandbox host as hosts.json describes it.
type Host struct {
	Name                   string `json:"name"`
	Address                string `json:"address"`
	Port                   int    `json:"port"`
	User                   string `json:"user"`
	PrivateKeyPath         string `json:"private_key_path"`
	EncryptedKeyPath       string `json:"encrypted_key_path"`
	EncryptedKeyPassphrase string `json:"encrypted_key_passphrase"`
	UnauthorizedKeyPath    string `json:"unauthorized_key_path"`
	KnownHostsPath         string `json:"known_hosts_path"`
	HostKey                string `json:"host_key"`
	SudoUser               string `json:"sudo_user"`
	NoprivUser             string `json:"nopriv_user"`
	Password               string `json:"password"`
	SSHDLog                string `json:"sshd_log"`
	Netns                  string `json:"netns"`
	SysctlDir              string `json:"sysctl_dir"`
	// EtcDir is the machine-side folder behind the host's private /etc
	// copies: <EtcDir>/tmpfiles.d, <EtcDir>/security/limits.d and
	// <EtcDir>/systemd/system.conf.d are its /etc/tmpfiles.d,
	// /etc/security/limits.d and /etc/systemd/system.conf.d (empty at start).
	EtcDir string `json:"etc_dir"`
	// CPUFreq is "emulated" where the host has a fake cpufreq driver
	// (cpu0 and cpu1, governor "schedutil" at start), "none" otherwise.
	CPUFreq string `json:"cpufreq"`
	// CmdlineTHP is the transparent_hugepage= value on the host's
	// /proc/cmdline ("never"), or "" where it has none.
	CmdlineTHP string `json:"cmdline_thp"`
	// Services is what the host runs: "sshd", "docker", "postgres",
	// "redis"; a light host (`scripts/sandbox.sh up N --light-from K`, for
	// benchmarks over many hosts) runs sshd only, and the fields below are
	// empty for it. Hosts returns only hosts with every service, AllHosts
	// the light ones too.
	Services []string `json:"services"`
	// Light is true for a host that runs sshd only.
	Light bool `json:"light"`
	// DockerEngine is which dockerd the host runs: "distribution" (Debian's
	// Docker 20.10, no `dockerd --validate`) or "current" (built from the Go
	// module proxy; its version reads "library-import"). Either is started
	// and restarted with `service docker start|restart` inside the host
	// (/etc/init.d/docker; no systemd), which returns before the Engine API
	// answers, and reloaded with SIGHUP to the pid in /var/run/docker.pid.
	DockerEngine string `json:"docker_engine"`
	// DockerSocket is the machine-side path of the host's
	// /var/run/docker.sock, for assertions through the Engine API.
	DockerSocket string `json:"docker_socket"`
	// DockerLog is the machine-side path of the host's /var/log/docker.log,
	// where the init script appends the daemon's output (the reason it did
	// not start, among others).
	DockerLog string `json:"docker_log"`
	// DockerEtc is the machine-side path of the host's private /etc/docker.
	// It holds no daemon.json at start; Docker 20.10 adds key.json there
	// when it first starts.
	DockerEtc string `json:"docker_etc"`
	// DockerImage is an image every host's engine has: a static program
	// FROM scratch that runs until SIGTERM (internal/acctest/testdata/sleeper).
	DockerImage string `json:"docker_image"`
	// GPUMock is true where the host has the mock NVIDIA stack (h2, current
	// engine): nvidia-container-runtime-hook on dockerd's PATH, so `--gpus`
	// (a DeviceRequest with capability "gpu") works; nvidia-container-runtime,
	// a link to runc, for a daemon.json runtime "nvidia"; and CDI devices
	// nvidia.com/gpu=0, =1 and =all. No device exists: the hook only logs,
	// and the CDI devices only set NVIDIA_VISIBLE_DEVICES. Elsewhere (Docker
	// 20.10) `--gpus` and CDI requests fail.
	GPUMock bool `json:"gpu_mock"`
	// NVIDIAHookLog is the machine-side path of the host's
	// /var/log/mcpai-nvidia-hook.log, "" without GPUMock. The hook appends a
	// line "<container id> NVIDIA_VISIBLE_DEVICES=<v>
	// NVIDIA_DRIVER_CAPABILITIES=<v>" ("<unset>" when absent) each time a
	// container with `--gpus` starts (the sandbox's own probe adds one when
	// dockerd first starts: match by container id). CDI requests do not run
	// it.
	NVIDIAHookLog string `json:"nvidia_hook_log"`
	// CDIDir is the machine-side path of the host's private /etc/cdi, "" without
	// GPUMock. It holds mcpai-mock-gpu.yaml, which `scripts/sandbox.sh up`
	// puts back if changed or removed; dockerd watches the folder. Replace
	// files in it, never the folder (it is a bind mount's source).
	CDIDir string `json:"cdi_dir"`
	// LocustImage is an image of real Locust (Debian bookworm's
	// python3-locust 2.12, "mcpai-locust:latest") made by
	// scripts/debian-images.sh without a registry, to the contract of
	// Locust's official image: ENTRYPOINT ["locust"], USER locust (uid 1000),
	// WORKDIR /home/locust, EXPOSE 8089 5557.
	LocustImage string `json:"locust_image"`
	// DebianStackImage is the same Debian root filesystem with no
	// entrypoint (CMD ["/bin/sh"], root), "mcpai-debian-stack:latest":
	// pgbouncer 1.18, prometheus 2.42 and promtool,
	// prometheus-node-exporter, prometheus-postgres-exporter,
	// prometheus-redis-exporter, and python3 with fastapi, uvicorn, uvloop,
	// httptools, prometheus_client, asyncpg and redis. Run a program with
	// an explicit entrypoint or command.
	DebianStackImage string `json:"debian_stack_image"`
	// PostgresPort is where the host's PostgreSQL 15 cluster ("15 main",
	// Debian layout) listens: on Address (reachable from the machine) and on
	// 127.0.0.1 inside the host (for an SSH tunnel), both 5432. It runs
	// without systemd: restart it inside the host as root with
	// `pg_ctlcluster 15 main restart` (or start|stop|reload, or
	// `service postgresql restart`); `pg_lsclusters` shows its state. The
	// hosts share the machine's pid namespace, so processes named postgres
	// may belong to another host: go by the postmaster.pid in
	// PostgresDataDir. pg_stat_statements is available but not preloaded.
	PostgresPort int `json:"postgres_port"`
	// PostgresUser is a superuser role that logs in with PostgresPassword
	// (scram-sha-256) over TCP, from the machine and from inside the host.
	// Inside the host the postgres user logs in on the local socket (peer).
	PostgresUser     string `json:"postgres_user"`
	PostgresPassword string `json:"postgres_password"`
	// PostgresDatabase is a database owned by PostgresUser.
	PostgresDatabase string `json:"postgres_database"`
	// PostgresLog is the machine-side path of the host's
	// /var/log/postgresql/postgresql-15-main.log, where the server (started
	// by pg_ctlcluster) writes, including why it did not start.
	PostgresLog string `json:"postgres_log"`
	// PostgresConfDir is the machine-side path of the host's
	// /etc/postgresql/15/main (postgresql.conf, pg_hba.conf, conf.d/).
	PostgresConfDir string `json:"postgres_conf_dir"`
	// PostgresDataDir is the machine-side path of the host's data directory,
	// /var/lib/postgresql/15/main, where ALTER SYSTEM writes
	// postgresql.auto.conf. `scripts/sandbox.sh up` starts a cluster that a
	// test left stopped, emptying postgresql.auto.conf if it does not start
	// otherwise.
	PostgresDataDir string `json:"postgres_data_dir"`
	// RedisAddress is host:port of the host's Redis 7.0 (Debian's
	// redis-server, running as the redis user), reachable from the machine;
	// inside the host it also listens on 127.0.0.1:6379. There is no
	// systemd: restart it inside the host as root with `service
	// redis-server restart` (/etc/init.d/redis-server, about 1 s), which
	// exits 0 and prints "failed" when the server refuses its
	// configuration: check with a PING. The pid file is
	// /run/redis/redis-server.pid inside the host.
	RedisAddress string `json:"redis_address"`
	// RedisTLSAddress is host:port of the same server's TLS listener
	// (tls-port 6380, tls-auth-clients no): its certificate, for the host's
	// IP address (and 127.0.0.1), is signed by RedisCACert.
	RedisTLSAddress string `json:"redis_tls_address"`
	// RedisPassword is the default user's password (requirepass).
	RedisPassword string `json:"redis_password"`
	// RedisNoconfigUser is an ACL user (password RedisNoconfigPassword) that
	// may run every command but CONFIG: CONFIG GET answers NOPERM.
	RedisNoconfigUser     string `json:"redis_noconfig_user"`
	RedisNoconfigPassword string `json:"redis_noconfig_password"`
	// RedisCACert is the machine-side path of the PEM CA certificate that
	// signed the host's Redis server certificate.
	RedisCACert string `json:"redis_ca_cert"`
	// RedisConf is the machine-side path of the host's
	// /etc/redis/redis.conf, owned by redis so that CONFIG REWRITE can
	// replace it. `scripts/sandbox.sh up` restarts a Redis that a test left
	// not answering, putting back the pristine redis.conf if that is not
	// enough.
	RedisConf string `json:"redis_conf"`
	// RedisLog is the machine-side path of the host's
	// /var/log/redis/redis-server.log (why it did not start, among others).
	RedisLog string `json:"redis_log"`
}

// Images of an imitation inference server that every host's engine has
// (FROM scratch, ENTRYPOINT ["/modelserver"], EXPOSE 8000; see
// internal/acctest/testdata/modelserver for its output, HTTP answers and
// MODELSERVER_* settings, which a container's env overrides).
const (
	// ModelImageReady answers 503 "loading" for 2 s, then 200 "ok".
	ModelImageReady = "mcpai-model:ready"
	// ModelImageNever answers 503 "loading" for ever.
	ModelImageNever = "mcpai-model:never"
	// ModelImageExits prints "modelserver: fatal: CUDA out of memory
	// (simulated)" on stderr after 1 s and exits 3.
	ModelImageExits = "mcpai-model:exits"
	// ModelImageHealthcheck is ModelImageReady with a HEALTHCHECK (interval
	// 1 s, timeout 1 s, 2 retries) that runs `/modelserver -probe`: healthy
	// about 3 s after the start.
	ModelImageHealthcheck = "mcpai-model:healthcheck"
)

// RegistryImage is an image every host's engine has: an in-memory OCI
// registry speaking plain HTTP on port 5000 (FROM scratch, ENTRYPOINT
// ["/registry"], EXPOSE 5000; see internal/acctest/testdata/registry). It
// starts empty and keeps nothing after it stops. With the environment
// MCPAI_REGISTRY_USER and MCPAI_REGISTRY_PASSWORD it asks for those
// credentials (HTTP basic auth) on every request. Published on a host's
// loopback (docker run -p 127.0.0.1:<port>:5000), the host's dockerd pushes
// to and pulls from it over HTTP (127.0.0.0/8 is an insecure registry range
// by default); its log ("docker logs") has "registry: listening on" once it
// accepts connections, then a line per request.
const RegistryImage = "mcpai-registry:test"

// Demo workload images every host's engine has, built from this project's
// own Go programs (no registry is reachable) and labelled io.mcpai.demo;
// hosts.json names them too.
const (
	// DemoAPIImage is a demo stand-in for a FastAPI app served by uvicorn
	// (io.mcpai.demo=workload): internal/acctest/testdata/demoapi at
	// /usr/local/bin/uvicorn, on PATH, no ENTRYPOINT. It takes uvicorn's
	// command line (`uvicorn main:app --host H --port N --workers N --loop
	// uvloop --http httptools [--no-access-log] [--timeout-keep-alive S]
	// [--backlog N]`; anything else exits 2 with uvicorn's usage error) and
	// serves GET /health, / (its effective settings, pid, hostname and the
	// worker that answered), /metrics, /slow?ms=N and /status/<code>.
	DemoAPIImage = "mcpai-demo-api:latest"
	// DemoFastAPIImage is the real demo API (io.mcpai.demo=workload): the
	// FastAPI app internal/acctest/testdata/fastapi/main.py in /app, FROM
	// DebianStackImage (Debian's fastapi 0.92 and uvicorn 0.17.6, uvloop,
	// httptools), CMD `uvicorn main:app --host 0.0.0.0 --port 8000`. It
	// serves /health, /api/requests (PostgreSQL through asyncpg, cached in
	// Redis; 503 without DATABASE_HOST), /api/compute, /slow, /status/<code>
	// and /metrics (the stand-in's metric names) as its comment says; GET /
	// is not among them, so tests that read uvicorn's effective settings
	// use DemoAPIImage.
	DemoFastAPIImage = "mcpai-demo-fastapi:latest"
	// DemoModelImage is the demo model runner (io.mcpai.demo=workload): the
	// imitation inference server of ModelImageReady, under this name.
	DemoModelImage = "mcpai-demo-model:latest"
	// DemoTraefikImage is NOT Traefik but a stand-in for Traefik v3
	// (io.mcpai.demo=stand-in; Traefik cannot be built here, see
	// scripts/sandbox.sh): internal/acctest/testdata/demotraefik as the
	// ENTRYPOINT /usr/local/bin/traefik. It takes the flags the api-service
	// module passes and the file provider's PathPrefix routers and
	// load-balancer services (servers, healthCheck), strictly, with
	// Traefik's /ping and metric names.
	DemoTraefikImage = "mcpai-demo-traefik:latest"
)

// HostsFile is where the sandbox lists its hosts: MCPAI_SANDBOX_HOSTS, or
// .sandbox/hosts.json at the repository root.
func HostsFile() string {
	if p := os.Getenv("MCPAI_SANDBOX_HOSTS"); p != "" {
		return p
	}
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", ".sandbox", "hosts.json")
}

// Hosts returns the sandbox hosts that run every service (sshd, Docker,
// PostgreSQL, Redis), leaving out light ones. Without a sandbox the test is
// skipped unless TF_ACC is set, in which case a missing sandbox is a
// failure: `make testacc` always starts one.
func Hosts(t testing.TB) []Host {
	t.Helper()
	var full []Host
	for _, h := range AllHosts(t) {
		if !h.Light {
			full = append(full, h)
		}
	}
	return full
}

// AllHosts returns every sandbox host, light ones (sshd only) included, for
// tests and benchmarks that need only SSH.
func AllHosts(t testing.TB) []Host {
	t.Helper()
	// Tests that log in to the hosts and change them run only when asked
	// for, as terraform-plugin-testing's do: a sandbox left up must not
	// turn a plain `go test ./...` into a run against it.
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test against the sandbox hosts: set TF_ACC=1 (make test does)")
	}
	hosts, err := ReadHostsFile(HostsFile())
	if err != nil {
		t.Fatalf("no sandbox hosts (%v): run `make sandbox` first, or `make test`, which starts them", err)
	}
	return hosts
}

// ReadHostsFile reads a sandbox's hosts.json (HostsFile for this
// repository's sandbox).
func ReadHostsFile(path string) ([]Host, error) {
	raw, err := os.ReadFile(filepath.Clean(path))
	if err != nil {
		return nil, err
	}
	var doc struct {
		Hosts []Host `json:"hosts"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("%s is not a sandbox host list: %w", path, err)
	}
	if len(doc.Hosts) == 0 {
		return nil, fmt.Errorf("%s lists no hosts", path)
	}
	return doc.Hosts, nil
}

// FirstHost is the sandbox's first host.
func FirstHost(t testing.TB) Host { return Hosts(t)[0] }

func mustRead(t testing.TB, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// PrivateKey is the content of the key authorised for every user.
func (h Host) PrivateKey(t testing.TB) string { return mustRead(t, h.PrivateKeyPath) }

// KnownHosts is the content of the sandbox's known_hosts file.
func (h Host) KnownHosts(t testing.TB) string { return mustRead(t, h.KnownHostsPath) }

// Config is a transport configuration that logs in as root with the
// sandbox key and verifies the pinned host key.
func (h Host) Config(t testing.TB) remote.Config {
	return remote.Config{Endpoint: remote.Endpoint{
		Host: h.Address, Port: h.Port, User: h.User,
		PrivateKey: h.PrivateKey(t), KnownHosts: h.KnownHosts(t),
	}}
}

// AcceptedLogins counts the connections sshd on h has accepted so far.
func (h Host) AcceptedLogins(t testing.TB) int {
	return strings.Count(mustRead(t, h.SSHDLog), "Accepted ")
}

// SSHBlock is an HCL ssh object for h: the given extra lines are added
// inside it (e.g. `sudo = true`).
func (h Host) SSHBlock(t testing.TB, extra ...string) string {
	return fmt.Sprintf("{\n    host        = %q\n    port        = %d\n    user        = %q\n    private_key = %q\n    host_key    = %q\n    %s\n  }",
		h.Address, h.Port, h.User, h.PrivateKey(t), h.HostKey, strings.Join(extra, "\n    "))
}

// SSHObject is an HCL ssh object for h without host (as the modules take
// it): user, the sandbox key read with file(), and the pinned host key.
func (h Host) SSHObject(user string) string {
	return fmt.Sprintf("{ user = %q, private_key = file(%q), host_key = %q }", user, h.PrivateKeyPath, h.HostKey)
}

// InHost runs a command inside h's namespaces, as an out-of-band change or
// a check made behind the provider's back, and returns its output.
func (h Host) InHost(t testing.TB, argv ...string) string {
	t.Helper()
	return h.run(t, argv...)
}

// ProviderBlock configures the provider with the sandbox's root key and
// known_hosts as defaults, so resources need only ssh = { host = ... }.
func ProviderBlock(t testing.TB) string {
	h := FirstHost(t)
	return fmt.Sprintf("terraform {\n  required_providers {\n    mcpai = { source = \"mcpai/mcpai\" }\n  }\n}\n\nprovider \"mcpai\" {\n  ssh = {\n    user        = \"root\"\n    private_key = %q\n    known_hosts = %q\n  }\n}\n",
		h.PrivateKey(t), h.KnownHosts(t))
}
