package acctest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Ports on each host's own network (the containers use the host network)
// and container names that no other test uses.
const (
	demoAPIPort     = 18761 // and 18762
	demoWebPort     = 18763
	demoMetricsPort = 18764
	demoModelPort   = 18765
	demoPrefix      = "mcpai-sandbox-demo-"
)

func docker(h Host, args ...string) (string, error) {
	out, err := exec.Command("docker", append([]string{"-H", "unix://" + h.DockerSocket}, args...)...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func mustDocker(t *testing.T, h Host, args ...string) string {
	t.Helper()
	out, err := docker(h, args...)
	if err != nil {
		t.Fatalf("docker %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return out
}

// exitCode is the exit status in err, -1 when it is not one.
func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

var demoClient = &http.Client{Timeout: 3 * time.Second}

// demoGet is GET url: the status and body, or -1 and the error.
func demoGet(url string) (int, string) {
	resp, err := demoClient.Get(url)
	if err != nil {
		return -1, err.Error()
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitFor polls url until it answers want (up to 15 s) and returns the body.
func waitFor(t *testing.T, url string, want int) string {
	t.Helper()
	var code int
	var body string
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if code, body = demoGet(url); code == want {
			return body
		}
	}
	t.Fatalf("GET %s: %d %s, want %d", url, code, body, want)
	return ""
}

// The demo images on both engines (Docker 20.10 and current), run as the
// api-service and model-runner modules run them: labelled as what they are;
// the API with uvicorn's command line (and its usage error for a flag
// uvicorn lacks); the Traefik stand-in with the module's flags, balancing
// over two API containers and taking a stopped one out; the model runner
// ready after its load time.
func TestAccSandboxDemoImages(t *testing.T) {
	for _, h := range Hosts(t) {
		t.Run(h.Name, func(t *testing.T) { testDemoImages(t, h) })
	}
}

func testDemoImages(t *testing.T, h Host) {
	names := []string{demoPrefix + "api-1", demoPrefix + "api-2", demoPrefix + "traefik", demoPrefix + "model"}
	remove := func() {
		for _, n := range names {
			_, _ = docker(h, "rm", "-f", n)
		}
	}
	remove()
	t.Cleanup(remove)

	for image, want := range map[string]string{DemoAPIImage: "workload", DemoModelImage: "workload", DemoTraefikImage: "stand-in"} {
		var labels map[string]string
		if err := json.Unmarshal([]byte(mustDocker(t, h, "image", "inspect", "--format", "{{json .Config.Labels}}", image)), &labels); err != nil {
			t.Fatal(err)
		}
		if labels["io.mcpai.demo"] != want || labels["org.opencontainers.image.description"] == "" {
			t.Errorf("%s: labels %v, want io.mcpai.demo=%s and a description", image, labels, want)
		}
		if image == DemoTraefikImage && !strings.HasPrefix(labels["org.opencontainers.image.description"], "NOT Traefik") {
			t.Errorf("%s: description %q does not say it is not Traefik", image, labels["org.opencontainers.image.description"])
		}
	}

	// uvicorn's usage error for a flag it does not have.
	out, err := docker(h, "run", "--rm", "--network", "none", DemoAPIImage, "uvicorn", "main:app", "--reload")
	if exitCode(err) != 2 || !strings.Contains(out, "Error: No such option: --reload") {
		t.Errorf("uvicorn --reload: %v: %s", err, out)
	}

	for i, port := range []int{demoAPIPort, demoAPIPort + 1} {
		mustDocker(t, h, "run", "-d", "--name", names[i], "--network", "host", DemoAPIImage,
			"uvicorn", "main:app", "--host", h.Address, "--port", fmt.Sprint(port), "--workers", "2", "--loop", "uvloop",
			"--http", "httptools", "--no-access-log", "--timeout-keep-alive", "30", "--backlog", "1024")
	}
	api := fmt.Sprintf("http://%s:%d", h.Address, demoAPIPort)
	if body := waitFor(t, api+"/health", 200); strings.TrimSpace(body) != `{"status":"ok"}` {
		t.Errorf("/health: %s", body)
	}
	var settings map[string]any
	if err := json.Unmarshal([]byte(waitFor(t, api+"/", 200)), &settings); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]any{"app": "main:app", "host": h.Address, "port": float64(demoAPIPort), "workers": 2.0,
		"loop": "uvloop", "http": "httptools", "access_log": false, "timeout_keep_alive": 30.0, "backlog": 1024.0} {
		if settings[k] != v {
			t.Errorf("GET /: %s = %v, want %v (%v)", k, settings[k], v, settings)
		}
	}
	if code, _ := demoGet(api + "/status/503"); code != 503 {
		t.Errorf("/status/503: %d", code)
	}
	if metrics := waitFor(t, api+"/metrics", 200); !strings.Contains(metrics, `http_requests_total{method="GET",path="/status/{code}",status="503"} 1`) {
		t.Errorf("/metrics:\n%s", metrics)
	}

	dir := t.TempDir() // the hosts share the machine's /tmp, so their engines can mount it
	if err := os.WriteFile(filepath.Join(dir, "dynamic.yml"), []byte(fmt.Sprintf(`http:
  routers:
    api:
      entryPoints: [web]
      rule: PathPrefix(`+"`/`"+`)
      service: api
  services:
    api:
      loadBalancer:
        servers:
          - url: http://%[1]s:%[2]d
          - url: http://%[1]s:%[3]d
        healthCheck:
          path: /health
          interval: 300ms
          timeout: 200ms
`, h.Address, demoAPIPort, demoAPIPort+1)), 0o644); err != nil {
		t.Fatal(err)
	}
	traefikFlags := []string{
		fmt.Sprintf("--entryPoints.web.address=%s:%d", h.Address, demoWebPort),
		fmt.Sprintf("--entryPoints.metrics.address=%s:%d", h.Address, demoMetricsPort),
		"--providers.file.filename=/etc/traefik/dynamic/dynamic.yml", "--providers.file.watch=true",
		"--ping=true", "--ping.entryPoint=metrics", "--metrics.prometheus=true", "--metrics.prometheus.entryPoint=metrics",
		"--log.level=INFO", "--accessLog=false",
	}
	out, err = docker(h, "run", "--rm", "--network", "none", DemoTraefikImage, "--api.insecure=true")
	if exitCode(err) != 1 || !strings.Contains(out, "unknown flag --api.insecure") {
		t.Errorf("traefik --api.insecure=true: %v: %s", err, out)
	}
	mustDocker(t, h, append([]string{"run", "-d", "--name", names[2], "--network", "host",
		"-v", dir + ":/etc/traefik/dynamic:ro", DemoTraefikImage}, traefikFlags...)...)
	metricsURL := fmt.Sprintf("http://%s:%d", h.Address, demoMetricsPort)
	if body := waitFor(t, metricsURL+"/ping", 200); body != "OK" {
		t.Errorf("/ping: %q", body)
	}
	web := fmt.Sprintf("http://%s:%d/", h.Address, demoWebPort)
	servedBy := func(n int) map[string]int {
		counts := map[string]int{}
		for range n {
			code, body := demoGet(web)
			var s struct{ Port int }
			if code != 200 || json.Unmarshal([]byte(body), &s) != nil {
				counts[fmt.Sprint(code)]++
				continue
			}
			counts[fmt.Sprint(s.Port)]++
		}
		return counts
	}
	if got := servedBy(10); got[fmt.Sprint(demoAPIPort)] != 5 || got[fmt.Sprint(demoAPIPort+1)] != 5 {
		t.Errorf("10 requests through the Traefik stand-in served by %v, want 5 by each API container", got)
	}
	mustDocker(t, h, "stop", "-t", "1", names[1])
	down := fmt.Sprintf(`traefik_service_server_up{service="api@file",url="http://%s:%d"} 0`, h.Address, demoAPIPort+1)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if _, m := demoGet(metricsURL + "/metrics"); strings.Contains(m, down) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the stopped API container is not marked down: no %q", down)
		}
	}
	if got := servedBy(6); got[fmt.Sprint(demoAPIPort)] != 6 {
		t.Errorf("with one API container stopped, served by %v", got)
	}

	mustDocker(t, h, "run", "-d", "--name", names[3], "--network", "host",
		"-e", fmt.Sprintf("MODELSERVER_LISTEN=%s:%d", h.Address, demoModelPort), DemoModelImage)
	if body := waitFor(t, fmt.Sprintf("http://%s:%d/health", h.Address, demoModelPort), 200); body != "ok\n" {
		t.Errorf("demo model runner: %q", body)
	}
}
