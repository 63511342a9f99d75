package provider

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/mcpai/terraform-provider-mcpai/internal/acctest"
)

const accLoadAddr = "mcpai_load_test.test"

// loadTarget runs the demo API (its /slow?ms=N sleeps N ms, /status/<code>
// answers that code) on the host's network at 127.0.0.1:port for the
// test, and returns its base URL as the host sees it.
func loadTarget(t *testing.T, h acctest.Host, name string, port int) string {
	t.Helper()
	if h.LocustImage == "" {
		t.Fatalf("%s has no Locust image in hosts.json: run scripts/sandbox.sh up 2", h.Name)
	}
	clearContainers(t, h, name)
	h.Docker(t, "run", "-d", "--name", name, "--network", "host", acctest.DemoAPIImage,
		"uvicorn", "main:app", "--host", "127.0.0.1", "--port", strconv.Itoa(port), "--no-access-log")
	return fmt.Sprintf("http://127.0.0.1:%d", port)
}

func loadConfig(t *testing.T, h acctest.Host, body string) string {
	return acctest.ProviderBlock(t) + fmt.Sprintf(`
resource "mcpai_load_test" "test" {
  ssh   = { host = %q }
  image = %q
%s
}
`, h.Address, h.LocustImage, body)
}

// noLoadContainer: no container with the load-test label is on the host.
func noLoadContainer(t *testing.T, h acctest.Host) func(*terraform.State) error {
	return func(*terraform.State) error {
		if out := h.Docker(t, "ps", "-a", "--filter", "label="+loadTestLabel, "--format", "{{.Names}}"); out != "" {
			return fmt.Errorf("load containers left on the host: %s", out)
		}
		return nil
	}
}

// results reads the results object from the state.
func loadResults(s *terraform.State) (map[string]float64, error) {
	rs, ok := s.RootModule().Resources[accLoadAddr]
	if !ok {
		return nil, fmt.Errorf("%s not in state", accLoadAddr)
	}
	out := map[string]float64{}
	for _, k := range []string{"requests", "failures", "failure_ratio", "rps", "p50_ms", "p95_ms", "p99_ms", "max_ms"} {
		v, err := strconv.ParseFloat(rs.Primary.Attributes["results."+k], 64)
		if err != nil {
			return nil, fmt.Errorf("results.%s = %q", k, rs.Primary.Attributes["results."+k])
		}
		out[k] = v
	}
	return out, nil
}

// TestAccLoadTest_measures: against a server with a known delay, Locust's
// p50 is within a few milliseconds of it and its rps agrees with
// requests/duration; an endpoint that always fails gives failure_ratio 1;
// a missed objective fails the apply naming the measured value; a
// triggers change runs the test again; no load container is ever left.
func TestAccLoadTest_measures(t *testing.T) {
	h := dockerHosts(t)[0]
	target := loadTarget(t, h, "acc-load-target", 18090)
	const delayMS, duration = 40, 8
	body := func(path, extra string) string {
		return fmt.Sprintf(`  target   = %q
  users    = 4
  duration = "%ds"
  tasks    = [{ path = %q }]
%s`, target, duration, path, extra)
	}
	slow := fmt.Sprintf("/slow?ms=%d", delayMS)
	var firstID string
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy:             noLoadContainer(t, h),
		Steps: []resource.TestStep{
			{
				Config: loadConfig(t, h, body(slow, `  slo = { p95_ms = 1000, max_failure_ratio = 0 }
  triggers = { stack = "v1" }`)),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(accLoadAddr, tfjsonpath.New("results").AtMapKey("passed"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(accLoadAddr, tfjsonpath.New("results").AtMapKey("failures"), knownvalue.Int64Exact(0)),
				},
				Check: resource.ComposeTestCheckFunc(noLoadContainer(t, h), func(s *terraform.State) error {
					r, err := loadResults(s)
					if err != nil {
						return err
					}
					t.Logf("measured against a %d ms delay: %v", delayMS, r)
					// Locust times the request from the load container: the
					// delay plus loopback and Python's own overhead.
					if r["p50_ms"] < delayMS || r["p50_ms"] > delayMS+8 {
						return fmt.Errorf("p50 %g ms, want within a few ms above the server's %d ms", r["p50_ms"], delayMS)
					}
					if r["p95_ms"] < r["p50_ms"] || r["p99_ms"] < r["p95_ms"] || r["max_ms"] < r["p99_ms"] {
						return fmt.Errorf("percentiles out of order: %v", r)
					}
					// Locust's rps is requests over the time from the start of
					// the run to the last request, which ends a little before
					// the duration does: so between requests/duration and
					// requests/(duration - 1.5 s).
					low, high := r["requests"]/duration, r["requests"]/(duration-1.5)
					if r["requests"] < 100 || r["rps"] < 0.95*low || r["rps"] > high {
						return fmt.Errorf("rps %g does not agree with requests/duration: %g requests in %d s, want %g to %g", r["rps"], r["requests"], duration, low, high)
					}
					firstID = s.RootModule().Resources[accLoadAddr].Primary.ID
					return nil
				}),
			},
			{
				// A triggers change runs it again: a new run id, new results.
				Config: loadConfig(t, h, body(slow, `  slo = { p95_ms = 1000, max_failure_ratio = 0 }
  triggers = { stack = "v2" }`)),
				Check: resource.ComposeTestCheckFunc(noLoadContainer(t, h), func(s *terraform.State) error {
					if id := s.RootModule().Resources[accLoadAddr].Primary.ID; id == firstID || id == "" {
						return fmt.Errorf("the run id %q did not change from %q: the test did not run again", id, firstID)
					}
					_, err := loadResults(s)
					return err
				}),
			},
			{
				// An endpoint that always fails: ratio 1, recorded with a
				// warning under on_slo_miss = "warn".
				Config: loadConfig(t, h, body("/status/500", `  slo = { max_failure_ratio = 0.01 }
  on_slo_miss = "warn"`)),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(accLoadAddr, tfjsonpath.New("results").AtMapKey("failure_ratio"), knownvalue.Float64Exact(1)),
					statecheck.ExpectKnownValue(accLoadAddr, tfjsonpath.New("results").AtMapKey("passed"), knownvalue.Bool(false)),
				},
				Check: noLoadContainer(t, h),
			},
			{
				// A missed objective fails the apply with the measured value.
				Config: loadConfig(t, h, body(slow, `  slo = { p95_ms = 5, min_rps = 100000 }`)),
				ExpectError: errorParts("Load Test Missed Its Objectives", "missed 2 objective", "slo.p95_ms: measured", "above the objective 5",
					"slo.min_rps: measured", "below the objective 100000", "Nothing was recorded"),
			},
			{
				PreConfig:   func() { _ = noLoadContainer(t, h)(nil) },
				Config:      loadConfig(t, h, body(slow, "")),
				ImportState: true, ResourceName: accLoadAddr, ImportStateId: "x",
				ExpectError: errorParts("does not support import"),
			},
		},
	})
}

// TestAccLoadTest_badInputs: every bad input is refused before any load,
// naming the attribute; an unreachable target fails at once with the
// reason; and nothing is left on the host.
func TestAccLoadTest_badInputs(t *testing.T) {
	h := dockerHosts(t)[0]
	target := loadTarget(t, h, "acc-load-target-bad", 18091)
	cfg := func(users, duration, tasks, extra string) string {
		return loadConfig(t, h, fmt.Sprintf("  target = %q\n  users = %s\n  duration = %q\n  tasks = %s\n%s", target, users, duration, tasks, extra))
	}
	ok := `[{ path = "/health" }]`
	plan := func(config string, want ...string) resource.TestStep {
		return resource.TestStep{Config: config, PlanOnly: true, ExpectError: errorParts(want...)}
	}
	// A stale container a killed run left (its deadline has passed) is
	// removed by the next run; a current one of another run is not.
	stale, current := "mcpai-load-stale0000", "mcpai-load-current00"
	clearContainers(t, h, stale, current)
	h.Docker(t, "create", "--name", stale, "--label", loadTestLabel+"=stale", "--label", loadTestDeadlineLabel+"=2026-01-01T00:00:00Z", h.DockerImage)
	h.Docker(t, "create", "--name", current, "--label", loadTestLabel+"=current", "--label",
		loadTestDeadlineLabel+"="+time.Now().Add(time.Hour).UTC().Format(time.RFC3339), h.DockerImage)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			plan(cfg("0", "5s", ok, ""), "users", "between 1 and 10000"),
			plan(cfg("2", "11m", ok, ""), "Invalid Duration", "duration", "whole seconds between 1s and 10m"),
			plan(cfg("2", "1.5s", ok, ""), "Invalid Duration", "duration"),
			plan(strings.Replace(cfg("2", "5s", ok, ""), target, "ftp://127.0.0.1/", 1), "Invalid Target", "target", "http:// or https://"),
			plan(cfg("2", "5s", `[{ path = "health" }]`, ""), "Invalid Path", "tasks[0].path", "must start with /"),
			plan(cfg("2", "5s", `[{ path = "/", method = "FETCH" }]`, ""), "tasks[0].method", "value must be one of"),
			plan(cfg("2", "5s", `[{ path = "/", weight = 0 }]`, ""), "tasks[0].weight", "between 1 and 1000"),
			plan(cfg("2", "5s", `[{ path = "/", body = "x" }]`, ""), "Invalid Load Test", "tasks[0].body", "GET request has no body"),
			plan(cfg("2", "5s", `[{ method = "POST", path = "/", headers = { "Bad Name" = "x" } }]`, ""), "tasks[0].headers", "not a header name"),
			plan(cfg("2", "5s", ok, `  wait_time = { min = "3s", max = "1s" }`), "Invalid Load Test", "wait_time", "min <= max"),
			plan(cfg("2", "5s", ok, `  slo = { max_failure_ratio = 2 }`), "slo.max_failure_ratio", "between 0"),
			plan(cfg("2", "5s", ok, `  on_slo_miss = "ignore"`), "on_slo_miss", "value must be one of"),
			plan(cfg("2", "5s", `[]`, ""), "tasks", "at least 1"),
			{
				// Nothing listens on port 1: refused before any load.
				Config:      strings.Replace(cfg("2", "5s", ok, ""), target, "http://127.0.0.1:1", 1),
				ExpectError: errorParts("Load Test Target Not Reachable", "http://127.0.0.1:1", "does not accept connections from", "Nothing was run"),
			},
			{
				Config:      strings.Replace(cfg("2", "5s", ok, ""), h.LocustImage, "127.0.0.1:5999/mcpai/absent:v1", 1),
				ExpectError: errorParts("Load Test Image Not Available", "127.0.0.1:5999/mcpai/absent:v1", "pulling it failed", "Nothing was run"),
			},
			{
				// A good run after all that: the stale leftover is gone, the
				// current one stays.
				Config: cfg("2", "2s", ok, ""),
				Check: func(*terraform.State) error {
					names := h.Docker(t, "ps", "-a", "--filter", "label="+loadTestLabel, "--format", "{{.Names}}")
					if names != current {
						return fmt.Errorf("load containers after the run: %q, want only %s", names, current)
					}
					return nil
				},
			},
		},
	})
}
