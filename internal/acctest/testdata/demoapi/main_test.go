package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseArgs(t *testing.T) {
	module := []string{"main:app", "--host", "0.0.0.0", "--port", "8000", "--workers", "4", "--loop", "uvloop",
		"--http", "httptools", "--no-access-log", "--timeout-keep-alive", "75", "--backlog", "4096"}
	moduleWant := options{App: "main:app", Host: "0.0.0.0", Port: 8000, Workers: 4, Loop: "uvloop", HTTP: "httptools",
		AccessLog: false, TimeoutKeepAlive: 75, Backlog: 4096}
	tests := []struct {
		name string
		args []string
		want options
		err  string // "" for none; the usage error's message otherwise
	}{
		{name: "what the module passes", args: module, want: moduleWant},
		{name: "--opt=value form, app last", args: []string{"--host=0.0.0.0", "--port=8000", "--workers=4", "--loop=uvloop",
			"--http=httptools", "--no-access-log", "--timeout-keep-alive=75", "--backlog=4096", "main:app"}, want: moduleWant},
		{name: "defaults", args: []string{"main:app"}, want: options{App: "main:app", Host: "127.0.0.1", Port: 8000,
			Workers: 1, Loop: "auto", HTTP: "auto", AccessLog: true, TimeoutKeepAlive: 5, Backlog: 2048}},
		{name: "last of --access-log/--no-access-log wins", args: []string{"a:b", "--no-access-log", "--access-log"},
			want: func() options { o := defaults(); o.App = "a:b"; return o }()},
		{name: "app after --", args: []string{"--port", "9000", "--", "--weird:app"},
			want: func() options { o := defaults(); o.App = "--weird:app"; o.Port = 9000; return o }()},
		{name: "unknown option", args: []string{"main:app", "--reload"}, err: "No such option: --reload"},
		{name: "unknown option with value", args: []string{"main:app", "--root-path=/x"}, err: "No such option: --root-path"},
		{name: "single dash", args: []string{"main:app", "-w", "4"}, err: "No such option: -w"},
		{name: "missing app", args: []string{"--port", "8000"}, err: "Missing argument 'APP'."},
		{name: "two apps", args: []string{"a:b", "c:d", "e:f"}, err: "Got unexpected extra argument (c:d e:f)"},
		{name: "value missing", args: []string{"main:app", "--port"}, err: "Option '--port' requires an argument."},
		{name: "flag with value", args: []string{"main:app", "--no-access-log=true"},
			err: "Option '--no-access-log' does not take a value."},
		{name: "port not a number", args: []string{"main:app", "--port", "http"},
			err: "Invalid value for '--port': 'http' is not a valid integer."},
		{name: "port out of range", args: []string{"main:app", "--port=70000"},
			err: "Invalid value for '--port': 70000 is not in the range 0<=x<=65535."},
		{name: "no workers", args: []string{"main:app", "--workers", "0"},
			err: "Invalid value for '--workers': 0 is not in the range 1<=x<=1024."},
		{name: "bad loop", args: []string{"main:app", "--loop", "trio"},
			err: "Invalid value for '--loop': 'trio' is not one of 'auto', 'asyncio', 'uvloop'."},
		{name: "bad http", args: []string{"main:app", "--http=h2"},
			err: "Invalid value for '--http': 'h2' is not one of 'auto', 'h11', 'httptools'."},
		{name: "negative keep-alive", args: []string{"main:app", "--timeout-keep-alive", "-1"},
			err: "Invalid value for '--timeout-keep-alive': -1 is not in the range 0<=x<=86400."},
		{name: "zero backlog", args: []string{"main:app", "--backlog", "0"},
			err: "Invalid value for '--backlog': 0 is not in the range 1<=x<=1048576."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseArgs(tt.args)
			if tt.err != "" {
				var u usageError
				if !errors.As(err, &u) || u.msg != tt.err {
					t.Fatalf("error %v, want usage error %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestAppProblem(t *testing.T) {
	for app, ok := range map[string]bool{"main:app": true, "pkg.mod:factory": true, "main": false, ":app": false, "main:": false} {
		if got := appProblem(app) == ""; got != ok {
			t.Errorf("appProblem(%q) = %q", app, appProblem(app))
		}
	}
}

// run refuses bad command lines before it listens, with uvicorn's exit
// statuses and messages.
func TestRunRefuses(t *testing.T) {
	tests := []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{args: []string{"main:app", "--reload"}, code: 2,
			stderr: "Usage: uvicorn [OPTIONS] APP\nTry 'uvicorn --help' for help.\n\nError: No such option: --reload\n"},
		{args: []string{"--help"}, code: 0, stdout: helpText},
		{args: []string{"main"}, code: 1,
			stderr: "ERROR:    Error loading ASGI app. Import string \"main\" must be in format \"<module>:<attribute>\".\n"},
		{args: []string{"main:app", "--host", "203.0.113.1", "--port", "1"}, code: 1,
			stderr: "ERROR:    error while attempting to bind on address 203.0.113.1:1: "},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), tt.args, &stdout, &stderr)
		if code != tt.code || stdout.String() != tt.stdout || !strings.HasPrefix(stderr.String(), tt.stderr) ||
			(tt.stderr == "" && stderr.Len() > 0) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit %d, stdout %q, stderr starting %q",
				tt.args, code, stdout.String(), stderr.String(), tt.code, tt.stdout, tt.stderr)
		}
	}
}

func get(t *testing.T, h http.Handler, method, target string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	return rec
}

func TestHandler(t *testing.T) {
	var access bytes.Buffer
	o := defaults()
	o.App, o.Workers = "main:app", 3
	s := newServer(o, &access)
	tests := []struct {
		method, target string
		code           int
		body           string // JSON, compared after decoding; "" to skip
	}{
		{"GET", "/health", 200, `{"status":"ok"}`},
		{"GET", "/status/503", 503, `{"status":503}`},
		{"GET", "/status/201", 201, `{"status":201}`},
		{"GET", "/status/99", 422, `{"detail":"code must be an HTTP status from 200 to 599"}`},
		{"GET", "/status/x", 422, ""},
		{"GET", "/slow?ms=20", 200, `{"slept_ms":20}`},
		{"GET", "/slow?ms=-1", 422, `{"detail":"ms must be an integer from 0 to 600000"}`},
		{"GET", "/slow", 422, ""},
		{"GET", "/nope", 404, `{"detail":"Not Found"}`},
		{"GET", "/status/500/x", 404, ""},
		{"POST", "/health", 405, `{"detail":"Method Not Allowed"}`},
	}
	for _, tt := range tests {
		start := time.Now()
		rec := get(t, s, tt.method, tt.target)
		if rec.Code != tt.code {
			t.Errorf("%s %s: %d, want %d", tt.method, tt.target, rec.Code, tt.code)
		}
		if tt.body != "" {
			var got, want any
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatalf("%s %s: %v: %q", tt.method, tt.target, err, rec.Body.String())
			}
			_ = json.Unmarshal([]byte(tt.body), &want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s %s: body %s, want %s", tt.method, tt.target, rec.Body.String(), tt.body)
			}
		}
		if tt.target == "/slow?ms=20" && time.Since(start) < 20*time.Millisecond {
			t.Errorf("/slow?ms=20 answered after %v", time.Since(start))
		}
	}

	rec := get(t, s, "GET", "/")
	var settings map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &settings); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]any{"app": "main:app", "host": "127.0.0.1", "port": 8000.0, "workers": 3.0, "loop": "auto",
		"http": "auto", "access_log": true, "timeout_keep_alive": 5.0, "backlog": 2048.0} {
		if settings[k] != v {
			t.Errorf("GET /: %s = %v, want %v (%s)", k, settings[k], v, rec.Body.String())
		}
	}
	for _, k := range []string{"pid", "hostname", "worker", "server"} {
		if _, ok := settings[k]; !ok {
			t.Errorf("GET /: no %s in %s", k, rec.Body.String())
		}
	}

	metrics := get(t, s, "GET", "/metrics").Body.String()
	for _, want := range []string{
		`http_requests_total{method="GET",path="/health",status="200"} 1`,
		`http_requests_total{method="GET",path="/status/{code}",status="503"} 1`,
		`http_requests_total{method="GET",path="/status/{code}",status="422"} 2`,
		`http_requests_total{method="GET",path="none",status="404"} 2`,
		`http_requests_total{method="POST",path="/health",status="405"} 1`,
		`http_requests_total{method="GET",path="/",status="200"} 1`,
		`http_request_duration_seconds_bucket{method="GET",path="/slow",le="0.01"} 2`, // the two 422s
		`http_request_duration_seconds_bucket{method="GET",path="/slow",le="+Inf"} 3`,
		`http_request_duration_seconds_count{method="GET",path="/health"} 1`,
		"# TYPE http_request_duration_seconds histogram",
	} {
		if !strings.Contains(metrics, want+"\n") {
			t.Errorf("/metrics lacks %q:\n%s", want, metrics)
		}
	}
	if !strings.Contains(access.String(), `INFO:     192.0.2.1:1234 - "GET /status/503 HTTP/1.1" 503 Service Unavailable`+"\n") {
		t.Errorf("access log:\n%s", access.String())
	}

	// --no-access-log: nothing on stdout.
	var none bytes.Buffer
	o.AccessLog = false
	get(t, newServer(o, &none), "GET", "/health")
	if none.Len() != 0 {
		t.Errorf("access log with --no-access-log: %q", none.String())
	}
}

// listen and serve run one accept loop per worker on one address: fresh
// connections are served by more than one of them, and all stop on
// cancellation.
func TestServeWorkers(t *testing.T) {
	o := defaults()
	o.App, o.Port, o.Workers = "main:app", 0, 3
	lns, err := listen(o)
	if err != nil {
		t.Fatal(err)
	}
	addr := lns[0].Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, lns, newServer(o, io.Discard), time.Second) }()

	seen := map[float64]bool{}
	for range 30 {
		c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
		resp, err := c.Get("http://" + addr + "/")
		if err != nil {
			t.Fatal(err)
		}
		var s map[string]any
		err = json.NewDecoder(resp.Body).Decode(&s)
		_ = resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		w, _ := s["worker"].(float64)
		if w < 1 || w > 3 {
			t.Fatalf("worker %v, want 1..3", s["worker"])
		}
		seen[w] = true
	}
	if len(seen) < 2 {
		t.Errorf("30 connections were all served by worker(s) %v", seen)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("serve did not stop")
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		_ = c.Close()
		t.Error("still accepting after shutdown")
	}
}
