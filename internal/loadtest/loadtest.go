// Package loadtest is the pure logic of mcpai_load_test: it checks a load
// test's specification, turns it into Locust's command line and task data,
// reads Locust's own statistics back and judges them against objectives.
//
// User input never becomes code: the locustfile is a constant program that
// reads the tasks as JSON data, and every value reaches Locust as one argv
// element.
package loadtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Bounds on a run: every load is bounded in count and time.
const (
	MaxDuration = 10 * time.Minute
	MinDuration = time.Second
	MaxUsers    = 10000
	MaxTasks    = 100
	MaxWeight   = 1000
	MaxBody     = 1 << 20
)

// Methods are the HTTP methods a task may use.
var Methods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions}

// Task is one weighted request of the simulated user, as in the guide's
// locustfile: Locust picks a task with probability weight/sum(weights).
type Task struct {
	Method  string            `json:"method"`
	Path    string            `json:"path"`
	Weight  int               `json:"weight"`
	Body    *string           `json:"body,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
}

// Spec is one load test.
type Spec struct {
	Target    string // base URL, as seen from the host the load runs on
	Users     int
	SpawnRate float64 // users started per second
	Duration  time.Duration
	// WaitMin and WaitMax bound each user's pause between tasks (Locust's
	// between(); both 0: no pause).
	WaitMin, WaitMax time.Duration
	Tasks            []Task
}

// FieldError is a problem with one field of the spec; Field is the
// attribute path, e.g. "tasks[1].path".
type FieldError struct {
	Field, Problem string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Problem }

// Validate checks everything a run needs, before anything runs.
func (s Spec) Validate() []*FieldError {
	var errs []*FieldError
	add := func(field, format string, a ...any) {
		errs = append(errs, &FieldError{field, fmt.Sprintf(format, a...)})
	}
	if err := CheckTarget(s.Target); err != nil {
		add("target", "%s", err.Error())
	}
	if s.Users < 1 || s.Users > MaxUsers {
		add("users", "must be between 1 and %d, got %d", MaxUsers, s.Users)
	}
	if !(s.SpawnRate > 0) || s.SpawnRate > MaxUsers {
		add("spawn_rate", "must be more than 0 and at most %d users per second, got %g", MaxUsers, s.SpawnRate)
	}
	if s.Duration < MinDuration || s.Duration > MaxDuration || s.Duration%time.Second != 0 {
		add("duration", "must be whole seconds between %s and %s, got %s", MinDuration, MaxDuration, s.Duration)
	}
	if s.WaitMin < 0 || s.WaitMax < s.WaitMin || s.WaitMax > time.Minute {
		add("wait", "min and max must satisfy 0 <= min <= max <= 1m, got %s and %s", s.WaitMin, s.WaitMax)
	}
	if len(s.Tasks) == 0 || len(s.Tasks) > MaxTasks {
		add("tasks", "must hold between 1 and %d tasks, got %d", MaxTasks, len(s.Tasks))
	}
	for i, t := range s.Tasks {
		for _, e := range t.validate() {
			e.Field = fmt.Sprintf("tasks[%d].%s", i, e.Field)
			errs = append(errs, e)
		}
	}
	return errs
}

func (t Task) validate() []*FieldError {
	var errs []*FieldError
	add := func(field, format string, a ...any) {
		errs = append(errs, &FieldError{field, fmt.Sprintf(format, a...)})
	}
	if !slices.Contains(Methods, t.Method) {
		add("method", "must be one of %s, got %q", strings.Join(Methods, ", "), t.Method)
	}
	if err := CheckPath(t.Path); err != nil {
		add("path", "%s", err.Error())
	}
	if t.Weight < 1 || t.Weight > MaxWeight {
		add("weight", "must be between 1 and %d, got %d", MaxWeight, t.Weight)
	}
	if t.Body != nil && len(*t.Body) > MaxBody {
		add("body", "must be at most %d bytes, got %d", MaxBody, len(*t.Body))
	}
	if t.Body != nil && (t.Method == http.MethodGet || t.Method == http.MethodHead) {
		add("body", "a %s request has no body; use POST, PUT or PATCH", t.Method)
	}
	names := make([]string, 0, len(t.Headers))
	for k := range t.Headers {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		if !validHeaderName(k) {
			add("headers", "%q is not a header name (letters, digits and !#$%%&'*+-.^_`|~ only)", k)
		}
		switch v := t.Headers[k]; {
		case strings.ContainsAny(v, "\r\n\x00"):
			add("headers", "the value of %s holds a line break or NUL", k)
		case strings.TrimSpace(v) != v:
			add("headers", "the value of %s starts or ends with white space, which HTTP clients refuse", k)
		case strings.IndexFunc(v, func(r rune) bool { return r > 0xff }) >= 0:
			add("headers", "the value of %s holds a character outside Latin-1, which an HTTP header cannot carry", k)
		}
	}
	return errs
}

// CheckTarget accepts an http or https URL with a host and nothing after
// the path.
func CheckTarget(target string) error {
	u, err := url.Parse(target)
	var uerr *url.Error
	switch {
	case errors.As(err, &uerr):
		// Its text quotes the whole URL, credentials included.
		return fmt.Errorf("is not a URL: %w", uerr.Err)
	case err != nil:
		return fmt.Errorf("is not a URL: %w", err)
	case u.User != nil:
		return fmt.Errorf("must not hold credentials; give them as a task's headers")
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("must be an http:// or https:// URL such as http://127.0.0.1:8000, got %q", target)
	case u.Host == "" || u.Hostname() == "":
		return fmt.Errorf("has no host: %q", target)
	case u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(target, "?") || strings.Contains(target, "#"):
		return fmt.Errorf("must be a base URL without a query or fragment, got %q", target)
	case strings.ContainsAny(target, " \t\r\n"):
		return fmt.Errorf("must not hold white space")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("has port %q, not between 1 and 65535", p)
		}
	}
	return nil
}

// TargetAddress is host:port of the target, for a reachability check.
func TargetAddress(target string) (string, error) {
	if err := CheckTarget(target); err != nil {
		return "", err
	}
	u, _ := url.Parse(target)
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	return net.JoinHostPort(u.Hostname(), port), nil
}

// CheckPath accepts a request path starting with /, printable, without a
// fragment.
func CheckPath(p string) error {
	switch {
	case !strings.HasPrefix(p, "/"):
		return fmt.Errorf("must start with /, got %q", p)
	case strings.ContainsAny(p, " #\r\n\t\x00"):
		return fmt.Errorf("must not hold spaces, control characters or a fragment, got %q", p)
	case len(p) > 2048:
		return fmt.Errorf("must be at most 2048 characters")
	}
	if _, err := url.ParseRequestURI(p); err != nil {
		return fmt.Errorf("is not a request path: %w", err)
	}
	return nil
}

func validHeaderName(k string) bool {
	if k == "" {
		return false
	}
	for _, r := range k {
		if r > 0x7e || r <= ' ' || strings.ContainsRune("\"(),/:;<=>?@[\\]{}", r) {
			return false
		}
	}
	return true
}

// Paths inside the load container. /tmp exists, and is writable by the
// image's user, in any image that runs Locust.
const (
	LocustfilePath = "/tmp/mcpai-locustfile.py"
	TasksPath      = "/tmp/mcpai-tasks.json"
	ResultsPath    = "/tmp/mcpai-results.json"
)

// taskData is what the locustfile reads.
type taskData struct {
	WaitMin float64 `json:"wait_min"`
	WaitMax float64 `json:"wait_max"`
	Tasks   []Task  `json:"tasks"`
}

// TasksJSON is the data the locustfile reads from TasksPath.
func (s Spec) TasksJSON() ([]byte, error) {
	return json.Marshal(taskData{WaitMin: s.WaitMin.Seconds(), WaitMax: s.WaitMax.Seconds(), Tasks: s.Tasks})
}

// Args is Locust's command line (after the image's entrypoint, `locust`):
// headless, bounded in users and time; the locustfile writes the results.
func (s Spec) Args() []string {
	return []string{
		"-f", LocustfilePath,
		"--headless",
		"--host", strings.TrimRight(s.Target, "/"),
		"--users", strconv.Itoa(s.Users),
		"--spawn-rate", strconv.FormatFloat(s.SpawnRate, 'f', -1, 64),
		"--run-time", strconv.Itoa(int(s.Duration/time.Second)) + "s",
		"--stop-timeout", "5",
		"--only-summary",
		"--loglevel", "WARNING",
	}
}

// Locustfile is the constant program Locust runs: one user class whose
// weighted tasks are read as data from TasksPath. Each task's statistics are
// kept under "METHOD path"; a status of 400 and up counts as a failure
// (Locust's default); bodies are sent as UTF-8. When Locust quits, after
// every user has stopped, it writes Locust's own final statistics to
// ResultsPath (its CSV files are snapshots up to a second old).
const Locustfile = `# Written by terraform-provider-mcpai (mcpai_load_test). The tasks are data:
# ` + TasksPath + `.
import json

from locust import HttpUser, between, events

with open("` + TasksPath + `") as f:
    _SPEC = json.load(f)


def _task(t):
    body = t.get("body")
    data = body.encode("utf-8") if body is not None else None
    name = t["method"] + " " + t["path"]

    def run(user):
        user.client.request(t["method"], t["path"], data=data, headers=t.get("headers") or None, name=name)

    return run


class MCPAIUser(HttpUser):
    wait_time = between(_SPEC["wait_min"], _SPEC["wait_max"])
    tasks = {_task(t): t["weight"] for t in _SPEC["tasks"]}


@events.quitting.add_listener
def _write_results(environment, **_kwargs):
    total = environment.stats.total
    errors = sorted(environment.stats.errors.values(), key=lambda e: -e.occurrences)
    runner = environment.runner
    exceptions = sorted(runner.exceptions.values(), key=lambda e: -e["count"]) if runner is not None else []
    results = {
        "requests": total.num_requests,
        "failures": total.num_failures,
        "rps": total.total_rps,
        "p50_ms": total.get_response_time_percentile(0.5),
        "p95_ms": total.get_response_time_percentile(0.95),
        "p99_ms": total.get_response_time_percentile(0.99),
        "max_ms": total.max_response_time,
        "top_failures": [
            {"method": e.method, "name": e.name, "error": repr(e.error), "occurrences": e.occurrences} for e in errors[:5]
        ],
        "exceptions": [{"count": e["count"], "message": str(e["msg"])} for e in exceptions[:5]],
    }
    with open("` + ResultsPath + `", "w") as f:
        json.dump(results, f)
`
