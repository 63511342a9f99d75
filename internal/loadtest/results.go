package loadtest

import (
	"encoding/json"
	"fmt"
	"math"
)

// Results are Locust's own final statistics of a run (its "Aggregated"
// entry, as the locustfile writes it when Locust quits), never derived
// again from samples. Times are milliseconds; Locust rounds stored response
// times to 2 significant digits from 100 ms up, so percentiles carry that
// rounding too.
type Results struct {
	Requests     int64
	Failures     int64
	FailureRatio float64 // Failures / Requests; 1 when nothing was sent
	// RPS is Locust's: requests over the time from the start of the run
	// (ramp-up included) to the last request.
	RPS        float64
	P50, P95   float64
	P99, Max   float64
	Passed     bool // every objective met (true without objectives)
	Failed     []Failure
	Exceptions []Exception
}

// Failure is one kind of failed request and how often it happened.
type Failure struct {
	Method      string `json:"method"`
	Name        string `json:"name"`
	Error       string `json:"error"`
	Occurrences int64  `json:"occurrences"`
}

// Exception is an error a task raised (it made no request Locust counted).
type Exception struct {
	Count   int64  `json:"count"`
	Message string `json:"message"`
}

type resultsFile struct {
	Requests   *int64      `json:"requests"`
	Failures   *int64      `json:"failures"`
	RPS        *float64    `json:"rps"`
	P50        *float64    `json:"p50_ms"`
	P95        *float64    `json:"p95_ms"`
	P99        *float64    `json:"p99_ms"`
	Max        *float64    `json:"max_ms"`
	Failed     []Failure   `json:"top_failures"`
	Exceptions []Exception `json:"exceptions"`
}

// ParseResults reads what the locustfile wrote at ResultsPath.
func ParseResults(data []byte) (Results, error) {
	var f resultsFile
	if err := json.Unmarshal(data, &f); err != nil {
		return Results{}, fmt.Errorf("locust's results cannot be read: %w", err)
	}
	var missing []string
	if f.Requests == nil {
		missing = append(missing, "requests")
	}
	if f.Failures == nil {
		missing = append(missing, "failures")
	}
	floats := []struct {
		name string
		p    *float64
	}{{"rps", f.RPS}, {"p50_ms", f.P50}, {"p95_ms", f.P95}, {"p99_ms", f.P99}, {"max_ms", f.Max}}
	for _, v := range floats {
		if v.p == nil {
			missing = append(missing, v.name)
		} else if *v.p < 0 || math.IsNaN(*v.p) || math.IsInf(*v.p, 0) {
			return Results{}, fmt.Errorf("locust's results have %s = %v", v.name, *v.p)
		}
	}
	if len(missing) > 0 {
		return Results{}, fmt.Errorf("locust's results lack %v", missing)
	}
	r := Results{Requests: *f.Requests, Failures: *f.Failures, RPS: *f.RPS, P50: *f.P50, P95: *f.P95, P99: *f.P99, Max: *f.Max,
		Failed: f.Failed, Exceptions: f.Exceptions}
	if r.Requests < 0 || r.Failures < 0 || r.Failures > r.Requests {
		return Results{}, fmt.Errorf("locust's results count %d failures in %d requests", r.Failures, r.Requests)
	}
	r.FailureRatio = 1
	if r.Requests > 0 {
		r.FailureRatio = float64(r.Failures) / float64(r.Requests)
	}
	return r, nil
}
