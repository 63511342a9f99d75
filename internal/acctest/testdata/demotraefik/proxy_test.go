package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// syncBuffer is stdout for a running proxy.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// app is a backend: it answers its name, the Host header it got and
// X-Forwarded-For, and /health with the status it is told.
type app struct {
	*httptest.Server
	health atomic.Int32
}

func newApp(t *testing.T, name string) *app {
	a := &app{}
	a.health.Store(http.StatusOK)
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" {
			w.WriteHeader(int(a.health.Load()))
			return
		}
		_, _ = fmt.Fprintf(w, "%s %s host=%s xff=%s", name, r.URL.Path, r.Host, r.Header.Get("X-Forwarded-For"))
	}))
	t.Cleanup(a.Close)
	return a
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// eventually polls cond for up to 5 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// The stand-in as the api-service module runs it: round-robin over two
// servers, a failing health check takes one out and 503 when none is left,
// ping and Traefik's metrics on their own entry point, the file reloaded
// when it changes (and kept when the change is broken), access log lines,
// healthcheck, and a clean stop.
func TestProxy(t *testing.T) {
	a, b := newApp(t, "a"), newApp(t, "b")
	file := filepath.Join(t.TempDir(), "dynamic.yml")
	writeFile(t, file, fmt.Sprintf(`http:
  routers:
    api:
      entryPoints: [web]
      rule: PathPrefix(`+"`/`"+`)
      service: api
  services:
    api:
      loadBalancer:
        servers:
          - url: %s
          - url: %s
        healthCheck:
          path: /health
          interval: 50ms
          timeout: 500ms
`, a.URL, b.URL))
	args := []string{"--entryPoints.web.address=127.0.0.1:0", "--entryPoints.metrics.address=127.0.0.1:0",
		"--providers.file.filename=" + file, "--providers.file.watch=true", "--ping=true", "--ping.entryPoint=metrics",
		"--metrics.prometheus=true", "--metrics.prometheus.entryPoint=metrics", "--log.level=INFO", "--accessLog=true"}
	c, err := parseFlags(args)
	if err != nil {
		t.Fatal(err)
	}
	lns, err := listenAll(c)
	if err != nil {
		t.Fatal(err)
	}
	web, metrics := "http://"+lns["web"].Addr().String(), "http://"+lns["metrics"].Addr().String()
	var stdout syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serveAll(ctx, newProxy(c, &stdout), lns) }()

	// Round-robin, the client's Host passed on, X-Forwarded-For added.
	var order []string
	for range 4 {
		code, body := httpGet(t, web+"/items")
		if code != 200 {
			t.Fatalf("GET /items: %d %s", code, body)
		}
		order = append(order, body)
	}
	wantA := "a /items host=" + lns["web"].Addr().String() + " xff=127.0.0.1"
	wantB := "b" + wantA[1:]
	alternating := order[0] == order[2] && order[1] == order[3] && order[0] != order[1]
	if !alternating || (order[0] != wantA && order[0] != wantB) || (order[1] != wantA && order[1] != wantB) {
		t.Errorf("answers %q, want %q and %q in turn", order, wantA, wantB)
	}

	metricsHas := func(line string) bool {
		_, body := httpGet(t, metrics+"/metrics")
		return strings.Contains(body, line+"\n")
	}
	b.health.Store(http.StatusInternalServerError)
	eventually(t, "b out", func() bool {
		return metricsHas(fmt.Sprintf(`traefik_service_server_up{service="api@file",url=%q} 0`, b.URL))
	})
	for range 3 {
		if _, body := httpGet(t, web+"/"); !strings.HasPrefix(body, "a ") {
			t.Errorf("with b unhealthy, got %q", body)
		}
	}
	a.health.Store(http.StatusServiceUnavailable)
	eventually(t, "a out", func() bool {
		return metricsHas(fmt.Sprintf(`traefik_service_server_up{service="api@file",url=%q} 0`, a.URL))
	})
	if code, body := httpGet(t, web+"/"); code != 503 || body != "Service Unavailable\n" {
		t.Errorf("with no server healthy: %d %q", code, body)
	}
	b.health.Store(http.StatusOK)
	eventually(t, "b back", func() bool { code, _ := httpGet(t, web+"/"); return code == 200 })

	if code, body := httpGet(t, metrics+"/ping"); code != 200 || body != "OK" {
		t.Errorf("GET /ping: %d %q", code, body)
	}
	if code, _ := httpGet(t, web+"/ping"); code != 200 {
		t.Errorf("GET /ping on web (routed to the service): %d", code)
	}
	_, m := httpGet(t, metrics+"/metrics")
	for _, want := range []string{
		"traefik_config_reloads_total 1",
		`traefik_service_requests_total{code="200",method="GET",protocol="http",service="api@file"}`,
		// (503s: one, and more while waiting for b to come back)
		`traefik_service_requests_total{code="503",method="GET",protocol="http",service="api@file"} `,
		`traefik_service_request_duration_seconds_bucket{code="503",method="GET",protocol="http",service="api@file",le="0.1"} `,
		`traefik_service_request_duration_seconds_count{code="503",method="GET",protocol="http",service="api@file"} `,
		`traefik_entrypoint_requests_total{code="200",entrypoint="metrics",method="GET",protocol="http"}`,
		"# TYPE traefik_service_request_duration_seconds histogram",
		"# TYPE traefik_service_server_up gauge",
	} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, m)
		}
	}

	// A change is applied; a broken change is refused and the last good
	// configuration stays.
	writeFile(t, file, fmt.Sprintf("http:\n  routers:\n    v2:\n      rule: PathPrefix(`/v2`)\n      service: v2\n"+
		"  services:\n    v2:\n      loadBalancer:\n        servers:\n          - url: %s\n", b.URL))
	eventually(t, "the new file", func() bool { code, _ := httpGet(t, web+"/items"); return code == 404 })
	if code, body := httpGet(t, web+"/items"); body != "404 page not found\n" {
		t.Errorf("GET /items after the reload: %d %q", code, body)
	}
	if code, body := httpGet(t, web+"/v2/x"); code != 200 || !strings.HasPrefix(body, "b /v2/x") {
		t.Errorf("GET /v2/x after the reload: %d %q", code, body)
	}
	writeFile(t, file, "http:\n  routers:\n    v2:\n      rule: PathPrefix(`/v2`)\n      service: v2\n      tls: {}\n")
	eventually(t, "the error logged", func() bool { return strings.Contains(stdout.String(), "field tls not found") })
	if code, body := httpGet(t, web+"/v2/y"); code != 200 || !strings.HasPrefix(body, "b /v2/y") {
		t.Errorf("after a broken change: %d %q", code, body)
	}
	if !metricsHas("traefik_config_reloads_total 2") {
		t.Error("reloads_total is not 2 after one good and one broken change")
	}

	// healthcheck against the running instance, and without ping.
	var out, errOut bytes.Buffer
	if code := run(context.Background(), append([]string{"healthcheck"},
		"--entryPoints.metrics.address="+lns["metrics"].Addr().String(), "--ping.entryPoint=metrics"), &out, &errOut); code != 0 ||
		out.String() != "OK: "+metrics+"/ping\n" {
		t.Errorf("healthcheck: exit %d, %q %q", code, out.String(), errOut.String())
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serveAll: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serveAll did not stop")
	}
	log := stdout.String()
	for _, want := range []string{
		" WRN Health check failed, removing from server list. service=api@file url=" + b.URL + "\n",
		" WRN Health check up: returning to server list. service=api@file url=" + b.URL + "\n",
		" ERR Error while building configuration from file " + file + ": yaml: unmarshal errors:",
		` "GET /items HTTP/1.1" 200 `,
		` "GET /items HTTP/1.1" 404 19 "-" "Go-http-client/1.1" `,
		`"api@file" "` + a.URL + `" `,
		` "GET /ping HTTP/1.1" 200 2 "-" "Go-http-client/1.1" `,
	} {
		if !strings.Contains(log, want) {
			t.Errorf("stdout lacks %q:\n%s", want, log)
		}
	}
}

func TestRun(t *testing.T) {
	tests := []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{args: []string{"--entryPoints.web.address=:0", "--api.dashboard=true"}, code: 1,
			stderr: "traefik (stand-in): unknown flag --api.dashboard: the stand-in takes only"},
		{args: []string{"version"}, code: 0, stdout: "Version:      stand-in\ntraefik stand-in (NOT Traefik)"},
		{args: []string{"traefik", "version"}, code: 0, stdout: "Version:      stand-in\n"},
		{args: []string{"traefik", "traefik"}, code: 1, stderr: `traefik (stand-in): unexpected argument "traefik"`},
		{args: []string{"healthcheck", "--entryPoints.web.address=:0"}, code: 1,
			stderr: "traefik (stand-in) healthcheck: ping is not enabled"},
		{args: []string{"healthcheck", "--entryPoints.m.address=127.0.0.1:1", "--ping.entryPoint=m"}, code: 1,
			stderr: "Error calling healthcheck: Get \"http://127.0.0.1:1/ping\""},
		{args: []string{"--entryPoints.web.address=203.0.113.1:1"}, code: 1,
			stdout: "traefik stand-in (NOT Traefik)", stderr: "traefik (stand-in): entry point web: listen tcp 203.0.113.1:1"},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), tt.args, &stdout, &stderr)
		if code != tt.code || !strings.HasPrefix(stdout.String(), tt.stdout) || !strings.HasPrefix(stderr.String(), tt.stderr) ||
			(tt.stdout == "" && stdout.Len() > 0) || (tt.stderr == "" && stderr.Len() > 0) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit %d, stdout %q…, stderr %q…",
				tt.args, code, stdout.String(), stderr.String(), tt.code, tt.stdout, tt.stderr)
		}
	}
}
