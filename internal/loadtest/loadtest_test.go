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
	want := "-f /tmp/mcpai-locustfile.py --headless --host http://10.0.0.1:8080 --users 10 --spawn-rate 2.5 --run-time 30s --stop-timeout 5 --csv /tmp/mcpai-load --only-summary --loglevel WARNING"
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

// A stats CSV as Locust 2.12 writes it (header and row layout), with made-up
// numbers for a test fixture.
const statsCSV = `Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%
GET,GET /slow,300,0,51,51.6,50.2,68.9,14.0,9.99,0.0,51,52,52,52,53,55,60,64,69,69,69
GET,GET /status/500,100,100,2,2.1,1.0,5.0,16.0,3.33,3.33,2,2,2,2,3,3,4,5,5,5,5
,Aggregated,400,100,50,39.2,1.0,68.9,14.5,13.32,3.33,50,52,52,52,53,55,58,63,69,69,69
`

func TestParseStats(t *testing.T) {
	r, err := ParseStats([]byte(statsCSV))
	if err != nil {
		t.Fatal(err)
	}
	want := Results{Requests: 400, Failures: 100, FailureRatio: 0.25, RPS: 13.32, P50: 50, P95: 55, P99: 63, Max: 68.9}
	if r != want {
		t.Fatalf("got %+v\nwant %+v", r, want)
	}
	// Nothing answered: N/A percentiles, ratio 1.
	none := strings.Replace(statsCSV[:strings.Index(statsCSV, "\n")+1], "", "", 1) +
		",Aggregated,0,0,0,0,0,0,0,0.0,0.0,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A\n"
	if r, err := ParseStats([]byte(none)); err != nil || r.FailureRatio != 1 || r.Requests != 0 || r.P95 != 0 {
		t.Fatalf("empty run: %+v %v", r, err)
	}
	for name, bad := range map[string]string{
		"empty":         "",
		"no aggregated": statsCSV[:strings.Index(statsCSV, ",Aggregated")],
		"no column":     strings.Replace(statsCSV, "99%", "99 pct", 1),
		"not a number":  strings.Replace(statsCSV, "Aggregated,400", "Aggregated,many", 1),
		"more failures": strings.Replace(statsCSV, "Aggregated,400,100", "Aggregated,40,100", 1),
		"short row":     statsCSV + ",Aggregated,1\n",
	} {
		if _, err := ParseStats([]byte(bad)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestParseFailures(t *testing.T) {
	data := "Method,Name,Error,Occurrences\nGET,GET /a,\"HTTPError('500 Server Error')\",3\nGET,GET /b,\"ConnectionRefusedError(111, 'Connection refused')\",40\n"
	f, err := ParseFailures([]byte(data))
	if err != nil || len(f) != 2 || f[0].Occurrences != 40 || !strings.Contains(f[0].Error, "Connection refused") || f[1].Name != "GET /a" {
		t.Fatalf("%+v %v", f, err)
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

func FuzzParseStats(f *testing.F) {
	f.Add([]byte(statsCSV))
	f.Add([]byte("Name\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseStats(data)
		if err != nil {
			return
		}
		if r.Failures > r.Requests || r.FailureRatio < 0 || r.FailureRatio > 1 || r.P50 < 0 || r.RPS < 0 {
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
