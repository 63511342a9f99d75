package moduletest

// The sandbox checks the module tests make behind the provider's back: the
// same as internal/provider's resource tests make (see the resource_*_test.go
// files there), which a test package cannot import.

import (
	"context"
	"crypto/md5" //nolint:gosec // fingerprints only
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/mcpai/terraform-provider-mcpai/internal/acctest"
	"github.com/mcpai/terraform-provider-mcpai/internal/kernel"
)

// The suffixes mcpai_container gives a replacement and the container it
// replaces while it swaps them (internal/provider's nextSuffix, oldSuffix).
const (
	nextSuffix = "-mcpai-next"
	oldSuffix  = "-mcpai-old"
)

// errorWords matches an error message however Terraform wraps its lines.
func errorWords(msg string) *regexp.Regexp {
	words := strings.Fields(msg)
	for i, w := range words {
		words[i] = regexp.QuoteMeta(w)
	}
	return regexp.MustCompile(strings.Join(words, `\s+`))
}

// dockerCLI runs the docker CLI against a host's daemon, through the
// host's socket as the machine sees it.
func dockerCLI(t *testing.T, h acctest.Host, args ...string) string {
	t.Helper()
	out, err := dockerCmd(h, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func dockerCmd(h acctest.Host, args ...string) *exec.Cmd {
	return exec.Command("docker", append([]string{"-H", "unix://" + h.DockerSocket}, args...)...)
}

func dockerPid(t *testing.T, h acctest.Host) string {
	t.Helper()
	return h.InHost(t, "cat /var/run/docker.pid")
}

func daemonJSON(t *testing.T, h acctest.Host) (string, bool) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(h.DockerEtc, "daemon.json"))
	if os.IsNotExist(err) {
		return "", false
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(data), true
}

// resetDocker makes a host's daemon run without a daemon.json, as the
// sandbox starts it, whatever a failed test left.
func resetDocker(t *testing.T, h acctest.Host) {
	t.Helper()
	if _, ok := daemonJSON(t, h); ok {
		if err := os.Remove(filepath.Join(h.DockerEtc, "daemon.json")); err != nil {
			t.Fatal(err)
		}
		h.InHost(t, "service docker restart >/dev/null 2>&1; for i in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done")
	}
}

// dockerState is what the tests compare before and after: the file and
// the daemon answering.
func dockerState(t *testing.T, h acctest.Host) string {
	t.Helper()
	content, ok := daemonJSON(t, h)
	return fmt.Sprintf("file=%v %q driver=%s", ok, content, dockerCLI(t, h, "info", "--format", "{{.Driver}} {{.LoggingDriver}} {{.LiveRestoreEnabled}}"))
}

// inspected is the part of docker inspect the tests look at.
type inspected struct {
	ID     string
	Name   string
	Config struct {
		Cmd    []string
		Env    []string
		Labels map[string]string
	}
	State struct {
		Status  string
		Running bool
		Health  *struct{ Status string }
	}
	HostConfig struct {
		Memory            int64
		MemoryReservation int64
		NanoCpus          int64
		CpusetCpus        string
		ShmSize           int64
		RestartPolicy     struct{ Name string }
		Binds             []string
		PortBindings      map[string][]struct{ HostIP, HostPort string }
		Ulimits           []struct {
			Name       string
			Soft, Hard int64
		}
		DeviceRequests []struct {
			Driver       string
			Count        int
			DeviceIDs    []string
			Capabilities [][]string
		}
	}
}

// containerOf inspects a container by name; ok is false when there is none.
func containerOf(t *testing.T, h acctest.Host, name string) (inspected, bool) {
	t.Helper()
	out, err := dockerOutput(h, "inspect", "--type", "container", name)
	if err != nil {
		if strings.Contains(out, "No such") {
			return inspected{}, false
		}
		t.Fatalf("docker inspect %s: %v: %s", name, err, out)
	}
	var list []inspected
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 1 {
		t.Fatalf("docker inspect %s: %v: %s", name, err, out)
	}
	return list[0], true
}

func dockerOutput(h acctest.Host, args ...string) (string, error) {
	out, err := dockerCmd(h, args...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// removeContainers removes test containers by name, whatever a failed run left.
func removeContainers(t *testing.T, h acctest.Host, names ...string) {
	t.Helper()
	for _, n := range names {
		for _, suffix := range []string{"", nextSuffix, oldSuffix} {
			_, _ = dockerOutput(h, "rm", "-f", n+suffix)
		}
	}
}

func hasAll(have []string, want ...string) error {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return fmt.Errorf("%q not in %q", w, have)
		}
	}
	return nil
}

// containsRun reports whether want appears in have as consecutive elements.
func containsRun(have []string, want ...string) error {
	for i := 0; i+len(want) <= len(have); i++ {
		if slices.Equal(have[i:i+len(want)], want) {
			return nil
		}
	}
	return fmt.Errorf("%q not in %q", want, have)
}

// noLeftovers checks that a replacement left no container under its
// temporary names.
func noLeftovers(t *testing.T, h acctest.Host, name string) error {
	for _, s := range []string{nextSuffix, oldSuffix} {
		if _, ok := containerOf(t, h, name+s); ok {
			return fmt.Errorf("left %s", name+s)
		}
	}
	return nil
}

// fileOnHost is a file's content, mode and owner as the host shows them,
// or "absent".
func fileOnHost(t *testing.T, h acctest.Host, p string) string {
	t.Helper()
	return h.InHost(t, `if [ -e '`+p+`' ]; then stat -c '%a %U:%G' '`+p+`'; cat '`+p+`'; else echo absent; fi`)
}

// dirsOnHost is each folder's mode, owner and type as the host shows them,
// "absent" for one that is not there.
func dirsOnHost(t *testing.T, h acctest.Host, dirs ...string) string {
	t.Helper()
	var out []string
	for _, d := range dirs {
		out = append(out, h.InHost(t, `if [ -e '`+d+`' ]; then stat -c '%a %U:%G %F' '`+d+`'; else echo absent; fi`))
	}
	return strings.Join(out, "\n")
}

// removeOnHost removes paths from h now and after the test.
func removeOnHost(t *testing.T, h acctest.Host, paths ...string) {
	t.Helper()
	rm := "rm -rf -- " + strings.Join(paths, " ")
	h.InHost(t, rm)
	t.Cleanup(func() { h.InHost(t, rm) })
}

// guardTHP records the machine's transparent huge page modes and puts them
// back when the test ends, whatever happens in it: every sandbox host
// shares this one kernel.
func guardTHP(t *testing.T) (enabled, defrag string) {
	t.Helper()
	read := func(p string) string {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Skipf("no transparent huge pages here: %v", err)
		}
		active, _, err := kernel.ParseSelector(string(data))
		if err != nil {
			t.Fatal(err)
		}
		return active
	}
	enabled, defrag = read(kernel.THPEnabledPath), read(kernel.THPDefragPath)
	t.Cleanup(func() {
		for p, v := range map[string]string{kernel.THPEnabledPath: enabled, kernel.THPDefragPath: defrag} {
			if err := os.WriteFile(p, []byte(v), 0o644); err != nil {
				t.Errorf("restoring %s to %s: %v", p, v, err)
			}
		}
	})
	return enabled, defrag
}

// machineTHP is the active THP mode of the machine's kernel.
func machineTHP(t *testing.T, p string) string {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	active, _, err := kernel.ParseSelector(string(data))
	if err != nil {
		t.Fatal(err)
	}
	return active
}

// kernelSnapshotOf is everything these tests could change on a host: THP,
// the CPUs' governors and the three private folders' files.
func kernelSnapshotOf(t *testing.T, h acctest.Host) string {
	t.Helper()
	return h.InHost(t, `cat /sys/kernel/mm/transparent_hugepage/enabled /sys/kernel/mm/transparent_hugepage/defrag
for f in /sys/devices/system/cpu/cpu*/cpufreq/scaling_governor; do [ -e "$f" ] && echo "$f $(cat "$f")"; done
for d in /etc/tmpfiles.d /etc/security/limits.d /etc/systemd/system.conf.d; do
  for f in "$d"/*; do [ -e "$f" ] && echo "$f $(md5sum < "$f")"; done
done
ls /tmp/mcpai-pwned 2>&1; true`)
}

// hostFile reads one of a sandbox host's private /etc files from the
// machine; "" when it does not exist.
func hostFile(t *testing.T, h acctest.Host, p string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(h.EtcDir, strings.TrimPrefix(p, "/etc/")))
	if os.IsNotExist(err) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func governorOf(t *testing.T, h acctest.Host, cpu int) string {
	t.Helper()
	return h.InHost(t, "cat "+kernel.GovernorPath(cpu))
}

// accKeys are the network keys the tests change; inside a sandbox host they
// belong to its network namespace, so the machine's own are untouched.
var accKeys = []string{"net.core.somaxconn", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_rmem", "net.ipv4.tcp_keepalive_time"}

// hostSnapshot is everything the tests could change on a host: the live
// values of accKeys, the sysctl.d folder, the provider's ledger, and a
// marker an injection would create.
func hostSnapshot(t *testing.T, h acctest.Host) string {
	t.Helper()
	var cmd strings.Builder
	for _, k := range accKeys {
		fmt.Fprintf(&cmd, "echo %s=$(cat /proc/sys/%s); ", k, strings.ReplaceAll(k, ".", "/"))
	}
	cmd.WriteString("cd /etc/sysctl.d && for f in $(ls -A); do echo $f $(md5sum < $f); done; ls /tmp/mcpai-pwned 2>&1; ls -A /var/lib/mcpai/ledger 2>/dev/null; true")
	return h.InHost(t, cmd.String())
}

func liveValue(t *testing.T, h acctest.Host, key string) string {
	t.Helper()
	return strings.Join(strings.Fields(h.InHost(t, "cat /proc/sys/"+strings.ReplaceAll(key, ".", "/"))), " ")
}

// pgConn connects straight to a sandbox host's server, as the tests'
// independent view of it.
func pgConn(t *testing.T, h acctest.Host) *pgx.Conn {
	t.Helper()
	cfg, err := pgx.ParseConfig(fmt.Sprintf("postgres://%s@%s:%d/%s?sslmode=disable", h.PostgresUser, h.Address, h.PostgresPort, h.PostgresDatabase))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Password = h.PostgresPassword
	conn, err := pgx.ConnectConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) }) //nolint:errcheck // test cleanup
	return conn
}

func pgShow(t *testing.T, h acctest.Host, name string) string {
	t.Helper()
	var v string
	if err := pgConn(t, h).QueryRow(context.Background(), "SELECT current_setting($1)", name).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// pgAutoConf is what postgresql.auto.conf sets, as the server reads it.
func pgAutoConf(t *testing.T, h acctest.Host) string {
	t.Helper()
	rows, err := pgConn(t, h).Query(context.Background(),
		"SELECT name || '=' || setting FROM pg_file_settings WHERE sourcefile LIKE '%/postgresql.auto.conf' ORDER BY seqno")
	if err != nil {
		t.Fatal(err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "\n")
}

// resetPostgres empties postgresql.auto.conf and reloads, whatever a test
// left; a pending shared_buffers needs the restart the sandbox does on up.
func resetPostgres(t *testing.T, h acctest.Host) {
	t.Helper()
	conn := pgConn(t, h)
	for _, q := range []string{"ALTER SYSTEM RESET ALL", "SELECT pg_reload_conf()"} {
		if _, err := conn.Exec(context.Background(), q); err != nil {
			t.Fatal(err)
		}
	}
}

// redisParams are the parameters the tests change.
var redisParams = []string{"maxmemory", "maxmemory-policy", "save", "tcp-keepalive", "timeout", "tcp-backlog"}

func redisHost(t *testing.T) acctest.Host {
	t.Helper()
	h := acctest.FirstHost(t)
	if h.RedisAddress == "" {
		t.Fatal("the sandbox hosts run no Redis; run scripts/sandbox.sh up 2")
	}
	return h
}

// redisCLI is the tests' own client of a sandbox host's Redis.
func redisCLI(t *testing.T, h acctest.Host) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: h.RedisAddress, Password: h.RedisPassword, Protocol: 2, DisableIdentity: true})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// redisSnapshot is what the tests could change: the parameters' live
// values and the config file.
func redisSnapshot(t *testing.T, h acctest.Host) string {
	t.Helper()
	c := redisCLI(t, h)
	var b strings.Builder
	for _, p := range redisParams {
		v, err := c.ConfigGet(context.Background(), p).Result()
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s=%s\n", p, v[p])
	}
	data, err := os.ReadFile(h.RedisConf)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&b, "conf %x\n", md5.Sum(data)) //nolint:gosec // fingerprint only
	return b.String()
}

func redisConfigGet(t *testing.T, h acctest.Host, p string) string {
	t.Helper()
	v, err := redisCLI(t, h).ConfigGet(context.Background(), p).Result()
	if err != nil {
		t.Fatal(err)
	}
	return v[p]
}

// indexTable makes a table for one test, with rows: tenant and created_at
// for a composite key, score with nulls, dup with duplicates. It is dropped,
// with its indexes, when the test ends.
func indexTable(t *testing.T, h acctest.Host, table string) {
	t.Helper()
	conn := pgConn(t, h)
	ident := pgx.Identifier{table}.Sanitize()
	for _, q := range []string{
		"DROP TABLE IF EXISTS " + ident,
		"CREATE TABLE " + ident + " (id bigint PRIMARY KEY, tenant int NOT NULL, created_at timestamptz NOT NULL, score int, label text, dup int, tags text[])",
		"INSERT INTO " + ident + ` SELECT g, g % 7, now() - g * interval '1 minute', CASE WHEN g % 5 = 0 THEN NULL ELSE g END,
		   CASE WHEN g % 11 = 0 THEN NULL ELSE 'label ' || g END, g % 3, ARRAY['t' || (g % 4)] FROM generate_series(1, 500) AS g`,
		"ANALYZE " + ident,
	} {
		if _, err := conn.Exec(context.Background(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t.Cleanup(func() {
		if _, err := conn.Exec(context.Background(), "DROP TABLE IF EXISTS "+ident); err != nil {
			t.Errorf("dropping %s: %v", ident, err)
		}
	})
}

// liveIndex is the server's own view of an index: oid 0 when there is none.
type liveIndex struct {
	oid        uint32
	valid      bool
	definition string
}

func indexOnServer(t *testing.T, h acctest.Host, name string) liveIndex {
	t.Helper()
	var li liveIndex
	err := pgConn(t, h).QueryRow(context.Background(), `SELECT c.oid, i.indisvalid, pg_get_indexdef(c.oid)
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_index i ON i.indexrelid = c.oid
		WHERE n.nspname = 'public' AND c.relname = $1`, name).Scan(&li.oid, &li.valid, &li.definition)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		t.Fatal(err)
	}
	return li
}

// indexGone is an error when the server still has the index name.
func indexGone(t *testing.T, h acctest.Host, name string) error {
	if li := indexOnServer(t, h, name); li.oid != 0 {
		return fmt.Errorf("index %s is still there after destroy: %s", name, li.definition)
	}
	return nil
}

// wantIndex is an error unless the server has a valid index name as
// definition.
func wantIndex(t *testing.T, h acctest.Host, name, definition string) error {
	li := indexOnServer(t, h, name)
	if li.oid == 0 || !li.valid || li.definition != definition {
		return fmt.Errorf("index %s on the server is %+v, want a valid %s", name, li, definition)
	}
	return nil
}
