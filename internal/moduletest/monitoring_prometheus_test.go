package moduletest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
	"gopkg.in/yaml.v3"

	"github.com/mcpai/terraform-provider-mcpai/internal/acctest"
)

// promTest names what the Prometheus test uses on the service host: the
// module's containers, the workload's, its folder and ports from 19080 up.
type promTest struct {
	h   acctest.Host
	dir string
}

const (
	promName         = "acc-prom"
	promPort         = 19090
	promAppPort      = 19080 // the FastAPI app, on the host's loopback
	promTraefikPort  = 19081 // the Traefik stand-in in front of it, on every address
	promTraefikStats = 19082 // its metrics entry point
	promDCGMPort     = 19400 // a dcgm-exporter's answer, from a file
)

// promContainers are the module's containers and the workload's.
var promContainers = []string{
	promName + "-prometheus", promName + "-node", promName + "-postgres", promName + "-redis",
	promName + "-app", promName + "-traefik", promName + "-dcgm",
}

// newPromTest clears what an earlier run left (containers, the data volume,
// the folder), again at the end, and starts the workload: the FastAPI app,
// the Traefik stand-in routing to it, and a file with a GPU's dcgm-exporter
// metrics served over HTTP.
func newPromTest(t *testing.T) promTest {
	t.Helper()
	s := promTest{h: serviceHost(t), dir: "/root/" + promName}
	reset := func() {
		s.h.RemoveContainers(t, promContainers...)
		_, _ = s.h.DockerOutput("volume", "rm", "-f", promName+"-prometheus-data")
		s.h.InHost(t, "rm -rf "+s.dir)
	}
	reset()
	t.Cleanup(reset)

	s.h.InHost(t, fmt.Sprintf(`set -e; mkdir -p %[1]s/traefik %[1]s/dcgm
cat > %[1]s/traefik/dynamic.yml <<'EOF'
http:
  routers:
    api: {entryPoints: [web], rule: "PathPrefix(`+"`/`"+`)", service: api}
  services:
    api:
      loadBalancer:
        servers: [{url: "http://127.0.0.1:%[2]d"}]
EOF
cat > %[1]s/dcgm/metrics <<'EOF'
# TYPE DCGM_FI_DEV_FB_USED gauge
DCGM_FI_DEV_FB_USED{gpu="0",UUID="GPU-acc-prom",modelName="Mock GPU"} 6144
# TYPE DCGM_FI_DEV_FB_FREE gauge
DCGM_FI_DEV_FB_FREE{gpu="0",UUID="GPU-acc-prom",modelName="Mock GPU"} 2048
EOF`, s.dir, promAppPort))
	for _, run := range [][]string{
		{"--name", promName + "-app", acctest.DemoFastAPIImage, "uvicorn", "main:app", "--host", "127.0.0.1", "--port", strconv.Itoa(promAppPort)},
		{"--name", promName + "-traefik", "-v", s.dir + "/traefik:/etc/traefik:ro", acctest.DemoTraefikImage,
			fmt.Sprintf("--entryPoints.web.address=:%d", promTraefikPort), fmt.Sprintf("--entryPoints.metrics.address=127.0.0.1:%d", promTraefikStats),
			"--metrics.prometheus.entryPoint=metrics", "--providers.file.filename=/etc/traefik/dynamic.yml"},
		{"--name", promName + "-dcgm", "-v", s.dir + "/dcgm:/srv:ro", "--entrypoint", "python3", debianStackImage,
			"-m", "http.server", "--bind", "127.0.0.1", "--directory", "/srv", strconv.Itoa(promDCGMPort)},
	} {
		if out, err := s.h.DockerOutput(append([]string{"run", "-d", "--network", "host"}, run...)...); err != nil {
			t.Fatalf("docker run %s: %v: %s", run[1], err, out)
		}
	}
	return s
}

// args are the module's inputs: Prometheus and every exporter on the host,
// scraping and evaluating every second over a 10 s window, the app, the
// stand-in's metrics and the GPU file as further jobs; then extra lines.
func (s promTest) args(extra string) string {
	return fmt.Sprintf(`  host         = %[1]q
  rules_path   = "%[2]s/rules/mcpai.yml"
  targets_path = "%[2]s/file_sd/mcpai.yml"
  config_dir   = "%[2]s/config"
  rate_window  = "10s"
  thresholds   = { error_ratio = 0.2, error_ratio_for = "2s" }
  prometheus = {
    enabled = true, image = %[3]q, name = "%[4]s-prometheus", port = %[5]d
    scrape_interval = "1s", evaluation_interval = "1s"
  }
  node_exporter     = { enabled = true, name = "%[4]s-node", port = 19100 }
  postgres_exporter = { enabled = true, name = "%[4]s-postgres", port = 19187 }
  postgres_exporter_data_source_name = "postgresql://%[6]s:%[7]s@%[1]s:%[8]d/%[9]s?sslmode=disable"
  redis_exporter          = { enabled = true, name = "%[4]s-redis", port = 19121, address = "redis://%[10]s" }
  redis_exporter_password = %[11]q
  metrics_endpoints = {
    api     = { targets = ["127.0.0.1:%[12]d"] }
    traefik = { targets = ["127.0.0.1:%[13]d"] }
    dcgm    = { targets = ["127.0.0.1:%[14]d"] }
  }
%[15]s`, s.h.Address, s.dir, debianStackImage, promName, promPort,
		s.h.PostgresUser, s.h.PostgresPassword, s.h.PostgresPort, s.h.PostgresDatabase,
		s.h.RedisAddress, s.h.RedisPassword, promAppPort, promTraefikStats, promDCGMPort, extra)
}

// promAPI asks Prometheus's HTTP API at base for path and decodes its data
// into v.
func promAPI(base, path string, v any) error {
	resp, err := http.Get(base + path) //nolint:noctx // a test against a sandbox host
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	var body struct {
		Status string          `json:"status"`
		Error  string          `json:"error"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return fmt.Errorf("GET %s: %s: %w", path, resp.Status, err)
	}
	if body.Status != "success" {
		return fmt.Errorf("GET %s: %s %s", path, resp.Status, body.Error)
	}
	return json.Unmarshal(body.Data, v)
}

// promRules are /api/v1/rules' groups: each rule's name, health and `for`.
type promRules struct {
	Groups []struct {
		Name  string `json:"name"`
		Rules []struct {
			Name     string  `json:"name"`
			Type     string  `json:"type"`
			Health   string  `json:"health"`
			Duration float64 `json:"duration"`
		} `json:"rules"`
	} `json:"groups"`
}

// promSample is an instant query's sample.
type promSample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

func (p promSample) float(t *testing.T) float64 {
	t.Helper()
	s, _ := p.Value[1].(string)
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("sample %v: %v", p, err)
	}
	return f
}

// query is an instant query's vector.
func query(base, q string) ([]promSample, error) {
	var data struct {
		Result []promSample `json:"result"`
	}
	err := promAPI(base, "/api/v1/query?query="+url.QueryEscape(q), &data)
	return data.Result, err
}

// eventually retries check every 500 ms until it passes or within is over,
// then fails with its last error.
func eventually(t *testing.T, within time.Duration, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s within %s: %v", what, within, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// rulesLoaded checks that Prometheus runs the module's three groups, every
// rule evaluated without error, and returns them.
func rulesLoaded(base string) (promRules, error) {
	var rules promRules
	if err := promAPI(base, "/api/v1/rules", &rules); err != nil {
		return rules, err
	}
	var names []string
	for _, g := range rules.Groups {
		names = append(names, g.Name)
		for _, r := range g.Rules {
			if r.Health != "ok" {
				return rules, fmt.Errorf("rule %s of %s: health %q", r.Name, g.Name, r.Health)
			}
		}
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"mcpai-api", "mcpai-dashboard", "mcpai-postgres"}) {
		return rules, fmt.Errorf("rule groups %q", names)
	}
	return rules, nil
}

// Prometheus from Debian's package runs on the host with the module's rules
// (checked by the image's promtool) and targets, and node, postgres and
// redis exporters; it scrapes them, a FastAPI app and the Traefik stand-in
// in front of it. Real 5xx traffic through the stand-in fires
// APIHigh5xxRatio; the recording rules give the cache hit ratio of real
// Redis reads, PostgreSQL's connection use and a GPU's memory use. Then an
// empty plan, a new threshold replacing Prometheus (rules are read at
// start), rules promtool refuses leaving everything as it was, and destroy
// removing every container and keeping the data volume.
func TestAccModuleMonitoring_prometheus(t *testing.T) {
	if testing.Short() {
		t.Skip("drives the terraform CLI")
	}
	s := newPromTest(t)
	w := callModule(t, "monitoring", s.args(""), "prometheus_url", "recording_rules", "alerts")
	start := time.Now()
	w.Run([]int{0}, "apply", "-auto-approve")
	t.Logf("apply: %s", time.Since(start).Round(time.Millisecond))
	destroyed := false
	t.Cleanup(func() {
		if !destroyed {
			w.Run([]int{0}, "destroy", "-auto-approve")
		}
	})

	var base string
	w.OutputJSON("prometheus_url", &base)
	if want := fmt.Sprintf("http://%s:%d", s.h.Address, promPort); base != want {
		t.Fatalf("prometheus_url = %q, want %q", base, want)
	}
	var recorded map[string][]string
	w.OutputJSON("recording_rules", &recorded)
	wantRecorded := []string{"mcpai:redis_cache_hit_ratio", "mcpai:postgres_connections_used_ratio", "mcpai:gpu_memory_used_ratio"}
	if !slices.Equal(recorded["mcpai-dashboard"], wantRecorded) {
		t.Errorf("recording_rules = %v", recorded)
	}
	w.PlanEmpty()

	waited := time.Now()
	eventually(t, 20*time.Second, "the rules loaded and evaluated", func() error { _, err := rulesLoaded(base); return err })

	// Every target up: the exporters (added as jobs by the module), the
	// app, the stand-in, the GPU file and Prometheus itself.
	eventually(t, 20*time.Second, "every target up", func() error {
		var targets struct {
			ActiveTargets []struct {
				Labels    map[string]string `json:"labels"`
				Health    string            `json:"health"`
				LastError string            `json:"lastError"`
			} `json:"activeTargets"`
		}
		if err := promAPI(base, "/api/v1/targets?state=active", &targets); err != nil {
			return err
		}
		var up []string
		for _, tg := range targets.ActiveTargets {
			if tg.Health != "up" {
				return fmt.Errorf("%s (%s): %s %s", tg.Labels["job"], tg.Labels["instance"], tg.Health, tg.LastError)
			}
			up = append(up, tg.Labels["job"]+"="+tg.Labels["instance"])
		}
		slices.Sort(up)
		want := []string{"api=127.0.0.1:19080", "dcgm=127.0.0.1:19400", "node=127.0.0.1:19100", "postgres=127.0.0.1:19187",
			"prometheus=127.0.0.1:19090", "redis=127.0.0.1:19121", "traefik=127.0.0.1:19082"}
		if !slices.Equal(up, want) {
			return fmt.Errorf("targets up %q, want %q", up, want)
		}
		return nil
	})

	// Real traffic: through the stand-in, half the requests answered 500
	// by the app; Redis reads, three hits to a miss.
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	go func() {
		client := &http.Client{Timeout: 2 * time.Second}
		for i := 0; ctx.Err() == nil; i++ {
			path := "/health"
			if i%2 == 0 {
				path = "/status/500"
			}
			if resp, err := client.Get(fmt.Sprintf("http://%s:%d%s", s.h.Address, promTraefikPort, path)); err == nil { //nolint:noctx // stopped by ctx
				_ = resp.Body.Close()
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	rdb := redis.NewClient(&redis.Options{Addr: s.h.RedisAddress, Password: s.h.RedisPassword})
	defer func() { _ = rdb.Close() }()
	if err := rdb.Set(ctx, "acc-prom:hit", "1", time.Minute).Err(); err != nil {
		t.Fatalf("redis: %v", err)
	}
	go func() {
		for ctx.Err() == nil {
			for _, key := range []string{"acc-prom:hit", "acc-prom:hit", "acc-prom:hit", "acc-prom:miss"} {
				rdb.Get(ctx, key)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()

	eventually(t, 30*time.Second, "APIHigh5xxRatio firing", func() error {
		var alerts struct {
			Alerts []struct {
				Labels map[string]string `json:"labels"`
				State  string            `json:"state"`
				Value  string            `json:"value"`
			} `json:"alerts"`
		}
		if err := promAPI(base, "/api/v1/alerts", &alerts); err != nil {
			return err
		}
		var seen []string
		for _, a := range alerts.Alerts {
			if a.Labels["alertname"] == "APIHigh5xxRatio" && a.Labels["service"] == "api@file" && a.State == "firing" {
				return nil
			}
			seen = append(seen, a.Labels["alertname"]+" "+a.State+" "+a.Value)
		}
		return fmt.Errorf("alerts: %q", seen)
	})
	t.Logf("rules loaded, targets up and APIHigh5xxRatio firing %s after apply", time.Since(waited).Round(time.Millisecond))

	// The recording rules' values, and what the exporters say of their
	// servers (postgres_exporter's queries file loaded).
	for q, within := range map[string][2]float64{
		`mcpai:redis_cache_hit_ratio{job="redis"}`:              {0.5, 1},
		`mcpai:postgres_connections_used_ratio{job="postgres"}`: {0.001, 1},
		`mcpai:gpu_memory_used_ratio{job="dcgm",gpu="0"}`:       {0.75, 0.75},
		`pg_up`:                               {1, 1},
		`redis_up`:                            {1, 1},
		`pg_exporter_user_queries_load_error`: {0, 0},
		`sum(rate(http_requests_total{job="api",status="500"}[10s]))`: {1, 1000},
	} {
		eventually(t, 15*time.Second, q, func() error {
			samples, err := query(base, q)
			if err != nil {
				return err
			}
			if len(samples) != 1 {
				return fmt.Errorf("%d samples: %v", len(samples), samples)
			}
			if v := samples[0].float(t); v < within[0] || v > within[1] {
				return fmt.Errorf("%g, want %g to %g", v, within[0], within[1])
			}
			return nil
		})
	}
	stop()
	explainStatStatements(t, s.h, fileContent(s.h.FileState(t, s.dir+"/config/postgres-queries.yml")))

	// A new threshold: a new rules file, a new Prometheus reading it.
	before := containerID(t, s.h, promName+"-prometheus")
	recallModule(t, w, "monitoring", strings.Replace(s.args(""), `error_ratio_for = "2s"`, `error_ratio_for = "3s"`, 1), "prometheus_url", "recording_rules", "alerts")
	w.Run([]int{0}, "apply", "-auto-approve")
	if containerID(t, s.h, promName+"-prometheus") == before {
		t.Errorf("a new rules file left the Prometheus container as it was")
	}
	eventually(t, 20*time.Second, "the new rules in force", func() error {
		rules, err := rulesLoaded(base)
		if err != nil {
			return err
		}
		for _, g := range rules.Groups {
			for _, r := range g.Rules {
				if r.Name == "APIHigh5xxRatio" && r.Duration != 3 {
					return fmt.Errorf("APIHigh5xxRatio for %gs", r.Duration)
				}
			}
		}
		return nil
	})
	w.PlanEmpty()

	// Rules the image's promtool refuses: the apply fails, the file and
	// Prometheus stay.
	rulesBefore := s.h.FileState(t, s.dir+"/rules/mcpai.yml")
	before = containerID(t, s.h, promName+"-prometheus")
	recallModule(t, w, "monitoring", strings.Replace(s.args(`  alert_labels = { team = "{{ $labels.team" }`), `error_ratio_for = "2s"`, `error_ratio_for = "3s"`, 1),
		"prometheus_url", "recording_rules", "alerts")
	if _, out := w.Run([]int{1}, "apply", "-auto-approve"); !strings.Contains(out, "Content Refused By validate_command") {
		t.Errorf("refused rules: the apply says\n%s", out)
	}
	if got := s.h.FileState(t, s.dir+"/rules/mcpai.yml"); got != rulesBefore {
		t.Errorf("refused rules replaced the file:\n%s", got)
	}
	if containerID(t, s.h, promName+"-prometheus") != before {
		t.Errorf("refused rules replaced Prometheus")
	}

	w.Run([]int{0}, "destroy", "-auto-approve")
	destroyed = true
	for _, c := range promContainers[:4] {
		if out, err := s.h.DockerOutput("inspect", "--format", "{{.Name}}", c); err == nil {
			t.Errorf("destroy left container %s", out)
		}
	}
	if out, err := s.h.DockerOutput("volume", "inspect", "--format", "{{.Name}}", promName+"-prometheus-data"); err != nil {
		t.Errorf("destroy removed the data volume: %s", out)
	}
}

// containerID is the id of the container name on h.
func containerID(t *testing.T, h acctest.Host, name string) string {
	t.Helper()
	out, err := h.DockerOutput("inspect", "--format", "{{.Id}}", name)
	if err != nil {
		t.Fatalf("docker inspect %s: %v: %s", name, err, out)
	}
	return strings.TrimSpace(out)
}

// explainStatStatements plans the pg_stat_statements query of
// postgres_exporter's queries file in a database of its own with the
// extension created: the sandbox's PostgreSQL does not preload it, so the
// exporter's query fails there, but planning it checks the view's columns
// and the query's shape.
func explainStatStatements(t *testing.T, h acctest.Host, queries string) {
	t.Helper()
	var file map[string]struct {
		Query string `yaml:"query"`
	}
	if err := yaml.Unmarshal([]byte(queries), &file); err != nil || file["pg_stat_statements"].Query == "" {
		t.Fatalf("the queries file: %v\n%s", err, queries)
	}
	ctx := context.Background()
	connect := func(database string) *pgx.Conn {
		cfg, err := pgx.ParseConfig(fmt.Sprintf("postgres://%s@%s:%d/%s?sslmode=disable", h.PostgresUser, h.Address, h.PostgresPort, database))
		if err != nil {
			t.Fatal(err)
		}
		cfg.Password = h.PostgresPassword
		conn, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			t.Fatalf("connect to %s: %v", database, err)
		}
		return conn
	}
	const db = "acc_prom_statements"
	admin := connect(h.PostgresDatabase)
	defer admin.Close(ctx) //nolint:errcheck // test cleanup
	for _, sql := range []string{"DROP DATABASE IF EXISTS " + db, "CREATE DATABASE " + db} {
		if _, err := admin.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	defer admin.Exec(ctx, "DROP DATABASE IF EXISTS "+db) //nolint:errcheck // test cleanup
	conn := connect(db)
	defer conn.Close(ctx) //nolint:errcheck // closed before the drop
	if _, err := conn.Exec(ctx, "CREATE EXTENSION pg_stat_statements"); err != nil {
		t.Fatalf("CREATE EXTENSION pg_stat_statements: %v", err)
	}
	if _, err := conn.Exec(ctx, "EXPLAIN "+file["pg_stat_statements"].Query); err != nil {
		t.Errorf("PostgreSQL cannot plan the exporter's pg_stat_statements query: %v\n%s", err, file["pg_stat_statements"].Query)
	}
}
