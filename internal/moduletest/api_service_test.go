package moduletest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpai/terraform-provider-mcpai/internal/acctest"
)

// apiServiceTest names what one api-service test uses on the first sandbox
// host, so that tests running at once do not meet.
type apiServiceTest struct {
	h                       acctest.Host
	name, dir               string
	basePort, port, metrics int
}

// newAPIServiceTest clears what an earlier run left (containers, the
// configuration folder, which the module creates) and again at the end.
func newAPIServiceTest(t *testing.T, name string, basePort, port, metrics int) apiServiceTest {
	t.Helper()
	s := apiServiceTest{h: acctest.FirstHost(t), name: name, dir: "/root/" + name, basePort: basePort, port: port, metrics: metrics}
	reset := func() {
		s.h.RemoveContainers(t, s.containers()...)
		s.h.InHost(t, "rm -rf "+s.dir)
	}
	reset()
	t.Cleanup(reset)
	return s
}

func (s apiServiceTest) containers() []string {
	return []string{s.name + "-1", s.name + "-2", s.name + "-3", s.name + "-traefik"}
}

// args are the module's inputs for the test's names and ports, then extra
// lines. The image is the uvicorn stand-in (acctest.DemoAPIImage), not the
// real app (acctest.DemoFastAPIImage): these tests read the settings each
// server runs with (workers, loop, http, keep-alive, backlog, which worker
// answered) from its GET /, which real uvicorn does not report.
func (s apiServiceTest) args(extra string) string {
	return fmt.Sprintf(`  host               = %q
  name               = %q
  image              = %q
  traefik_image      = %q
  base_port          = %d
  port               = %d
  metrics_port       = %d
  traefik_config_dir = %q
  nofile             = 16384
  health_check       = { interval = "1s", timeout = "500ms" }
  timeouts           = { create = "2m", update = "2m" }
%s`, s.h.Address, s.name, acctest.DemoAPIImage, acctest.DemoTraefikImage, s.basePort, s.port, s.metrics, s.dir, extra)
}

// apiSettings is what the demo app's GET / says about the server that
// answered.
type apiSettings struct {
	App              string `json:"app"`
	Host             string `json:"host"`
	Port             int    `json:"port"`
	Workers          int    `json:"workers"`
	Loop             string `json:"loop"`
	HTTP             string `json:"http"`
	AccessLog        bool   `json:"access_log"`
	TimeoutKeepAlive int    `json:"timeout_keep_alive"`
	Backlog          int    `json:"backlog"`
	Hostname         string `json:"hostname"`
}

var apiClient = &http.Client{Timeout: 5 * time.Second}

// get requests path from Traefik's entry point: the status and body.
func (s apiServiceTest) get(t *testing.T, port int, path string) (int, string) {
	t.Helper()
	resp, err := apiClient.Get(fmt.Sprintf("http://%s:%d%s", s.h.Address, port, path))
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// servedBy sends n requests for / through Traefik and counts the answers
// by the hostname of the container that served them (its id's first 12
// characters); any other status counts under its code.
func (s apiServiceTest) servedBy(t *testing.T, n int) (map[string]int, apiSettings) {
	t.Helper()
	counts := map[string]int{}
	var last apiSettings
	for range n {
		code, body := s.get(t, s.port, "/")
		if code != http.StatusOK {
			counts[fmt.Sprint(code)]++
			continue
		}
		if err := json.Unmarshal([]byte(body), &last); err != nil {
			t.Fatalf("GET /: %v: %s", err, body)
		}
		counts[last.Hostname]++
	}
	return counts, last
}

// waitServedBy waits (up to 20 s) until n requests in a row are all
// answered, by exactly the containers want (hostnames).
func (s apiServiceTest) waitServedBy(t *testing.T, n int, want ...string) {
	t.Helper()
	want = slices.Sorted(slices.Values(want))
	var got map[string]int
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		got, _ = s.servedBy(t, n)
		var by []string
		for k := range got {
			by = append(by, k)
		}
		slices.Sort(by)
		if slices.Equal(by, want) {
			return
		}
	}
	t.Fatalf("requests served by %v, want only and all of %q", got, want)
}

// inOrder checks that Terraform's output says first before second.
func inOrder(t *testing.T, out, first, second string) {
	t.Helper()
	i, j := strings.Index(out, first), strings.Index(out, second)
	if i < 0 || j < 0 || i > j {
		t.Errorf("want %q before %q in:\n%s", first, second, out)
	}
}

// uvicornCommand is the command line the module gives the containers.
func uvicornCommand(workers int, extra ...string) []string {
	return append([]string{"uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000", "--workers", fmt.Sprint(workers),
		"--loop", "uvloop", "--http", "httptools", "--no-access-log"}, extra...)
}

// The module runs the API containers with the guide's uvicorn settings
// behind Traefik, which balances over them and routes around a stopped
// one; an empty plan, drift of a container and of the dynamic
// configuration put back, an update of the workers, and destroy.
func TestAccModuleAPIService(t *testing.T) {
	if testing.Short() {
		t.Skip("drives the terraform CLI")
	}
	s := newAPIServiceTest(t, "mcpai-module-api", 18001, 18080, 18082)
	h := s.h
	configPath := s.dir + "/" + s.name + ".yml"
	// A configuration file from before, which destroy must put back.
	h.InHost(t, "mkdir -p "+s.dir+" && printf 'http: {}\\n' > "+configPath+" && chmod 0600 "+configPath)
	const secret = "api-module-secret-0815"
	extra := `  env                = { APP_ENV = "acceptance" }
  sensitive_env      = { API_KEY = "` + secret + `" }
  timeout_keep_alive = 75
  backlog            = 4096
  memory             = "256m"
`
	outputs := []string{"endpoint", "workers", "api_container_ids", "traefik_container_id", "upstreams", "dynamic_config", "dynamic_config_path", "metrics_endpoints"}
	w := callModule(t, "api-service", s.args(extra), outputs...)
	_, out := w.Run([]int{0}, "apply", "-auto-approve")
	destroyed := false
	t.Cleanup(func() {
		if !destroyed {
			w.Run([]int{0}, "destroy", "-auto-approve")
		}
	})
	if strings.Contains(out, secret) {
		t.Errorf("the apply output shows sensitive_env:\n%s", out)
	}

	// Workers from the host's CPUs, shared by the two containers.
	_, cpus := hostSizing(t, h)
	wantWorkers := max(1, cpus/2)
	var workers int
	w.OutputJSON("workers", &workers)
	if workers != wantWorkers {
		t.Errorf("workers = %d, want %d (%d CPUs over 2 containers)", workers, wantWorkers, cpus)
	}

	// The API containers: uvicorn's flags, a loopback port each, limits.
	var ids []string
	w.OutputJSON("api_container_ids", &ids)
	var hostnames []string
	for i := range 2 {
		c, ok := h.InspectContainer(t, fmt.Sprintf("%s-%d", s.name, i+1))
		if !ok {
			t.Fatalf("no container %s-%d", s.name, i+1)
		}
		if !slices.Equal(c.Config.Cmd, uvicornCommand(wantWorkers, "--timeout-keep-alive", "75", "--backlog", "4096")) {
			t.Errorf("%s command = %q", c.Name, c.Config.Cmd)
		}
		if err := acctest.HasAll(c.Config.Env, "APP_ENV=acceptance", "API_KEY="+secret); err != nil {
			t.Errorf("%s: %v", c.Name, err)
		}
		hc := c.HostConfig
		if b := hc.PortBindings["8000/tcp"]; len(b) != 1 || b[0].HostIP != "127.0.0.1" || b[0].HostPort != fmt.Sprint(s.basePort+i) {
			t.Errorf("%s port bindings = %+v", c.Name, hc.PortBindings)
		}
		if hc.Memory != 256<<20 || hc.RestartPolicy.Name != "unless-stopped" || fmt.Sprint(hc.Ulimits) != "[{nofile 16384 16384}]" {
			t.Errorf("%s: memory %d, restart %q, ulimits %v", c.Name, hc.Memory, hc.RestartPolicy.Name, hc.Ulimits)
		}
		if logs := h.Docker(t, "inspect", "-f", "{{.HostConfig.LogConfig.Type}} {{json .HostConfig.LogConfig.Config}}", c.Name); logs != `json-file {"max-file":"3","max-size":"100m"}` {
			t.Errorf("%s log config = %s", c.Name, logs)
		}
		if i >= len(ids) || ids[i] != c.ID {
			t.Errorf("api_container_ids = %q, container %s is %s", ids, c.Name, c.ID)
		}
		hostnames = append(hostnames, c.ID[:12])
	}

	// Traefik on the host network, the configuration folder read-only.
	traefik, ok := h.InspectContainer(t, s.name+"-traefik")
	if !ok {
		t.Fatalf("no container %s-traefik", s.name)
	}
	if mode := h.Docker(t, "inspect", "-f", "{{.HostConfig.NetworkMode}}", traefik.Name); mode != "host" {
		t.Errorf("Traefik's network mode = %s", mode)
	}
	if !slices.Equal(traefik.HostConfig.Binds, []string{s.dir + ":/etc/traefik/dynamic:ro"}) {
		t.Errorf("Traefik's binds = %q", traefik.HostConfig.Binds)
	}
	if err := acctest.HasAll(traefik.Config.Cmd, fmt.Sprintf("--entryPoints.web.address=:%d", s.port), fmt.Sprintf("--entryPoints.metrics.address=:%d", s.metrics),
		"--providers.file.filename=/etc/traefik/dynamic/"+s.name+".yml", "--providers.file.watch=true", "--ping.entryPoint=metrics",
		"--metrics.prometheus=true", "--metrics.prometheus.entryPoint=metrics", "--accessLog=false"); err != nil {
		t.Error(err)
	}

	// The dynamic configuration on the host.
	var dynamic string
	w.OutputJSON("dynamic_config", &dynamic)
	if got := h.FileState(t, configPath); got != managedFile(dynamic) {
		t.Errorf("dynamic configuration on the host:\n%s\nwant:\n%s", got, managedFile(dynamic))
	}
	for _, want := range []string{fmt.Sprintf("http://127.0.0.1:%d", s.basePort), fmt.Sprintf("http://127.0.0.1:%d", s.basePort+1), "PathPrefix(`/`)", `"interval": "1s"`} {
		if !strings.Contains(dynamic, want) {
			t.Errorf("the dynamic configuration lacks %s:\n%s", want, dynamic)
		}
	}

	// Through Traefik: the settings uvicorn runs with, from both containers.
	counts, settings := s.servedBy(t, 20)
	want := apiSettings{App: "app.main:app", Host: "0.0.0.0", Port: 8000, Workers: wantWorkers, Loop: "uvloop", HTTP: "httptools",
		AccessLog: false, TimeoutKeepAlive: 75, Backlog: 4096, Hostname: settings.Hostname}
	if settings != want {
		t.Errorf("GET / through Traefik = %+v, want %+v", settings, want)
	}
	if len(counts) != 2 || counts[hostnames[0]] == 0 || counts[hostnames[1]] == 0 {
		t.Errorf("20 requests were served by %v, want both containers %q", counts, hostnames)
	}
	if code, _ := s.get(t, s.metrics, "/ping"); code != http.StatusOK {
		t.Errorf("Traefik's /ping answers %d", code)
	}
	if _, metrics := s.get(t, s.metrics, "/metrics"); !strings.Contains(metrics, `service="`+s.name+`@file"`) {
		t.Errorf("Traefik's metrics lack service %s@file:\n%s", s.name, metrics)
	}

	var endpoint string
	var endpoints map[string]struct {
		Targets     []string `json:"targets"`
		MetricsPath string   `json:"metrics_path"`
	}
	w.OutputJSON("endpoint", &endpoint)
	w.OutputJSON("metrics_endpoints", &endpoints)
	if endpoint != fmt.Sprintf("http://%s:%d/", h.Address, s.port) {
		t.Errorf("endpoint = %s", endpoint)
	}
	if got := fmt.Sprint(endpoints); got != fmt.Sprintf("map[%[1]s:{[127.0.0.1:%[2]d 127.0.0.1:%[3]d] /metrics} %[1]s-traefik:{[%[4]s:%[5]d] /metrics}]",
		s.name, s.basePort, s.basePort+1, h.Address, s.metrics) {
		t.Errorf("metrics_endpoints = %s", got)
	}
	w.PlanEmpty()

	// A stopped container: Traefik's health check takes it out, the plan
	// shows it, and apply starts it again.
	h.Docker(t, "stop", s.name+"-2")
	s.waitServedBy(t, 10, hostnames[0])
	if code, out := w.Run([]int{0, 2}, "plan", "-detailed-exitcode"); code != 2 || !strings.Contains(out, "module.m.mcpai_container.api[1] will be updated in-place") {
		t.Errorf("the plan does not show the stopped container:\n%s", out)
	}
	w.Run([]int{0}, "apply", "-auto-approve")
	s.waitServedBy(t, 20, hostnames...)

	// An edited dynamic configuration shows in the plan and is put back.
	h.InHost(t, "sed -i /"+fmt.Sprint(s.basePort+1)+"/d "+configPath)
	s.waitServedBy(t, 10, hostnames[0])
	if code, out := w.Run([]int{0, 2}, "plan", "-detailed-exitcode"); code != 2 || !strings.Contains(out, "module.m.mcpai_host_file.dynamic[0] will be updated in-place") {
		t.Errorf("the plan does not show the edited configuration:\n%s", out)
	}
	w.Run([]int{0}, "apply", "-auto-approve")
	s.waitServedBy(t, 20, hostnames...)
	w.PlanEmpty()

	// A third container is ready before the configuration sends it
	// requests; going back to two, Terraform removes it first (a destroy
	// goes before the update of what depends on it), and Traefik's health
	// check takes it out.
	recallModule(t, w, "api-service", s.args(extra+"  replicas = 3\n"), outputs...)
	_, out = w.Run([]int{0}, "apply", "-auto-approve")
	inOrder(t, out, "module.m.mcpai_container.api[2]: Creation complete", "module.m.mcpai_host_file.dynamic[0]: Modifying...")
	third, _ := h.InspectContainer(t, s.name+"-3")
	s.waitServedBy(t, 30, append(slices.Clone(hostnames), third.ID[:12])...)
	recallModule(t, w, "api-service", s.args(extra), outputs...)
	w.Run([]int{0}, "apply", "-auto-approve")
	s.waitServedBy(t, 20, hostnames...)
	if _, ok := h.InspectContainer(t, s.name+"-3"); ok {
		t.Errorf("container %s-3 is left", s.name)
	}

	// Other workers: new containers, with the new command line.
	recallModule(t, w, "api-service", s.args(extra+"  workers = 3\n"), outputs...)
	w.Run([]int{0}, "apply", "-auto-approve")
	var newIDs []string
	w.OutputJSON("api_container_ids", &newIDs)
	var newHostnames []string
	for i, id := range newIDs {
		if slices.Contains(ids, id) {
			t.Errorf("container %d kept its id %s for other workers", i+1, id)
		}
		c, _ := h.InspectContainer(t, fmt.Sprintf("%s-%d", s.name, i+1))
		if !slices.Equal(c.Config.Cmd, uvicornCommand(3, "--timeout-keep-alive", "75", "--backlog", "4096")) {
			t.Errorf("%s command = %q", c.Name, c.Config.Cmd)
		}
		newHostnames = append(newHostnames, id[:12])
	}
	s.waitServedBy(t, 20, newHostnames...)
	if _, settings := s.servedBy(t, 1); settings.Workers != 3 {
		t.Errorf("GET / after the update: workers %d", settings.Workers)
	}
	w.PlanEmpty()

	w.Run([]int{0}, "destroy", "-auto-approve")
	destroyed = true
	for _, name := range s.containers() {
		if _, ok := h.InspectContainer(t, name); ok {
			t.Errorf("destroy left container %s", name)
		}
	}
	if got := h.FileState(t, configPath); got != "600 root:root\nhttp: {}" {
		t.Errorf("destroy left the dynamic configuration\n%s\nwant the one from before", got)
	}
}

// A bad input that reaches the module through the caller's variable is
// refused at plan time, before the host is reached (the host's CPUs are not
// read either); with validate_only good ones manage nothing and read
// nothing. Each validation is tested in modules/api-service/tests.
func TestAccModuleAPIService_validation(t *testing.T) {
	if testing.Short() {
		t.Skip("drives the terraform CLI")
	}
	h := acctest.FirstHost(t)
	good := fmt.Sprintf("host = %q\nimage = %q\n", h.Address, acctest.DemoAPIImage)
	t.Run("through a variable", func(t *testing.T) {
		w := callModuleAsProbe(t, "api-service", good+"replicas = var.replicas")
		if err := os.WriteFile(filepath.Join(w.Dir, "variables.tf"), []byte("variable \"replicas\" { type = number }\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		planRefusedAsProbe(t, w, h, `replicas must be a whole number from 1 to 64.`, "-var", "replicas=100")
	})
	t.Run("validate_only", func(t *testing.T) { validateOnlyPlan(t, "api-service", good, h) })
	// The check above sees an attempt: with good inputs the plan reads the
	// host's CPUs, and fails to log in.
	t.Run("control", func(t *testing.T) {
		w := callModuleAsProbe(t, "api-service", good)
		before := probes(t, h)
		w.Run([]int{1}, "plan")
		if probes(t, h) == before {
			t.Errorf("a plan with good inputs made no SSH attempt on %s", h.Name)
		}
	})
}

// load sends each path's count of requests through Traefik, all at once,
// and waits for the answers.
func (s apiServiceTest) load(t *testing.T, paths map[string]int) {
	t.Helper()
	errs := make(chan error, 100)
	var wg sync.WaitGroup
	for path, n := range paths {
		for range n {
			wg.Go(func() {
				resp, err := apiClient.Get(fmt.Sprintf("http://%s:%d%s", s.h.Address, s.port, path))
				if err != nil {
					errs <- err
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// The monitoring module's alerts over what this module's Traefik really
// exposes: the api-service's metrics_endpoints become monitoring's targets,
// and Traefik's metrics, scraped after rounds of requests, are evaluated
// with the rules written on the host (a minute between scrapes, for
// Prometheus). Healthy rounds fire nothing; slow requests, 500s and a
// stopped container fire the latency, 5xx and server-down alerts.
func TestAccModuleAPIService_alerts(t *testing.T) {
	if testing.Short() {
		t.Skip("drives the terraform CLI")
	}
	s := newAPIServiceTest(t, "mcpai-module-api-alerts", 18011, 18090, 18092)
	h := s.h
	// Neither module's folder is there: each creates its own, and destroy
	// removes them.
	prom := s.dir + "-prometheus"
	h.RemovePaths(t, prom)
	config := moduleConfig(t, "api-service", s.args("  workers = 2\n")) + fmt.Sprintf(`
module "monitoring" {
  source            = %q
  host              = %q
  rules_path        = "%[3]s/rules.yml"
  targets_path      = "%[3]s/targets.json"
  metrics_endpoints = module.m.metrics_endpoints
  rate_window       = "3m"
  thresholds        = { p95_latency_for = "2m", error_ratio_for = "2m", server_down_for = "1m" }
}
`, moduleSource("monitoring"), h.Address, prom)
	w := acctest.NewWorkspace(t, config)
	w.Run([]int{0}, "get")
	w.Run([]int{0}, "apply", "-auto-approve")
	t.Cleanup(func() {
		w.Run([]int{0}, "destroy", "-auto-approve")
		if got := h.DirsState(t, s.dir, prom); got != "absent\nabsent" {
			t.Errorf("destroy left the folders the modules created: %q", got)
		}
	})
	if got := h.DirsState(t, s.dir, prom); got != "755 root:root directory\n755 root:root directory" {
		t.Errorf("the folders the modules created: %q", got)
	}

	// Traefik is among monitoring's targets.
	traefikJob := s.name + "-traefik"
	var groups []targetGroup
	targets := fileContent(h.FileState(t, prom+"/targets.json"))
	if err := json.Unmarshal([]byte(targets), &groups); err != nil {
		t.Fatalf("targets file: %v:\n%s", err, targets)
	}
	if !slices.ContainsFunc(groups, func(g targetGroup) bool {
		return g.Labels["job"] == traefikJob && slices.Equal(g.Targets, []string{fmt.Sprintf("%s:%d", h.Address, s.metrics)})
	}) {
		t.Errorf("the targets file has no job %s at %s:%d:\n%s", traefikJob, h.Address, s.metrics, targets)
	}

	rounds := func(n int, paths map[string]int) []string {
		scrapes := make([]string, n)
		for i := range scrapes {
			s.load(t, paths)
			_, scrapes[i] = s.get(t, s.metrics, "/metrics")
		}
		return scrapes
	}
	target := map[string]string{"job": traefikJob, "instance": fmt.Sprintf("%s:%d", h.Address, s.metrics)}
	healthy := ruleCase{Name: "healthy", Step: "1m", Labels: target, Scrapes: rounds(5, map[string]int{"/": 20})}
	// The second container stopped and out of the balancer.
	first, _ := h.InspectContainer(t, s.name+"-1")
	h.Docker(t, "stop", s.name+"-2")
	s.waitServedBy(t, 10, first.ID[:12])
	degraded := ruleCase{Name: "degraded", Step: "1m", Labels: target,
		Scrapes: rounds(5, map[string]int{"/slow?ms=700": 10, "/status/500": 10, "/": 10})}

	parsed := checkRules(t, fileContent(h.FileState(t, prom+"/rules.yml")), healthy, degraded)
	if got := firing(parsed.Cases["healthy"]); len(got) != 0 {
		t.Errorf("healthy rounds fire %q", got)
	}
	service := s.name + "@file"
	want := []string{
		"APIHigh5xxRatio{service=" + service + "}",
		"APIHighP95Latency{service=" + service + "}",
		fmt.Sprintf("APIServerDown{service=%s,url=http://127.0.0.1:%d}", service, s.basePort+1),
	}
	got := firing(parsed.Cases["degraded"], "service", "url")
	t.Logf("degraded rounds fire %q", got)
	if !slices.Equal(got, want) {
		t.Errorf("degraded rounds fire\n%q\nwant\n%q\nlast scrape:\n%s", got, want, degraded.Scrapes[len(degraded.Scrapes)-1])
	}
}
