package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mcpai/terraform-provider-mcpai/internal/acctest"
	"github.com/mcpai/terraform-provider-mcpai/internal/stackprobe"
)

// stackHosts are the two sandbox hosts examples/stack uses.
func stackHosts(t *testing.T) []acctest.Host {
	t.Helper()
	hosts := acctest.Hosts(t)
	if len(hosts) < 2 || hosts[0].Name != "h1" || hosts[1].Name != "h2" {
		t.Fatalf("examples/stack needs sandbox hosts h1 and h2; run scripts/sandbox.sh up 2")
	}
	return hosts[:2]
}

func probe(t *testing.T, hosts []acctest.Host) stackprobe.Snapshot {
	t.Helper()
	s, err := stackprobe.Take(context.Background(), hosts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// examples/stack applied to the sandbox: every layer's values are on the
// hosts (read by another path than the provider's), the plan is then
// empty, a change by hand shows as drift and is put back, and destroy
// leaves every value as it was before.
func TestAccStackExample(t *testing.T) {
	if testing.Short() {
		t.Skip("drives the terraform CLI")
	}
	hosts := stackHosts(t)
	db, app := hosts[0], hosts[1]
	// The VM host gets the kernel-wide settings; h1 and h2 share the
	// machine's kernel, which the example leaves alone.
	hosts = append(hosts, acctest.VMAt(t, 0).Host)
	app.RemoveContainers(t, "mcpai-model-runner", "mcpai-api-1", "mcpai-api-2", "mcpai-api-traefik")
	before := probe(t, hosts)
	// The API's table in the data host's database (the app creates it).
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), fmt.Sprintf("postgres://%s:%s@%s:%d/%s?sslmode=disable",
			db.PostgresUser, db.PostgresPassword, db.Address, db.PostgresPort, db.PostgresDatabase))
		if err != nil {
			t.Errorf("dropping the API's table: %v", err)
			return
		}
		defer func() { _ = conn.Close(context.Background()) }()
		if _, err := conn.Exec(context.Background(), "DROP TABLE IF EXISTS mcpai_api_requests"); err != nil {
			t.Errorf("dropping the API's table: %v", err)
		}
	})

	w := acctest.ExampleWorkspace(t, "stack")
	// Registered first: a failed or partial apply is destroyed too.
	destroyed := false
	t.Cleanup(func() {
		if !destroyed {
			w.Run([]int{0}, "destroy", "-auto-approve")
		}
	})
	w.Run([]int{0}, "apply", "-auto-approve")
	after := probe(t, hosts)

	var pg map[string]struct {
		Settings map[string]string `json:"settings"`
	}
	w.OutputJSON("postgres", &pg)
	var redisOut map[string]struct {
		Maxmemory string `json:"maxmemory"`
	}
	w.OutputJSON("redis", &redisOut)
	mb, err := strconv.ParseInt(strings.TrimSuffix(redisOut["data"].Maxmemory, "mb"), 10, 64)
	if err != nil {
		t.Fatalf("redis maxmemory output %q: %v", redisOut["data"].Maxmemory, err)
	}

	want := map[string]map[string]map[string]string{
		"h1": {
			"host": {
				"net.core.somaxconn": "65535", "net.ipv4.tcp_fin_timeout": "15",
				"limits.d nofile": "soft=16384 hard=16384",
			},
			"postgres": {
				"shared_buffers": pg["data"].Settings["shared_buffers"], "max_connections": "200",
				"shared_preload_libraries": "pg_stat_statements", "log_min_duration_statement": "500ms",
			},
			"redis": {
				"maxmemory": strconv.FormatInt(mb*1048576, 10), "maxmemory-policy": "allkeys-lru", "appendonly": "yes",
				"lazyfree-lazy-eviction": "yes",
			},
		},
		"v1": {
			"host": {
				"net.core.somaxconn": "65535", "vm.swappiness": "10", "vm.max_map_count": "262144",
				"transparent_hugepage.enabled": "always madvise [never]", "limits.d nofile": "soft=16384 hard=16384",
			},
		},
		"h2": {
			"host": {"net.core.somaxconn": "65535", "limits.d nofile": "soft=16384 hard=16384"},
			"docker": {
				"daemon.json:live-restore": "true", "daemon.json:runtimes": `{"nvidia":{"path":"nvidia-container-runtime"}}`,
				"logging/live-restore": "json-file live-restore=true",
			},
			"containers": {
				"mcpai-model-runner": "mcpai-demo-model:latest running",
				"mcpai-api-1":        "mcpai-demo-fastapi:latest running", "mcpai-api-2": "mcpai-demo-fastapi:latest running",
				"mcpai-api-traefik": "mcpai-demo-traefik:latest running",
			},
		},
	}
	for host, layers := range want {
		for layer, kv := range layers {
			for k, v := range kv {
				if got := after[host][layer][k]; got != v {
					t.Errorf("%s %s %s = %q after apply, want %q", host, layer, k, got, v)
				}
				// Else the restore check at the end would prove nothing
				// (a run that left the hosts tuned, say).
				if before[host][layer][k] == v {
					t.Errorf("%s %s %s was already %q before apply", host, layer, k, v)
				}
			}
		}
	}
	// The machine's own kernel, as h1 and h2 read it, is as it was: nothing
	// of the demo writes it, so no interrupted run can leave it tuned.
	for _, h := range []string{"h1", "h2"} {
		for k, v := range before[h]["host"] {
			if stackprobe.KernelWide(k) && after[h]["host"][k] != v {
				t.Errorf("the machine's kernel: %s %s = %q after apply, was %q", h, k, after[h]["host"][k], v)
			}
		}
	}
	if pg["data"].Settings["shared_buffers"] == "" {
		t.Error("the postgres output has no shared_buffers")
	}
	checkStackAPI(t, app)
	checkStackMonitoring(t, app)
	checkStackPooling(t, app)
	checkStackLoadTest(t, w, app)
	w.PlanEmpty()

	// A change by hand is drift: plan shows it and apply puts it back.
	db.InHost(t, "echo 1024 > /proc/sys/net/core/somaxconn")
	if code, out := w.Run([]int{0, 2}, "plan", "-detailed-exitcode"); code != 2 || !regexp.MustCompile(`"net.core.somaxconn"\s+= "1024" -> "65535"`).MatchString(out) {
		t.Errorf("plan after a change by hand (exit %d) does not show it:\n%s", code, out)
	}
	w.Run([]int{0}, "apply", "-auto-approve")
	if got := probe(t, hosts)["h1"]["host"]["net.core.somaxconn"]; got != "65535" {
		t.Errorf("somaxconn after the second apply = %s", got)
	}

	w.Run([]int{0}, "destroy", "-auto-approve")
	destroyed = true
	if changes := stackprobe.Diff(before, probe(t, hosts)); len(changes) > 0 {
		t.Errorf("destroy left values changed:\n%s", stackprobe.Table(changes))
	}
}

// checkStackAPI asks the real API (mcpai-demo-fastapi: examples/stack no
// longer uses the uvicorn stand-in, whose GET / reported its settings)
// through Traefik on the app host: a row written to and read back from the
// data host's PostgreSQL, the summary then cached in the data host's Redis;
// four requests balanced over both replicas, as each replica's own /metrics
// (on the app host's loopback) counts; each container given the uvicorn
// settings of the api layer (one worker each: the host's two CPUs over two
// replicas), which the real uvicorn took, as it runs.
func checkStackAPI(t *testing.T, app acctest.Host) {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second}
	call := func(method, path, body string, want int) string {
		t.Helper()
		req, err := http.NewRequest(method, "http://"+app.Address+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s through Traefik: %v", method, path, err)
		}
		defer func() { _ = resp.Body.Close() }()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			t.Fatalf("%s %s through Traefik: %s %s, want %d", method, path, resp.Status, b, want)
		}
		return string(b)
	}
	payload := "examples/stack at " + time.Now().Format(time.RFC3339Nano)
	call(http.MethodPost, "/api/requests", `{"payload":`+strconv.Quote(payload)+`}`, http.StatusCreated)
	for _, cache := range []string{"miss", "hit"} {
		var got struct {
			Cache string
			Count int
			Last  []struct{ Payload string }
		}
		if err := json.Unmarshal([]byte(call(http.MethodGet, "/api/requests", "", http.StatusOK)), &got); err != nil {
			t.Fatal(err)
		}
		if got.Cache != cache || got.Count < 1 || len(got.Last) == 0 || got.Last[0].Payload != payload {
			t.Errorf("GET /api/requests: %+v, want cache %q and our row first", got, cache)
		}
	}
	for range 4 {
		call(http.MethodGet, "/status/200", "", http.StatusOK)
	}
	for i, port := range []string{"8001", "8002"} {
		name := fmt.Sprintf("mcpai-api-%d", i+1)
		metrics := app.InHost(t, "curl", "-sS", "--max-time", "5", "http://127.0.0.1:"+port+"/metrics")
		if want := `http_requests_total{method="GET",path="/status/{code}",status="200"} 2.0`; !strings.Contains(metrics, want) {
			t.Errorf("%s's /metrics lacks %s (Traefik balances 4 requests over 2 replicas):\n%s", name, want, metrics)
		}
		cmd := app.Docker(t, "inspect", "--format", "{{json .Config.Cmd}}", name)
		if want := `"--workers","1","--loop","uvloop","--http","httptools","--no-access-log"`; !strings.Contains(cmd, want) {
			t.Errorf("%s runs %s, want %s", name, cmd, want)
		}
	}
}

// checkStackMonitoring reads the Prometheus files on the monitoring host:
// the alerts with the example's threshold, and the stack's own endpoints as
// targets.
func checkStackMonitoring(t *testing.T, app acctest.Host) {
	t.Helper()
	rules := app.InHost(t, "cat /etc/prometheus/rules/mcpai.yml")
	for _, want := range []string{"APIHighP95Latency", "APIHigh5xxRatio", "APIServerDown", "PostgresSlowQueries", "> 0.3"} {
		if !strings.Contains(rules, want) {
			t.Errorf("the rules file lacks %q:\n%s", want, rules)
		}
	}
	targets := app.InHost(t, "cat /etc/prometheus/file_sd/mcpai.yml")
	for _, want := range []string{app.Address + ":8082", "127.0.0.1:8001", "127.0.0.1:8002", "127.0.0.1:18400"} {
		if !strings.Contains(targets, want) {
			t.Errorf("the targets file lacks %q:\n%s", want, targets)
		}
	}
	// The real Prometheus on the app host loaded those rules and scrapes
	// the exporters (node here, postgres and redis on the data host), the
	// API and Traefik, and itself; it scrapes every 5 s, so within a minute
	// every target has been asked. (The model runner is the imitation
	// server, whose every path answers "ok", which is no metrics text.)
	want := []string{"node", "postgres", "redis", "prometheus", "mcpai-api-traefik", "mcpai-api"}
	var health map[string]string
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(2 * time.Second) {
		var resp struct {
			Data struct {
				ActiveTargets []struct {
					Labels map[string]string
					Health string
				}
			}
		}
		out := app.InHost(t, "curl", "-sS", "--max-time", "5", "http://127.0.0.1:9090/api/v1/targets?state=active")
		if err := json.Unmarshal([]byte(out), &resp); err != nil {
			t.Fatalf("Prometheus's targets: %v: %s", err, out)
		}
		health = map[string]string{}
		for _, tg := range resp.Data.ActiveTargets {
			if h, seen := health[tg.Labels["job"]]; !seen || h == "up" {
				health[tg.Labels["job"]] = tg.Health
			}
		}
		up := true
		for _, job := range want {
			up = up && health[job] == "up"
		}
		if up {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("Prometheus's targets by job, after a minute: %v; want %v all up", health, want)
			break
		}
	}
	groups := app.InHost(t, "curl", "-sS", "--max-time", "5", "http://127.0.0.1:9090/api/v1/rules")
	for _, name := range []string{"APIHigh5xxRatio", "PostgresSlowQueries", "mcpai:redis_cache_hit_ratio"} {
		if !strings.Contains(groups, `"name":"`+name+`"`) {
			t.Errorf("Prometheus has not loaded %s: %s", name, groups)
		}
	}
}

// checkStackPooling: the API's containers reach PostgreSQL through
// PgBouncer on the app host (the /api/requests round trip above went that
// way), and PgBouncer pools in transaction mode.
func checkStackPooling(t *testing.T, app acctest.Host) {
	t.Helper()
	env := app.Docker(t, "inspect", "--format", "{{json .Config.Env}}", "mcpai-api-1")
	for _, want := range []string{"DATABASE_HOST=" + app.Address, "DATABASE_PORT=6432", "API_DB_POOL_SIZE=5"} {
		if !strings.Contains(env, `"`+want+`"`) {
			t.Errorf("mcpai-api-1's environment lacks %s: %s", want, env)
		}
	}
	if state := app.Docker(t, "inspect", "--format", "{{.State.Status}} {{.Config.User}} {{json .Config.Cmd}}", "mcpai-pgbouncer"); !strings.HasPrefix(state, "running") {
		t.Errorf("PgBouncer: %s", state)
	}
	ini := app.InHost(t, "cat /etc/mcpai-pgbouncer/pgbouncer.ini")
	if !strings.Contains(ini, "pool_mode = transaction") {
		t.Errorf("pgbouncer.ini lacks pool_mode = transaction:\n%s", ini)
	}
}

// checkStackLoadTest: the load-test layer ran Locust against Traefik after
// the stack was applied, and recorded Locust's results.
func checkStackLoadTest(t *testing.T, w *acctest.Workspace, app acctest.Host) {
	t.Helper()
	var lt struct {
		Host    string
		Target  string
		Results struct {
			Requests     int64   `json:"requests"`
			FailureRatio float64 `json:"failure_ratio"`
			P50          float64 `json:"p50_ms"`
			RPS          float64 `json:"rps"`
		}
	}
	w.OutputJSON("load_test", &lt)
	if lt.Host != "app" || lt.Target != "http://"+app.Address+":80" {
		t.Errorf("load test ran on %q against %q, want app against Traefik on %s:80", lt.Host, lt.Target, app.Address)
	}
	// 20 users for 20 s: thousands of requests; a few may meet a replica
	// that Traefik has not yet seen healthy.
	if r := lt.Results; r.Requests < 500 || r.FailureRatio > 0.05 || r.P50 <= 0 || r.RPS <= 0 {
		t.Errorf("load test results: %+v", r)
	}
	if out := app.Docker(t, "ps", "-a", "--filter", "label="+loadTestLabel, "--format", "{{.Names}}"); out != "" {
		t.Errorf("load containers left: %s", out)
	}
}
