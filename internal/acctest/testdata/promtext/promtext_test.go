package promtext

import (
	"net/http/httptest"
	"strings"
	"testing"
)

func TestWriteTo(t *testing.T) {
	tests := []struct {
		name string
		fill func(r *Registry)
		want string
	}{
		{
			name: "nothing observed writes nothing",
			fill: func(r *Registry) { r.Counter("c_total", "never used", "a") },
			want: "",
		},
		{
			name: "counter series sorted by label values, escaped",
			fill: func(r *Registry) {
				c := r.Counter("http_requests_total", "Requests.\nAll of them.", "method", "path")
				c.Add(1, "POST", "/x")
				c.Add(2, "GET", `/a"b\c`)
				c.Add(0.5, "GET", `/a"b\c`)
			},
			want: `# HELP http_requests_total Requests.\nAll of them.
# TYPE http_requests_total counter
http_requests_total{method="GET",path="/a\"b\\c"} 2.5
http_requests_total{method="POST",path="/x"} 1
`,
		},
		{
			name: "gauge without labels, set twice",
			fill: func(r *Registry) {
				g := r.Gauge("up", "Up.")
				g.Set(1)
				g.Set(0)
			},
			want: "# HELP up Up.\n# TYPE up gauge\nup 0\n",
		},
		{
			name: "histogram buckets are cumulative, le inclusive, +Inf last",
			fill: func(r *Registry) {
				h := r.Histogram("d_seconds", "D.", []float64{0.1, 0.3, 1.2}, "code")
				for _, x := range []float64{0.05, 0.1, 0.2, 2} {
					h.Observe(x, "200")
				}
			},
			want: `# HELP d_seconds D.
# TYPE d_seconds histogram
d_seconds_bucket{code="200",le="0.1"} 2
d_seconds_bucket{code="200",le="0.3"} 3
d_seconds_bucket{code="200",le="1.2"} 3
d_seconds_bucket{code="200",le="+Inf"} 4
d_seconds_sum{code="200"} 2.35
d_seconds_count{code="200"} 4
`,
		},
		{
			name: "families in the order they were made; reset drops series",
			fill: func(r *Registry) {
				b := r.Gauge("b", "B.", "url")
				a := r.Counter("a_total", "A.")
				b.Set(1, "http://old")
				b.Reset()
				b.Set(1, "http://new")
				a.Add(3)
			},
			want: "# HELP b B.\n# TYPE b gauge\nb{url=\"http://new\"} 1\n# HELP a_total A.\n# TYPE a_total counter\na_total 3\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r Registry
			tt.fill(&r)
			var b strings.Builder
			if _, err := r.WriteTo(&b); err != nil {
				t.Fatal(err)
			}
			if b.String() != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", b.String(), tt.want)
			}
		})
	}
}

func TestServeHTTP(t *testing.T) {
	var r Registry
	r.Counter("x_total", "X.").Add(1)
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if ct := rec.Header().Get("Content-Type"); ct != "text/plain; version=0.0.4; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if !strings.Contains(rec.Body.String(), "\nx_total 1\n") {
		t.Errorf("body %q", rec.Body.String())
	}
}

func TestWrongLabelCountPanics(t *testing.T) {
	var r Registry
	c := r.Counter("c_total", "C.", "a", "b")
	defer func() {
		if recover() == nil {
			t.Error("no panic for one value of two labels")
		}
	}()
	c.Add(1, "only-one")
}
