package moduletest

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/mcpai/terraform-provider-mcpai/internal/acctest"
)

var (
	promrulesOnce sync.Once
	promrulesPath string
	promrulesErr  error
)

// promrules builds testdata/promrules (Prometheus's rule file parser and
// rule evaluation, a module of its own) once per test process: static, so
// that a sandbox host can run it too.
func promrules(t *testing.T) string {
	t.Helper()
	promrulesOnce.Do(func() {
		dir, err := os.MkdirTemp("", "mcpai-promrules-") //nolint:usetesting // shared by the tests of the process
		if err != nil {
			promrulesErr = err
			return
		}
		_, file, _, _ := runtime.Caller(0)
		promrulesPath = filepath.Join(dir, "promrules")
		cmd := exec.Command("go", "build", "-o", promrulesPath, ".")
		cmd.Dir = filepath.Join(filepath.Dir(file), "testdata", "promrules")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			promrulesErr = fmt.Errorf("building testdata/promrules: %w\n%s", err, out)
		}
	})
	if promrulesErr != nil {
		t.Fatal(promrulesErr)
	}
	return promrulesPath
}

// ruleCase is a case for promrules: scrapes one step apart, with target
// labels added to every sample.
type ruleCase struct {
	Name    string            `json:"name"`
	Step    string            `json:"step"`
	Labels  map[string]string `json:"labels"`
	Scrapes []string          `json:"scrapes"`
}

// firedAlert is an alert active after a case's last evaluation.
type firedAlert struct {
	State       string            `json:"state"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	Value       float64           `json:"value"`
}

// parsedRules is promrules' answer: the rule groups as Prometheus parsed
// them and the alerts of each case.
type parsedRules struct {
	Groups []struct {
		Name  string `json:"name"`
		Rules []struct {
			Alert string `json:"alert"`
			Expr  string `json:"expr"`
			For   string `json:"for"`
		} `json:"rules"`
	} `json:"groups"`
	Cases map[string][]firedAlert `json:"cases"`
}

// checkRules runs a rule file's content through Prometheus's parser, then
// evaluates its alerting rules over each case.
func checkRules(t *testing.T, rules string, cases ...ruleCase) parsedRules {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "rules.yml")
	if err := os.WriteFile(file, []byte(rules), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{file}
	if len(cases) > 0 {
		raw, err := json.Marshal(cases)
		if err != nil {
			t.Fatal(err)
		}
		args = append(args, filepath.Join(dir, "cases.json"))
		if err := os.WriteFile(args[1], raw, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	out, err := exec.Command(promrules(t), args...).Output()
	if err != nil {
		var stderr []byte
		if exit := (*exec.ExitError)(nil); errors.As(err, &exit) {
			stderr = exit.Stderr
		}
		t.Fatalf("Prometheus refuses the rules: %v\n%s\nrules:\n%s", err, stderr, rules)
	}
	var parsed parsedRules
	if err := json.Unmarshal(out, &parsed); err != nil {
		t.Fatalf("promrules: %v\n%s", err, out)
	}
	return parsed
}

// firing lists the alerts of a case that fire, as "alertname{label=value}"
// for the given labels, sorted.
func firing(alerts []firedAlert, labels ...string) []string {
	var names []string
	for _, a := range alerts {
		if a.State != "firing" {
			continue
		}
		var ls []string
		for _, l := range labels {
			if v, ok := a.Labels[l]; ok {
				ls = append(ls, l+"="+v)
			}
		}
		names = append(names, a.Labels["alertname"]+"{"+strings.Join(ls, ",")+"}")
	}
	slices.Sort(names)
	return names
}

// targetGroup is a file_sd target group as the targets file holds it.
type targetGroup struct {
	Targets []string          `json:"targets"`
	Labels  map[string]string `json:"labels"`
}

// stackScrapes are n scrapes, a minute apart, of a Traefik in front of two
// API servers and a postgres_exporter: each minute 60 requests, of which
// failing answer 500, all taking about latency seconds; the second server
// up or not; one statement called 10 times a minute at queryTime seconds
// a call.
func stackScrapes(n int, latency float64, failing int, secondUp bool, queryTime float64) []string {
	buckets := []float64{0.1, 0.3, 1.2, 5}
	up := 0
	if secondUp {
		up = 1
	}
	scrapes := make([]string, n)
	for i := range scrapes {
		var b strings.Builder
		ok, failed := (60-failing)*i, failing*i
		b.WriteString("# TYPE traefik_service_request_duration_seconds histogram\n")
		for _, code := range []struct {
			code  string
			count int
		}{{"200", ok}, {"500", failed}} {
			l := fmt.Sprintf(`code=%q,method="GET",protocol="http",service="api@file"`, code.code)
			for _, le := range buckets {
				in := 0
				if latency <= le {
					in = code.count
				}
				fmt.Fprintf(&b, "traefik_service_request_duration_seconds_bucket{%s,le=\"%g\"} %d\n", l, le, in)
			}
			fmt.Fprintf(&b, "traefik_service_request_duration_seconds_bucket{%s,le=\"+Inf\"} %d\n", l, code.count)
			fmt.Fprintf(&b, "traefik_service_request_duration_seconds_sum{%s} %g\n", l, float64(code.count)*latency)
			fmt.Fprintf(&b, "traefik_service_request_duration_seconds_count{%s} %d\n", l, code.count)
		}
		fmt.Fprintf(&b, "# TYPE traefik_service_requests_total counter\n")
		fmt.Fprintf(&b, "traefik_service_requests_total{code=\"200\",method=\"GET\",protocol=\"http\",service=\"api@file\"} %d\n", ok)
		fmt.Fprintf(&b, "traefik_service_requests_total{code=\"500\",method=\"GET\",protocol=\"http\",service=\"api@file\"} %d\n", failed)
		fmt.Fprintf(&b, "# TYPE traefik_service_server_up gauge\n")
		fmt.Fprintf(&b, "traefik_service_server_up{service=\"api@file\",url=\"http://127.0.0.1:18001\"} 1\n")
		fmt.Fprintf(&b, "traefik_service_server_up{service=\"api@file\",url=\"http://127.0.0.1:18002\"} %d\n", up)
		fmt.Fprintf(&b, "# TYPE pg_stat_statements_calls_total counter\n")
		fmt.Fprintf(&b, "pg_stat_statements_calls_total{datname=\"mcpai\",queryid=\"4711\",user=\"mcpai\"} %d\n", 10*i)
		fmt.Fprintf(&b, "# TYPE pg_stat_statements_seconds_total counter\n")
		fmt.Fprintf(&b, "pg_stat_statements_seconds_total{datname=\"mcpai\",queryid=\"4711\",user=\"mcpai\"} %g\n", float64(10*i)*queryTime)
		scrapes[i] = b.String()
	}
	return scrapes
}

// stackCases are a healthy stack and a degraded one (slow, failing, a
// server down, a slow statement), 16 minutes each: longer than the rate
// window and every default `for`.
func stackCases() []ruleCase {
	target := map[string]string{"job": "mcpai", "instance": "10.213.1.2:18082"}
	return []ruleCase{
		{Name: "healthy", Step: "1m", Labels: target, Scrapes: stackScrapes(16, 0.05, 0, true, 0.01)},
		{Name: "degraded", Step: "1m", Labels: target, Scrapes: stackScrapes(16, 0.8, 6, false, 2)},
	}
}

// monitoringDir makes a folder of its own on h for the module's files, with
// rules/ in it (file_sd/ is left for the module to create), and removes it
// at the end.
func monitoringDir(t *testing.T, h acctest.Host, name string) string {
	t.Helper()
	dir := "/root/" + name
	h.InHost(t, "rm -rf "+dir+" && mkdir -p "+dir+"/rules")
	t.Cleanup(func() { h.InHost(t, "rm -rf "+dir) })
	return dir
}

// managedFile is fileOnHost's view of a file the module writes: mode 644,
// root's, with content.
func managedFile(content string) string {
	return "644 root:root\n" + strings.TrimRight(content, "\n")
}

// fileContent is the content part of fileOnHost's view.
func fileContent(view string) string {
	_, content, _ := strings.Cut(view, "\n")
	return content
}

// The module writes the guide's alert rules and the scrape targets to the
// Prometheus host; Prometheus's own parser accepts the rules, and evaluated
// over a degraded stack they fire (over a healthy one they do not); the
// targets file's missing folder is created. Then an empty plan, drift of
// either file put back, new thresholds, and destroy putting back the rules
// file found before and removing the targets file and its folder.
func TestAccModuleMonitoring(t *testing.T) {
	if testing.Short() {
		t.Skip("drives the terraform CLI")
	}
	h := acctest.FirstHost(t)
	dir := monitoringDir(t, h, "mcpai-module-monitoring")
	rulesPath, targetsPath := dir+"/rules/mcpai.yml", dir+"/file_sd/mcpai.json"
	// A rules file from before, which destroy must put back.
	h.InHost(t, "printf 'groups: []\\n' > "+rulesPath+" && chmod 0640 "+rulesPath)

	args := fmt.Sprintf(`  host         = %q
  rules_path   = %q
  targets_path = %q
  promtool     = %q
  metrics_endpoints = {
    traefik = { targets = ["%[1]s:18082"] }
    api     = { targets = ["127.0.0.1:18001", "127.0.0.1:18002"], labels = { tier = "api" } }
    postgres = { targets = ["127.0.0.1:9187"], metrics_path = "/probe" }
  }
`, h.Address, rulesPath, targetsPath, promrules(t))
	w := callModule(t, "monitoring", args, "rules", "targets", "alerts", "prometheus_config")
	w.Run([]int{0}, "apply", "-auto-approve")
	destroyed := false
	t.Cleanup(func() {
		if !destroyed {
			w.Run([]int{0}, "destroy", "-auto-approve")
		}
	})

	var rules, targets string
	w.OutputJSON("rules", &rules)
	w.OutputJSON("targets", &targets)
	onHost := h.FileState(t, rulesPath)
	if onHost != managedFile(rules) {
		t.Errorf("rules file on the host:\n%s\nwant:\n%s", onHost, managedFile(rules))
	}

	// Prometheus's parser accepts the file as written on the host, and the
	// rules fire over the degraded stack only.
	parsed := checkRules(t, fileContent(onHost), stackCases()...)
	var alerts map[string][]string
	w.OutputJSON("alerts", &alerts)
	for _, g := range parsed.Groups {
		var names []string
		for _, r := range g.Rules {
			if r.Alert != "" {
				names = append(names, r.Alert)
			}
		}
		if !slices.Equal(names, alerts[g.Name]) {
			t.Errorf("group %s: Prometheus parsed %q, the alerts output says %q", g.Name, names, alerts[g.Name])
		}
	}
	if len(parsed.Groups) != 3 {
		t.Errorf("rule groups = %+v, want mcpai-api, mcpai-postgres and mcpai-dashboard", parsed.Groups)
	}
	if got := firing(parsed.Cases["healthy"]); len(got) != 0 {
		t.Errorf("a healthy stack fires %q", got)
	}
	want := []string{
		"APIHigh5xxRatio{service=api@file,severity=warning}",
		"APIHighP95Latency{service=api@file,severity=warning}",
		"APIServerDown{service=api@file,url=http://127.0.0.1:18002,severity=warning}",
		"PostgresSlowQueries{datname=mcpai,queryid=4711,severity=warning}",
	}
	if got := firing(parsed.Cases["degraded"], "service", "url", "datname", "queryid", "severity"); !slices.Equal(got, want) {
		t.Errorf("a degraded stack fires\n%q\nwant\n%q", got, want)
	}
	for _, a := range parsed.Cases["degraded"] {
		if a.Labels["alertname"] == "APIHigh5xxRatio" && a.Annotations["summary"] != "5xx responses of api@file above 1%" {
			t.Errorf("APIHigh5xxRatio summary = %q", a.Annotations["summary"])
		}
	}

	// The targets file, in the folder the module created: file_sd target
	// groups with the job and path.
	if got := h.DirsState(t, dir+"/file_sd"); got != "755 root:root directory" {
		t.Errorf("the targets file's folder: %q", got)
	}
	onHost = h.FileState(t, targetsPath)
	if onHost != managedFile(targets) {
		t.Errorf("targets file on the host:\n%s\nwant:\n%s", onHost, managedFile(targets))
	}
	var groups []targetGroup
	if err := json.Unmarshal([]byte(fileContent(onHost)), &groups); err != nil || len(groups) != 3 {
		t.Fatalf("targets file: %v:\n%s", err, onHost)
	}
	got := map[string]string{}
	for _, g := range groups {
		got[g.Labels["job"]] = fmt.Sprintf("%v %s %s %s", g.Targets, g.Labels["__metrics_path__"], g.Labels["__scheme__"], g.Labels["tier"])
	}
	wantTargets := map[string]string{
		"traefik":  "[" + h.Address + ":18082] /metrics http ",
		"api":      "[127.0.0.1:18001 127.0.0.1:18002] /metrics http api",
		"postgres": "[127.0.0.1:9187] /probe http ",
	}
	if fmt.Sprint(got) != fmt.Sprint(wantTargets) {
		t.Errorf("target groups = %v, want %v", got, wantTargets)
	}
	var config struct {
		RuleFiles     []string `json:"rule_files"`
		ScrapeConfigs []struct {
			JobName       string `json:"job_name"`
			FileSDConfigs []struct {
				Files []string `json:"files"`
			} `json:"file_sd_configs"`
		} `json:"scrape_configs"`
	}
	w.OutputJSON("prometheus_config", &config)
	if fmt.Sprint(config) != fmt.Sprintf("{[%s] [{mcpai [{[%s]}]}]}", rulesPath, targetsPath) {
		t.Errorf("prometheus_config = %+v", config)
	}
	w.PlanEmpty()

	// Drift: an edited targets file and a removed rules file show in the
	// plan, and apply puts them back.
	h.InHost(t, "printf '[]' > "+targetsPath+" && rm "+rulesPath)
	if code, out := w.Run([]int{0, 2}, "plan", "-detailed-exitcode"); code != 2 ||
		!strings.Contains(out, "module.m.mcpai_host_file.targets[0] will be updated in-place") ||
		!strings.Contains(out, "module.m.mcpai_host_file.rules[0] will be updated in-place") {
		t.Errorf("the plan does not show the drift:\n%s", out)
	}
	w.Run([]int{0}, "apply", "-auto-approve")
	if onHost := h.FileState(t, targetsPath); onHost != managedFile(targets) {
		t.Errorf("targets file after apply:\n%s", onHost)
	}
	if onHost := h.FileState(t, rulesPath); onHost != managedFile(rules) {
		t.Errorf("rules file after apply:\n%s", onHost)
	}
	w.PlanEmpty()

	// New thresholds reach the rules: at 2 s the slow stack's p95 (about
	// 1.2 s) no longer fires; the 5xx ratio (10%) still does at 5%.
	recallModule(t, w, "monitoring", args+`  thresholds = { p95_latency_seconds = 2, error_ratio = 0.05, error_ratio_for = "2m" }
  alert_labels = { severity = "page", team = "api" }
`, "rules", "targets", "alerts", "prometheus_config")
	w.Run([]int{0}, "apply", "-auto-approve")
	parsed = checkRules(t, fileContent(h.FileState(t, rulesPath)), stackCases()...)
	want = []string{
		"APIHigh5xxRatio{service=api@file,severity=page,team=api}",
		"APIServerDown{service=api@file,severity=page,team=api}",
		"PostgresSlowQueries{datname=mcpai,severity=page,team=api}",
	}
	if got := firing(parsed.Cases["degraded"], "service", "datname", "severity", "team"); !slices.Equal(got, want) {
		t.Errorf("with new thresholds a degraded stack fires\n%q\nwant\n%q", got, want)
	}
	for _, g := range parsed.Groups {
		for _, r := range g.Rules {
			if r.Alert == "APIHigh5xxRatio" && (r.For != "2m" || !strings.HasSuffix(r.Expr, "> 0.05")) {
				t.Errorf("APIHigh5xxRatio: for %s, expr %s", r.For, r.Expr)
			}
		}
	}
	w.PlanEmpty()

	w.Run([]int{0}, "destroy", "-auto-approve")
	destroyed = true
	if onHost := h.FileState(t, rulesPath); onHost != "640 root:root\ngroups: []" {
		t.Errorf("destroy left the rules file\n%s\nwant the one from before", onHost)
	}
	if onHost := h.FileState(t, targetsPath); onHost != "absent" {
		t.Errorf("destroy left the targets file:\n%s", onHost)
	}
	if got := h.DirsState(t, dir+"/rules", dir+"/file_sd"); got != "755 root:root directory\nabsent" {
		t.Errorf("after destroy the rules folder (there before) and the targets folder (created): %q", got)
	}
}

// With promtool set, the new rules are checked on the host first: rules
// Prometheus refuses (a label template it cannot parse) fail the apply and
// leave the file as it was.
func TestAccModuleMonitoring_promtool(t *testing.T) {
	if testing.Short() {
		t.Skip("drives the terraform CLI")
	}
	h := acctest.FirstHost(t)
	dir := monitoringDir(t, h, "mcpai-module-monitoring-promtool")
	rulesPath := dir + "/rules/mcpai.yml"
	h.InHost(t, "printf 'groups: []\\n' > "+rulesPath)
	w := callModule(t, "monitoring", fmt.Sprintf(`  host         = %q
  rules_path   = %q
  targets_path = %q
  promtool     = %q
  alert_labels = { team = "{{ $labels.service" }
`, h.Address, rulesPath, dir+"/file_sd/mcpai.yml", promrules(t)))
	_, out := w.Run([]int{1}, "apply", "-auto-approve")
	if !acctest.ErrorWords(`label "team"`).MatchString(out) || !acctest.ErrorWords("unclosed action").MatchString(out) {
		t.Errorf("the apply does not fail with the parser's error:\n%s", out)
	}
	if onHost := h.FileState(t, rulesPath); onHost != "644 root:root\ngroups: []" {
		t.Errorf("refused rules replaced the file:\n%s", onHost)
	}
	w.Run([]int{0}, "destroy", "-auto-approve")
}

// validateOnlyPlan checks that with validate_only and good inputs a module
// plans nothing and makes no SSH attempt on h.
func validateOnlyPlan(t *testing.T, module, args string, h acctest.Host) {
	t.Helper()
	w := callModuleAsProbe(t, module, args+"\nvalidate_only = true\n")
	before := probes(t, h)
	if code, out := w.Run([]int{0, 2}, "plan", "-detailed-exitcode"); code != 0 || !strings.Contains(out, "No changes.") {
		t.Errorf("with validate_only the plan is not empty:\n%s", out)
	}
	if n := probes(t, h) - before; n != 0 {
		t.Errorf("with validate_only the plan tried to log in to %s %d times", h.Name, n)
	}
}

// With validate_only good inputs manage nothing and reach no host (each
// validation is tested in modules/monitoring/tests).
func TestAccModuleMonitoring_validateOnly(t *testing.T) {
	if testing.Short() {
		t.Skip("drives the terraform CLI")
	}
	h := acctest.FirstHost(t)
	validateOnlyPlan(t, "monitoring", fmt.Sprintf("host = %q\nmetrics_endpoints = { api = { targets = [\"127.0.0.1:8001\"] } }", h.Address), h)
}
