package main

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// backend is one server of a service.
type backend struct {
	url     string
	handler http.Handler // forwards to url
	up      atomic.Bool
}

// balancer spreads requests round-robin over a service's healthy servers.
// Servers start healthy; a health check, where configured, takes them out
// and puts them back.
type balancer struct {
	name    string
	servers []*backend
	next    atomic.Uint64
}

func newBalancer(name string, servers []*backend) *balancer {
	for _, s := range servers {
		s.up.Store(true)
	}
	return &balancer{name: name, servers: servers}
}

// pick returns the next healthy server in turn, nil when none is.
func (b *balancer) pick() *backend {
	n := uint64(len(b.servers))
	for range n {
		s := b.servers[(b.next.Add(1)-1)%n]
		if s.up.Load() {
			return s
		}
	}
	return nil
}

// healthy reports a server's answer to a check: 2xx and 3xx are healthy,
// as in Traefik.
func healthy(status int) bool { return status >= 200 && status < 400 }

// checkHealth probes every server of b once, at the same time, and
// records the results; changed(server, up) is called for each server whose
// state changed.
func (b *balancer) checkHealth(ctx context.Context, client *http.Client, h healthSpec, changed func(*backend, bool)) {
	done := make(chan struct{}, len(b.servers))
	for _, s := range b.servers {
		go func() {
			defer func() { done <- struct{}{} }()
			up := probe(ctx, client, strings.TrimSuffix(s.url, "/")+h.path, h.timeout)
			if ctx.Err() != nil {
				return // stopped (a reload): the result means nothing
			}
			if s.up.Swap(up) != up {
				changed(s, up)
			}
		}()
	}
	for range b.servers {
		<-done
	}
}

func probe(ctx context.Context, client *http.Client, target string, timeout time.Duration) bool {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return false
	}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	_ = resp.Body.Close()
	return healthy(resp.StatusCode)
}

// every runs f every interval until ctx ends, the first time one interval
// from now: the health checks (servers count as healthy until the first,
// as in Traefik) and the file watch.
func every(ctx context.Context, interval time.Duration, f func()) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			f()
		}
	}
}
