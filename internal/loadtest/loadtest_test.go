package loadtest

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

func ptr[T any](v T) *T { return &v }

func goodSpec() Spec {
	return Spec{
		Target: "http://127.0.0.1:8000", Users: 10, SpawnRate: 10, Duration: 30 * time.Second,
		Tasks: []Task{{Method: "GET", Path: "/health", Weight: 3}, {Method: "POST", Path: "/api/requests", Weight: 1, Body: ptr(`{"a":1}`), Headers: map[string]string{"Content-Type": "application/json"}}},
	}
}

func TestValidate(t *testing.T) {
	if errs := goodSpec().Validate(); len(errs) != 0 {
		t.Fatalf("a good spec: %v", errs)
	}
	for _, tc := range []struct {
		name  string
		edit  func(*Spec)
		field string
		want  string
	}{
		{"ftp target", func(s *Spec) { s.Target = "ftp://h/" }, "target", "http:// or https://"},
		{"no host", func(s *Spec) { s.Target = "http://" }, "target", "no host"},
		{"query", func(s *Spec) { s.Target = "http://h:80/?a=1" }, "target", "without a query"},
		{"credentials", func(s *Spec) { s.Target = "http://u:p@h/" }, "target", "credentials"},
		{"port", func(s *Spec) { s.Target = "http://h:70000" }, "target", ""},
		{"no users", func(s *Spec) { s.Users = 0 }, "users", "between 1 and 10000, got 0"},
		{"too many users", func(s *Spec) { s.Users = 10001 }, "users", "got 10001"},
		{"no spawn rate", func(s *Spec) { s.SpawnRate = 0 }, "spawn_rate", "more than 0"},
		{"too long", func(s *Spec) { s.Duration = 11 * time.Minute }, "duration", "between 1s and 10m0s, got 11m0s"},
		{"fraction", func(s *Spec) { s.Duration = 1500 * time.Millisecond }, "duration", "whole seconds"},
		{"wait", func(s *Spec) { s.WaitMin, s.WaitMax = 2*time.Second, time.Second }, "wait", "min <= max"},
		{"no tasks", func(s *Spec) { s.Tasks = nil }, "tasks", "between 1 and 100 tasks, got 0"},
		{"method", func(s *Spec) { s.Tasks[0].Method = "get" }, "tasks[0].method", `got "get"`},
		{"path", func(s *Spec) { s.Tasks[1].Path = "api" }, "tasks[1].path", "must start with /"},
		{"path space", func(s *Spec) { s.Tasks[1].Path = "/a b" }, "tasks[1].path", "spaces"},
		{"weight", func(s *Spec) { s.Tasks[0].Weight = 0 }, "tasks[0].weight", "between 1 and 1000"},
		{"GET body", func(s *Spec) { s.Tasks[0].Body = ptr("x") }, "tasks[0].body", "GET request has no body"},
		{"header name", func(s *Spec) { s.Tasks[1].Headers = map[string]string{"Bad Name": "x"} }, "tasks[1].headers", `"Bad Name" is not a header name`},
		{"header value", func(s *Spec) { s.Tasks[1].Headers = map[string]string{"X": "a\r\nInjected: 1"} }, "tasks[1].headers", "line break"},
		{"header space", func(s *Spec) { s.Tasks[1].Headers = map[string]string{"X": " a"} }, "tasks[1].headers", "white space"},
		{"header latin-1", func(s *Spec) { s.Tasks[1].Headers = map[string]string{"X": "€"} }, "tasks[1].headers", "Latin-1"},
		{"target credentials in a bad URL", func(s *Spec) { s.Target = "http://u:secret@h:9x" }, "target", "is not a URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := goodSpec()
			s.Tasks = slices.Clone(s.Tasks)
			tc.edit(&s)
			errs := s.Validate()
			if len(errs) != 1 || errs[0].Field != tc.field || !strings.Contains(errs[0].Problem, tc.want) {
				t.Fatalf("got %v, want one error on %s containing %q", errs, tc.field, tc.want)
			}
		})
	}
}

func TestArgsAndData(t *testing.T) {
	s := goodSpec()
	s.Target = "http://10.0.0.1:8080/"
	s.SpawnRate = 2.5
	got := strings.Join(s.Args(), " ")
	want := "-f /tmp/mcpai-locustfile.py --headless --host http://10.0.0.1:8080 --users 10 --spawn-rate 2.5 --run-time 30s --stop-timeout 5 --only-summary --loglevel WARNING"
	if got != want {
		t.Fatalf("args\n got %s\nwant %s", got, want)
	}
	// Values travel as data: a path with quotes stays a JSON string.
	s.Tasks[0].Path = `/x?q="); import os; os.system("id")#`
	data, err := s.TasksJSON()
	if err != nil {
		t.Fatal(err)
	}
	var back taskData
	if err := json.Unmarshal(data, &back); err != nil || back.Tasks[0].Path != s.Tasks[0].Path || back.Tasks[0].Weight != 3 || *back.Tasks[1].Body != `{"a":1}` {
		t.Fatalf("round trip: %v %+v", err, back)
	}
	if strings.Contains(Locustfile, "os.system") || !strings.Contains(Locustfile, TasksPath) {
		t.Fatal("the locustfile must be constant and read the tasks file")
	}
}

func TestTargetAddress(t *testing.T) {
	for in, want := range map[string]string{
		"http://10.0.0.1:8080": "10.0.0.1:8080", "http://api.local/": "api.local:80", "https://h": "h:443", "http://[::1]:81/x": "[::1]:81",
	} {
		if got, err := TargetAddress(in); err != nil || got != want {
			t.Errorf("%s: %q %v, want %s", in, got, err, want)
		}
	}
}

// Results as the locustfile writes them (made-up numbers).
const resultsJSON = `{"requests": 400, "failures": 100, "rps": 13.32, "p50_ms": 50, "p95_ms": 55, "p99_ms": 63,
 "max_ms": 68.9, "top_failures": [{"method": "GET", "name": "GET /status/500", "error": "HTTPError('500 Server Error')", "occurrences": 100}],
 "exceptions": []}`

func TestParseResults(t *testing.T) {
	r, err := ParseResults([]byte(resultsJSON))
	if err != nil {
		t.Fatal(err)
	}
	if r.Requests != 400 || r.Failures != 100 || r.FailureRatio != 0.25 || r.RPS != 13.32 || r.P50 != 50 || r.P95 != 55 || r.P99 != 63 || r.Max != 68.9 ||
		len(r.Failed) != 1 || r.Failed[0].Occurrences != 100 || !strings.Contains(r.Failed[0].Error, "500") {
		t.Fatalf("got %+v", r)
	}
	// Nothing sent: ratio 1.
	none := `{"requests": 0, "failures": 0, "rps": 0, "p50_ms": 0, "p95_ms": 0, "p99_ms": 0, "max_ms": 0}`
	if r, err := ParseResults([]byte(none)); err != nil || r.FailureRatio != 1 || r.Requests != 0 {
		t.Fatalf("empty run: %+v %v", r, err)
	}
	for name, bad := range map[string]string{
		"empty":         "",
		"not json":      "Aggregated,1",
		"missing":       `{"requests": 1, "failures": 0}`,
		"negative":      strings.Replace(resultsJSON, `"p95_ms": 55`, `"p95_ms": -1`, 1),
		"more failures": strings.Replace(resultsJSON, `"requests": 400`, `"requests": 40`, 1),
		"not a number":  strings.Replace(resultsJSON, `"requests": 400`, `"requests": "many"`, 1),
	} {
		if _, err := ParseResults([]byte(bad)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestSLOCheck(t *testing.T) {
	r := Results{Requests: 100, Failures: 10, FailureRatio: 0.1, RPS: 20, P95: 120, P99: 300}
	s := SLO{P95MS: ptr(100.0), P99MS: ptr(500.0), MaxFailureRatio: ptr(0.05), MinRPS: ptr(50.0)}
	var got []string
	for _, m := range s.Check(r) {
		got = append(got, m.String())
	}
	want := []string{
		"slo.p95_ms: measured 120, above the objective 100",
		"slo.max_failure_ratio: measured 0.1, above the objective 0.05",
		"slo.min_rps: measured 20, below the objective 50",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	if m := (SLO{}).Check(r); len(m) != 0 {
		t.Fatalf("no objectives: %v", m)
	}
}

func FuzzParseResults(f *testing.F) {
	f.Add([]byte(resultsJSON))
	f.Add([]byte(`{"requests": 1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseResults(data)
		if err != nil {
			return
		}
		if r.Failures > r.Requests || r.Failures < 0 || r.FailureRatio < 0 || r.FailureRatio > 1 || r.P50 < 0 || r.RPS < 0 {
			t.Fatalf("accepted impossible results %+v from %q", r, data)
		}
	})
}

func FuzzValidate(f *testing.F) {
	f.Add("http://127.0.0.1:8000", "GET", "/health", "X-A", "b")
	f.Fuzz(func(t *testing.T, target, method, p, hk, hv string) {
		s := goodSpec()
		s.Target = target
		s.Tasks = []Task{{Method: method, Path: p, Weight: 1, Headers: map[string]string{hk: hv}}}
		if len(s.Validate()) > 0 {
			return
		}
		// Whatever passes is a plain URL and path, and headers without
		// line breaks: nothing can split a request.
		if strings.ContainsAny(target+p+hk+hv, "\r\n\x00") {
			t.Fatalf("accepted a line break: %q %q %q %q", target, p, hk, hv)
		}
		if _, err := TargetAddress(target); err != nil {
			t.Fatalf("valid target without an address: %v", err)
		}
	})
}

func TestTargetErrorsHideCredentials(t *testing.T) {
	for _, target := range []string{"ftp://u:secret@h/", "http://u:secret@h:9x", "http://u:secret@h/?q=1", "http://u:secret@/"} {
		err := CheckTarget(target)
		if err == nil || strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: %v", target, err)
		}
	}
}
