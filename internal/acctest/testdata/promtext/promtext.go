// Package promtext keeps counters, gauges and histograms and writes them in
// Prometheus' text exposition format (version 0.0.4). The sandbox's demo
// programs (testdata/demoapi, testdata/demotraefik) use it: they are built
// static into FROM-scratch images and need only these three kinds of metric,
// so they do without a client library.
package promtext

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// DefaultBuckets are the Prometheus client libraries' default histogram
// buckets, in seconds.
var DefaultBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

type kind string

const (
	counter   kind = "counter"
	gauge     kind = "gauge"
	histogram kind = "histogram"
)

// Registry holds metric families and writes them in the order they were
// made.
type Registry struct {
	mu       sync.Mutex
	families []*Vec
}

// Vec is a metric family: one series per combination of label values.
type Vec struct {
	reg     *Registry
	name    string
	help    string
	kind    kind
	labels  []string
	buckets []float64 // histograms: upper bounds, ascending, without +Inf
	series  map[string]*series
}

type series struct {
	values []string
	value  float64  // counter, gauge
	counts []uint64 // histogram: per bucket, not cumulative; the last is +Inf
	sum    float64
	count  uint64
}

// Counter adds a counter family.
func (r *Registry) Counter(name, help string, labels ...string) *Vec {
	return r.add(name, help, counter, nil, labels)
}

// Gauge adds a gauge family.
func (r *Registry) Gauge(name, help string, labels ...string) *Vec {
	return r.add(name, help, gauge, nil, labels)
}

// Histogram adds a histogram family with the given upper bounds (ascending;
// +Inf is implied).
func (r *Registry) Histogram(name, help string, buckets []float64, labels ...string) *Vec {
	if !slices.IsSorted(buckets) {
		panic("promtext: buckets of " + name + " are not ascending")
	}
	return r.add(name, help, histogram, slices.Clone(buckets), labels)
}

func (r *Registry) add(name, help string, k kind, buckets []float64, labels []string) *Vec {
	v := &Vec{reg: r, name: name, help: help, kind: k, labels: labels, buckets: buckets, series: map[string]*series{}}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.families = append(r.families, v)
	return v
}

// at returns the series for values, made on first use; the caller holds
// the registry's lock.
func (v *Vec) at(values []string) *series {
	if len(values) != len(v.labels) {
		panic(fmt.Sprintf("promtext: %s has labels %v, got values %v", v.name, v.labels, values))
	}
	key := strings.Join(values, "\xff")
	s := v.series[key]
	if s == nil {
		s = &series{values: slices.Clone(values)}
		if v.kind == histogram {
			s.counts = make([]uint64, len(v.buckets)+1)
		}
		v.series[key] = s
	}
	return s
}

// Add adds delta to a counter or gauge.
func (v *Vec) Add(delta float64, values ...string) {
	v.reg.mu.Lock()
	defer v.reg.mu.Unlock()
	v.at(values).value += delta
}

// Set sets a gauge.
func (v *Vec) Set(value float64, values ...string) {
	v.reg.mu.Lock()
	defer v.reg.mu.Unlock()
	v.at(values).value = value
}

// Observe records x in a histogram.
func (v *Vec) Observe(x float64, values ...string) {
	v.reg.mu.Lock()
	defer v.reg.mu.Unlock()
	s := v.at(values)
	i, _ := slices.BinarySearch(v.buckets, x) // first bound >= x: "le" is inclusive
	s.counts[i]++
	s.sum += x
	s.count++
}

// Reset drops every series of the family (e.g. gauges of servers that a
// reload removed).
func (v *Vec) Reset() {
	v.reg.mu.Lock()
	defer v.reg.mu.Unlock()
	v.series = map[string]*series{}
}

// WriteTo writes every family with at least one series, series sorted by
// their label values.
func (r *Registry) WriteTo(w io.Writer) (int64, error) {
	r.mu.Lock()
	var b strings.Builder
	for _, v := range r.families {
		v.write(&b)
	}
	r.mu.Unlock()
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}

func (v *Vec) write(b *strings.Builder) {
	if len(v.series) == 0 {
		return
	}
	fmt.Fprintf(b, "# HELP %s %s\n# TYPE %s %s\n", v.name, escapeHelp(v.help), v.name, v.kind)
	keys := make([]string, 0, len(v.series))
	for k := range v.series {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		s := v.series[k]
		if v.kind != histogram {
			fmt.Fprintf(b, "%s%s %s\n", v.name, labelSet(v.labels, s.values, "", ""), formatFloat(s.value))
			continue
		}
		var cum uint64
		for i, c := range s.counts {
			cum += c
			le := math.Inf(1)
			if i < len(v.buckets) {
				le = v.buckets[i]
			}
			fmt.Fprintf(b, "%s_bucket%s %d\n", v.name, labelSet(v.labels, s.values, "le", formatFloat(le)), cum)
		}
		fmt.Fprintf(b, "%s_sum%s %s\n", v.name, labelSet(v.labels, s.values, "", ""), formatFloat(s.sum))
		fmt.Fprintf(b, "%s_count%s %d\n", v.name, labelSet(v.labels, s.values, "", ""), s.count)
	}
}

// ServeHTTP answers with the exposition, as a /metrics endpoint.
func (r *Registry) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	_, _ = r.WriteTo(w)
}

// labelSet renders {name="value",...}, plus extra="extraValue" when extra
// is set; "" when there are no labels at all.
func labelSet(names, values []string, extra, extraValue string) string {
	parts := make([]string, 0, len(names)+1)
	for i, n := range names {
		parts = append(parts, n+`="`+escapeValue(values[i])+`"`)
	}
	if extra != "" {
		parts = append(parts, extra+`="`+escapeValue(extraValue)+`"`)
	}
	if len(parts) == 0 {
		return ""
	}
	return "{" + strings.Join(parts, ",") + "}"
}

var (
	valueEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
)

func escapeValue(s string) string { return valueEscaper.Replace(s) }
func escapeHelp(s string) string  { return helpEscaper.Replace(s) }

func formatFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "+Inf"
	case math.IsInf(f, -1):
		return "-Inf"
	case math.IsNaN(f):
		return "NaN"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}
