package loadtest

import (
	"fmt"
	"strconv"
)

// SLO holds the objectives of a run; a nil field is not checked.
type SLO struct {
	P95MS, P99MS    *float64
	MaxFailureRatio *float64
	MinRPS          *float64
}

// Miss is one objective a run missed, with the measured value.
type Miss struct {
	Objective string // the slo attribute, e.g. "p95_ms"
	Limit     float64
	Measured  float64
}

func (m Miss) String() string {
	rel := "above"
	if m.Objective == "min_rps" {
		rel = "below"
	}
	return fmt.Sprintf("slo.%s: measured %s, %s the objective %s", m.Objective, num(m.Measured), rel, num(m.Limit))
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// Check returns the objectives r misses, in the order of the SLO's fields.
// Percentiles are Locust's, over every request, failed ones included (as
// Locust counts them); max_failure_ratio is what judges failures.
func (s SLO) Check(r Results) []Miss {
	var out []Miss
	if s.P95MS != nil && r.P95 > *s.P95MS {
		out = append(out, Miss{"p95_ms", *s.P95MS, r.P95})
	}
	if s.P99MS != nil && r.P99 > *s.P99MS {
		out = append(out, Miss{"p99_ms", *s.P99MS, r.P99})
	}
	if s.MaxFailureRatio != nil && r.FailureRatio > *s.MaxFailureRatio {
		out = append(out, Miss{"max_failure_ratio", *s.MaxFailureRatio, r.FailureRatio})
	}
	if s.MinRPS != nil && r.RPS < *s.MinRPS {
		out = append(out, Miss{"min_rps", *s.MinRPS, r.RPS})
	}
	return out
}
