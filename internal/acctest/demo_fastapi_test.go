package acctest

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Ports on each host's own network for the real API's containers, and
// the database each host's run gets (created and dropped by the test).
const (
	fastAPIPort     = 18770 // with a database and Redis
	fastAPIBarePort = 18771 // without
	fastAPIDatabase = "mcpai_demo_fastapi_test"
	fastAPIRedisDB  = 7 // a Redis database no other test uses
)

// The real FastAPI app (internal/acctest/testdata/fastapi) in
// DemoFastAPIImage on both engines, run with every flag the api-service
// module passes to uvicorn and pointed at the host's PostgreSQL and Redis:
// health, rows written through the pool and the summary cached in Redis
// (miss, hit, a write invalidates it), bounded CPU work, the slow and
// status endpoints the Go stand-in also has, and the metrics the monitoring
// rules read, counted over both uvicorn workers. Without a database it
// still answers /health, and /api/requests says why it cannot.
func TestAccSandboxDemoFastAPIImage(t *testing.T) {
	for _, h := range Hosts(t) {
		t.Run(h.Name, func(t *testing.T) { testDemoFastAPIImage(t, h) })
	}
}

func testDemoFastAPIImage(t *testing.T, h Host) {
	image := DemoFastAPIImage
	names := []string{demoPrefix + "fastapi", demoPrefix + "fastapi-bare"}
	remove := func() {
		for _, n := range names {
			_, _ = docker(h, "rm", "-f", n)
		}
	}
	remove()
	t.Cleanup(remove)

	var labels map[string]string
	if err := json.Unmarshal([]byte(mustDocker(t, h, "image", "inspect", "--format", "{{json .Config.Labels}}", image)), &labels); err != nil {
		t.Fatal(err)
	}
	if labels["io.mcpai.demo"] != "workload" || !strings.Contains(labels["org.opencontainers.image.description"], "FastAPI") {
		t.Errorf("%s: labels %v, want io.mcpai.demo=workload and a description naming FastAPI", image, labels)
	}
	if out := mustDocker(t, h, "run", "--rm", "--network", "none", image, "uvicorn", "--version"); !strings.Contains(out, "Running uvicorn 0.17.6") {
		t.Errorf("uvicorn --version: %s", out)
	}
	// Real uvicorn (click) refuses an unknown flag: so the flags below were taken.
	out, err := docker(h, "run", "--rm", "--network", "none", image, "uvicorn", "main:app", "--no-such-flag")
	if exitCode(err) != 2 || !strings.Contains(out, "No such option: --no-such-flag") {
		t.Errorf("uvicorn --no-such-flag: %v: %s", err, out)
	}

	db := fastAPIDatabaseFor(t, h)
	for _, p := range []int{fastAPIPort, fastAPIBarePort} {
		if c, err := net.DialTimeout("tcp", net.JoinHostPort(h.Address, strconv.Itoa(p)), time.Second); err == nil {
			_ = c.Close()
			t.Fatalf("port %d on %s is taken", p, h.Address)
		}
	}
	uvicorn := func(port int) []string {
		return []string{"uvicorn", "main:app", "--host", h.Address, "--port", strconv.Itoa(port), "--workers", "2",
			"--loop", "uvloop", "--http", "httptools", "--no-access-log", "--timeout-keep-alive", "30", "--backlog", "1024"}
	}
	mustDocker(t, h, append([]string{"run", "-d", "--name", names[0], "--network", "host",
		"-e", "DATABASE_HOST=" + h.Address, "-e", fmt.Sprint("DATABASE_PORT=", h.PostgresPort),
		"-e", "DATABASE_USER=" + h.PostgresUser, "-e", "DATABASE_PASSWORD=" + h.PostgresPassword,
		"-e", "DATABASE_NAME=" + fastAPIDatabase, "-e", "API_DB_POOL_SIZE=2", "-e", "API_CACHE_TTL_SECONDS=60",
		"-e", fmt.Sprintf("REDIS_URL=redis://:%s@%s/%d", h.RedisPassword, h.RedisAddress, fastAPIRedisDB),
		image}, uvicorn(fastAPIPort)...)...)
	mustDocker(t, h, append([]string{"run", "-d", "--name", names[1], "--network", "host", image}, uvicorn(fastAPIBarePort)...)...)

	api := fmt.Sprintf("http://%s:%d", h.Address, fastAPIPort)
	if body := waitFor(t, api+"/health", 200); strings.TrimSpace(body) != `{"status":"ok"}` {
		t.Errorf("/health: %s", body)
	}
	// Both workers: the parent process, then one server process each (the
	// first may answer before the second has started).
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		logs := mustDocker(t, h, "logs", names[0])
		if strings.Contains(logs, "Started parent process") && strings.Count(logs, "Application startup complete") == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not two workers started:\n%s", logs)
		}
	}
	before := fastAPIMetrics(t, api)

	// Writes, then the cached summary: a miss, a hit, and a miss after a write.
	payload := fmt.Sprintf("from %s at %d", t.Name(), time.Now().UnixNano())
	if code, body := demoPost(api+"/api/requests", `{"payload":`+strconv.Quote(payload)+`}`); code != 201 || !strings.Contains(body, strconv.Quote(payload)) {
		t.Fatalf("POST /api/requests: %d %s", code, body)
	}
	summary := func(wantCache string, wantCount int) {
		t.Helper()
		code, body := demoGet(api + "/api/requests")
		var s struct {
			Cache string
			Count int
			Last  []struct{ Payload string }
		}
		if code != 200 || json.Unmarshal([]byte(body), &s) != nil || s.Cache != wantCache || s.Count != wantCount ||
			len(s.Last) != wantCount || s.Last[wantCount-1].Payload != payload {
			t.Errorf("GET /api/requests: %d %s, want cache %q, count %d, the first row's payload %q", code, body, wantCache, wantCount, payload)
		}
	}
	summary("miss", 1)
	summary("hit", 1)
	if code, body := demoPost(api+"/api/requests", ""); code != 201 {
		t.Fatalf("POST /api/requests without a body: %d %s", code, body)
	}
	summary("miss", 2)
	summary("hit", 2)
	var rows, conns int
	if err := db.QueryRow(context.Background(), "SELECT count(*) FROM mcpai_api_requests").Scan(&rows); err != nil || rows != 2 {
		t.Errorf("rows in %s: %d, %v; want 2", fastAPIDatabase, rows, err)
	}
	if err := db.QueryRow(context.Background(), "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
		fastAPIDatabase).Scan(&conns); err != nil || conns < 1 || conns > 4 {
		t.Errorf("the API's connections: %d, %v; want 1 to 4 (2 workers, pools of 2)", conns, err)
	}

	want := []byte("mcpai")
	for range 1000 {
		sum := sha256.Sum256(want)
		want = sum[:]
	}
	if code, body := demoGet(api + "/api/compute?n=1000"); code != 200 || !strings.Contains(body, `"sha256":"`+hex.EncodeToString(want)+`"`) {
		t.Errorf("/api/compute?n=1000: %d %s, want sha256 %x", code, body, want)
	}
	for _, q := range []string{"/api/compute?n=ten", "/api/compute?n=1000001", "/slow?ms=-1", "/slow", "/status/700"} {
		if code, body := demoGet(api + q); code != 422 {
			t.Errorf("%s: %d %s, want 422", q, code, body)
		}
	}
	start := time.Now()
	if code, body := demoGet(api + "/slow?ms=300"); code != 200 || strings.TrimSpace(body) != `{"slept_ms":300}` || time.Since(start) < 300*time.Millisecond {
		t.Errorf("/slow?ms=300: %d %s after %v", code, body, time.Since(start))
	}
	if code, body := demoGet(api + "/status/503"); code != 503 || strings.TrimSpace(body) != `{"status":503}` {
		t.Errorf("/status/503: %d %s", code, body)
	}

	after := fastAPIMetrics(t, api)
	for series, delta := range map[string]float64{
		`http_requests_total{method="POST",path="/api/requests",status="201"}`:       2,
		`http_requests_total{method="GET",path="/api/requests",status="200"}`:        4,
		`http_requests_total{method="GET",path="/status/{code}",status="503"}`:       1,
		`http_requests_total{method="GET",path="/status/{code}",status="422"}`:       1,
		`http_requests_total{method="GET",path="/api/compute",status="422"}`:         2,
		`http_request_duration_seconds_count{method="GET",path="/slow"}`:             3,
		`http_request_duration_seconds_bucket{method="GET",path="/slow",le="+Inf"}`:  3,
		`http_request_errors_total{method="GET",path="/status/{code}",status="503"}`: 1,
		`http_requests_total{method="GET",path="/metrics",status="200"}`:             1,
	} {
		series = seriesKey(series)
		if got := after[series] - before[series]; got != delta {
			t.Errorf("%s moved by %v, want %v", series, got, delta)
		}
	}
	// The histogram's sum has the 300 ms sleep; only /metrics itself is in progress.
	if s := after[seriesKey(`http_request_duration_seconds_sum{method="GET",path="/slow"}`)]; s < 0.3 {
		t.Errorf("/slow's duration sum %v, want at least 0.3", s)
	}
	if v, ok := after[seriesKey(`http_requests_in_progress{method="GET",path="/metrics"}`)]; !ok || v != 1 {
		t.Errorf("http_requests_in_progress for /metrics: %v (present %v), want 1", v, ok)
	}

	bare := fmt.Sprintf("http://%s:%d", h.Address, fastAPIBarePort)
	waitFor(t, bare+"/health", 200)
	if code, body := demoGet(bare + "/api/requests"); code != 503 || !strings.Contains(body, "no database configured") {
		t.Errorf("GET /api/requests without a database: %d %s, want 503 naming the missing configuration", code, body)
	}

	// SIGTERM: uvicorn stops its workers and exits 0.
	mustDocker(t, h, "stop", "-t", "10", names[0])
	if code := mustDocker(t, h, "inspect", "--format", "{{.State.ExitCode}}", names[0]); code != "0" {
		t.Errorf("exit status after docker stop: %s\n%s", code, mustDocker(t, h, "logs", names[0]))
	}
}

// fastAPIDatabaseFor makes an empty database for the API on h's
// PostgreSQL, dropped after the test, and returns a connection to it.
func fastAPIDatabaseFor(t *testing.T, h Host) *pgx.Conn {
	t.Helper()
	connect := func(database string) *pgx.Conn {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, fmt.Sprintf("postgres://%s:%s@%s/%s?sslmode=disable", h.PostgresUser, h.PostgresPassword,
			net.JoinHostPort(h.Address, strconv.Itoa(h.PostgresPort)), database))
		if err != nil {
			t.Fatalf("connecting to PostgreSQL on %s: %v", h.Name, err)
		}
		return conn
	}
	admin := connect(h.PostgresDatabase)
	drop := func() {
		if _, err := admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+fastAPIDatabase+" WITH (FORCE)"); err != nil {
			t.Errorf("dropping %s: %v", fastAPIDatabase, err)
		}
	}
	drop()
	if _, err := admin.Exec(context.Background(), "CREATE DATABASE "+fastAPIDatabase); err != nil {
		t.Fatal(err)
	}
	conn := connect(fastAPIDatabase)
	t.Cleanup(func() {
		_ = conn.Close(context.Background())
		drop()
		_ = admin.Close(context.Background())
	})
	return conn
}

// fastAPIMetrics reads url's /metrics: each sample's value by its series
// (seriesKey: prometheus_client's multiprocess mode sorts the labels).
func fastAPIMetrics(t *testing.T, url string) map[string]float64 {
	t.Helper()
	code, body := demoGet(url + "/metrics")
	if code != 200 {
		t.Fatalf("/metrics: %d %s", code, body)
	}
	samples := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		i := strings.LastIndexByte(line, ' ')
		if strings.HasPrefix(line, "#") || i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("/metrics: %q: %v", line, err)
		}
		samples[seriesKey(line[:i])] = v
	}
	return samples
}

// seriesKey is a series as name{labels} with its labels in name order.
func seriesKey(series string) string {
	name, labels, ok := strings.Cut(series, "{")
	if !ok {
		return series
	}
	labels = strings.TrimSuffix(labels, "}")
	var pairs []string
	for labels != "" {
		// name="value", the value with \\, \" and \n escapes
		eq := strings.Index(labels, `="`)
		if eq < 0 {
			return series
		}
		j := eq + 2
		for j < len(labels) && labels[j] != '"' {
			if labels[j] == '\\' {
				j++
			}
			j++
		}
		if j >= len(labels) {
			return series
		}
		pairs = append(pairs, labels[:j+1])
		labels = strings.TrimPrefix(labels[j+1:], ",")
	}
	sort.Strings(pairs)
	return name + "{" + strings.Join(pairs, ",") + "}"
}

// demoPost is POST url with a JSON body ("" for none): the status and
// body, or -1 and the error.
func demoPost(url, body string) (int, string) {
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return -1, err.Error()
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := demoClient.Do(req)
	if err != nil {
		return -1, err.Error()
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
