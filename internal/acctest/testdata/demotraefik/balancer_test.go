package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync/atomic"
	"testing"
	"time"
)

func backends(urls ...string) []*backend {
	var out []*backend
	for _, u := range urls {
		out = append(out, &backend{url: u})
	}
	return out
}

// picks counts which servers n picks choose.
func picks(b *balancer, n int) map[string]int {
	got := map[string]int{}
	for range n {
		s := b.pick()
		if s == nil {
			got["<none>"]++
			continue
		}
		got[s.url]++
	}
	return got
}

func TestPickRoundRobin(t *testing.T) {
	tests := []struct {
		name string
		down []int
		want map[string]int
	}{
		{"all up: even", nil, map[string]int{"a": 4, "b": 4, "c": 4}},
		{"middle down: even over the rest", []int{1}, map[string]int{"a": 6, "c": 6}},
		{"first down", []int{0}, map[string]int{"b": 6, "c": 6}},
		{"one left", []int{0, 2}, map[string]int{"b": 12}},
		{"none left", []int{0, 1, 2}, map[string]int{"<none>": 12}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBalancer("api@file", backends("a", "b", "c"))
			for _, i := range tt.down {
				b.servers[i].up.Store(false)
			}
			if got := picks(b, 12); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	if s := newBalancer("empty@file", nil).pick(); s != nil {
		t.Errorf("a service without servers picked %v", s)
	}
}

func TestHealthy(t *testing.T) {
	for code, want := range map[int]bool{200: true, 204: true, 302: true, 399: true, 199: false, 404: false, 500: false, 503: false} {
		if healthy(code) != want {
			t.Errorf("healthy(%d) = %v", code, !want)
		}
	}
}

// checkHealth takes a failing server out, and puts it back when it answers
// again; a slow one fails on the timeout; a redirect counts as healthy (not
// followed); changes are reported once.
func TestCheckHealth(t *testing.T) {
	var status atomic.Int32
	status.Store(http.StatusOK)
	flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/health" {
			t.Errorf("checked %s, want /health", r.URL.Path)
		}
		w.WriteHeader(int(status.Load()))
	}))
	defer flaky.Close()
	slow := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(2 * time.Second):
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	redirect := httptest.NewServer(http.RedirectHandler("http://203.0.113.1/", http.StatusFound))
	defer redirect.Close()

	p := newProxy(staticConfig{}, nil)
	b := newBalancer("api@file", backends(flaky.URL+"/", slow.URL, redirect.URL))
	h := healthSpec{path: "/health", interval: time.Hour, timeout: 200 * time.Millisecond}
	var changes []string
	check := func() {
		changes = nil
		b.checkHealth(context.Background(), p.checker, h, func(s *backend, up bool) {
			changes = append(changes, s.url+map[bool]string{true: " up", false: " down"}[up])
		})
	}
	ups := func() []bool {
		var out []bool
		for _, s := range b.servers {
			out = append(out, s.up.Load())
		}
		return out
	}

	check()
	if want := []bool{true, false, true}; !reflect.DeepEqual(ups(), want) {
		t.Errorf("after the first check: %v, want %v", ups(), want)
	}
	if want := []string{slow.URL + " down"}; !reflect.DeepEqual(changes, want) {
		t.Errorf("changes %v, want %v", changes, want)
	}
	status.Store(http.StatusServiceUnavailable)
	check()
	if want := []bool{false, false, true}; !reflect.DeepEqual(ups(), want) || len(changes) != 1 {
		t.Errorf("after a 503: %v (changes %v), want %v", ups(), changes, want)
	}
	if got := picks(b, 4); !reflect.DeepEqual(got, map[string]int{redirect.URL: 4}) {
		t.Errorf("picks %v", got)
	}
	status.Store(http.StatusOK)
	check()
	if want := []string{flaky.URL + "/ up"}; !reflect.DeepEqual(changes, want) {
		t.Errorf("changes %v, want %v", changes, want)
	}
}
