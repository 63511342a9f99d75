package loadtest

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Results are Locust's own statistics of a run: the "Aggregated" row of
// its <prefix>_stats.csv, read as written, never re-derived from samples.
// Times are milliseconds; Locust rounds stored response times (to 2
// significant digits above 100 ms, 3 above 1000 ms), so percentiles carry
// that rounding too.
type Results struct {
	Requests     int64
	Failures     int64
	FailureRatio float64 // Failures / Requests; 1 when nothing was answered
	RPS          float64 // Locust's "Requests/s": requests over the time from the first to the last
	P50, P95     float64
	P99, Max     float64
	Passed       bool // every objective met (true without objectives)
}

// Failure is one line of <prefix>_failures.csv: a kind of failure and how
// often it happened.
type Failure struct {
	Method, Name, Error string
	Occurrences         int64
}

// ParseStats reads the aggregated row of Locust's stats CSV. Columns are
// found by their header, so added or reordered columns do not matter.
func ParseStats(data []byte) (Results, error) {
	rows, col, err := readCSV(data, "Name", "Request Count", "Failure Count", "Requests/s", "50%", "95%", "99%", "Max Response Time")
	if err != nil {
		return Results{}, err
	}
	for _, row := range rows {
		if row[col["Name"]] != "Aggregated" {
			continue
		}
		var r Results
		var errs []string
		integer := func(name string, dst *int64) {
			v, err := strconv.ParseInt(strings.TrimSpace(row[col[name]]), 10, 64)
			if err != nil || v < 0 {
				errs = append(errs, fmt.Sprintf("%s %q", name, row[col[name]]))
			}
			*dst = v
		}
		number := func(name string, dst *float64) {
			s := strings.TrimSpace(row[col[name]])
			if s == "N/A" || s == "" { // no request answered
				*dst = 0
				return
			}
			v, err := strconv.ParseFloat(s, 64)
			if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
				errs = append(errs, fmt.Sprintf("%s %q", name, s))
			}
			*dst = v
		}
		integer("Request Count", &r.Requests)
		integer("Failure Count", &r.Failures)
		number("Requests/s", &r.RPS)
		number("50%", &r.P50)
		number("95%", &r.P95)
		number("99%", &r.P99)
		number("Max Response Time", &r.Max)
		if len(errs) > 0 {
			return Results{}, fmt.Errorf("locust's statistics have values that are not numbers: %s", strings.Join(errs, ", "))
		}
		if r.Failures > r.Requests {
			return Results{}, fmt.Errorf("locust's statistics count %d failures in %d requests", r.Failures, r.Requests)
		}
		r.FailureRatio = 1
		if r.Requests > 0 {
			r.FailureRatio = float64(r.Failures) / float64(r.Requests)
		}
		return r, nil
	}
	return Results{}, fmt.Errorf("locust's statistics have no Aggregated row")
}

// ParseFailures reads Locust's failures CSV, most frequent first.
func ParseFailures(data []byte) ([]Failure, error) {
	rows, col, err := readCSV(data, "Method", "Name", "Error", "Occurrences")
	if err != nil {
		return nil, err
	}
	out := make([]Failure, 0, len(rows))
	for _, row := range rows {
		n, err := strconv.ParseInt(strings.TrimSpace(row[col["Occurrences"]]), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("locust's failures have a count %q that is not a number", row[col["Occurrences"]])
		}
		out = append(out, Failure{Method: row[col["Method"]], Name: row[col["Name"]], Error: row[col["Error"]], Occurrences: n})
	}
	slices.SortStableFunc(out, func(a, b Failure) int { return int(min(max(b.Occurrences-a.Occurrences, -1), 1)) })
	return out, nil
}

// readCSV returns the rows after the header and where each wanted column is.
func readCSV(data []byte, want ...string) ([][]string, map[string]int, error) {
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	all, err := r.ReadAll()
	if err != nil {
		return nil, nil, fmt.Errorf("locust's CSV cannot be read: %w", err)
	}
	if len(all) == 0 {
		return nil, nil, fmt.Errorf("locust's CSV is empty")
	}
	col := map[string]int{}
	for i, h := range all[0] {
		col[strings.TrimSpace(h)] = i
	}
	var missing []string
	for _, w := range want {
		if _, ok := col[w]; !ok {
			missing = append(missing, strconv.Quote(w))
		}
	}
	if len(missing) > 0 {
		return nil, nil, fmt.Errorf("locust's CSV has no column %s (header %q)", strings.Join(missing, ", "), all[0])
	}
	rows := all[1:]
	for i, row := range rows {
		if len(row) != len(all[0]) {
			return nil, nil, fmt.Errorf("locust's CSV row %d has %d fields, the header %d", i+2, len(row), len(all[0]))
		}
	}
	return rows, col, nil
}
