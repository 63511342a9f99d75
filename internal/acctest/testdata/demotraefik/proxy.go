package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mcpai/terraform-provider-mcpai/internal/acctest/testdata/promtext"
)

// proxy is the running stand-in: the configuration its entry points
// serve, the file it comes from, and the metrics.
type proxy struct {
	static    staticConfig
	log       *logger
	access    io.Writer // nil without --accessLog
	accessMu  sync.Mutex
	requestNo atomic.Uint64
	transport *http.Transport // to the servers
	checker   *http.Client    // health checks

	metrics       promtext.Registry
	reloads       *promtext.Vec
	entryRequests *promtext.Vec
	requests      *promtext.Vec
	durations     *promtext.Vec
	serverUp      *promtext.Vec

	mu          sync.Mutex // one load at a time
	lastFile    []byte     // the content last read, applied or refused
	readProblem string     // why the file could not be read last time
	stopCheck   context.CancelFunc
	current     atomic.Pointer[routing]
}

// routing is an applied configuration: each entry point's routes, highest
// priority first.
type routing struct {
	routes map[string][]route
}

type route struct {
	routeSpec
	lb *balancer
}

// Traefik's default buckets for its request duration histograms.
var traefikBuckets = []float64{0.1, 0.3, 1.2, 5}

func newProxy(c staticConfig, stdout io.Writer) *proxy {
	p := &proxy{static: c, log: newLogger(stdout, c.LogLevel)}
	if c.AccessLog {
		p.access = stdout
	}
	p.transport = &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 200, IdleConnTimeout: 90 * time.Second,
		DialContext: (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 15 * time.Second}).DialContext}
	p.checker = &http.Client{
		Transport:     &http.Transport{Proxy: nil, DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	p.reloads = p.metrics.Counter("traefik_config_reloads_total", "Config reloads")
	p.entryRequests = p.metrics.Counter("traefik_entrypoint_requests_total",
		"How many HTTP requests processed on an entrypoint, partitioned by status code, protocol, and method.",
		"code", "entrypoint", "method", "protocol")
	p.requests = p.metrics.Counter("traefik_service_requests_total",
		"How many HTTP requests processed on a service, partitioned by status code, protocol, and method.",
		"code", "method", "protocol", "service")
	p.durations = p.metrics.Histogram("traefik_service_request_duration_seconds",
		"How long it took to process the request on a service, partitioned by status code, protocol, and method.",
		traefikBuckets, "code", "method", "protocol", "service")
	p.serverUp = p.metrics.Gauge("traefik_service_server_up", "service server is up, described by gauge value of 0 or 1.",
		"service", "url")
	p.current.Store(&routing{})
	return p
}

// load reads the configuration file and applies it when its content
// changed. A file that cannot be read or decoded is logged and leaves the
// configuration as it is.
func (p *proxy) load() {
	p.mu.Lock()
	defer p.mu.Unlock()
	data, err := os.ReadFile(p.static.File)
	if err != nil {
		if err.Error() != p.readProblem { // once, not at every poll
			p.log.logf(levelError, "Cannot read the configuration file: %v", err)
			p.readProblem = err.Error()
		}
		p.lastFile = nil
		return
	}
	p.readProblem = ""
	if p.lastFile != nil && string(data) == string(p.lastFile) {
		return
	}
	p.lastFile = data
	c, err := parseFile(data)
	if err != nil {
		p.log.logf(levelError, "Error while building configuration from file %s: %v", p.static.File, err)
		return
	}
	p.apply(makePlan(c, sortedKeys(p.static.EntryPoints)))
}

// apply serves pl from now on: new balancers (servers healthy at first),
// health checks of the old ones stopped.
func (p *proxy) apply(pl plan) {
	for _, problem := range pl.problems {
		p.log.logf(levelError, "%s", problem)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if p.stopCheck != nil {
		p.stopCheck()
	}
	p.stopCheck = cancel
	p.serverUp.Reset()
	balancers := map[string]*balancer{}
	for name, s := range pl.services {
		var backends []*backend
		for _, raw := range s.servers {
			u, _ := url.Parse(raw) // checked by makePlan
			backends = append(backends, &backend{url: raw, handler: p.forwarder(u)})
			p.serverUp.Set(1, name, raw)
		}
		lb := newBalancer(name, backends)
		balancers[name] = lb
		if s.health != nil {
			h := *s.health
			go every(ctx, h.interval, func() { lb.checkHealth(ctx, p.checker, h, p.serverChanged(name)) })
		}
	}
	rt := &routing{routes: map[string][]route{}}
	for ep, specs := range pl.routes {
		for _, s := range specs {
			rt.routes[ep] = append(rt.routes[ep], route{s, balancers[s.service]})
		}
	}
	p.current.Store(rt)
	p.reloads.Add(1)
	p.log.logf(levelInfo, "Configuration applied: %d router(s) on %d entry point(s), %d service(s)",
		countRoutes(rt), len(rt.routes), len(balancers))
}

// serverChanged logs a server of service that a health check took out or
// put back, and sets its gauge.
func (p *proxy) serverChanged(service string) func(*backend, bool) {
	return func(b *backend, up bool) {
		if up {
			p.log.logf(levelWarn, "Health check up: returning to server list. service=%s url=%s", service, b.url)
			p.serverUp.Set(1, service, b.url)
		} else {
			p.log.logf(levelWarn, "Health check failed, removing from server list. service=%s url=%s", service, b.url)
			p.serverUp.Set(0, service, b.url)
		}
	}
}

func countRoutes(rt *routing) int {
	seen := map[string]bool{}
	for _, rs := range rt.routes {
		for _, r := range rs {
			seen[r.router] = true
		}
	}
	return len(seen)
}

func (p *proxy) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopCheck != nil {
		p.stopCheck()
	}
	p.transport.CloseIdleConnections()
}

// forwarder proxies to target, passing the client's Host header and adding
// X-Forwarded-*, as Traefik does by default.
func (p *proxy) forwarder(target *url.URL) http.Handler {
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host
			pr.SetXForwarded()
		},
		Transport: p.transport,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			code := http.StatusBadGateway
			if errors.Is(err, context.Canceled) {
				code = 499 // the client went away (nginx's and Traefik's code)
			}
			p.log.logf(levelDebug, "%d %s for %s %s: %v", code, http.StatusText(code), r.Method, target, err)
			w.WriteHeader(code)
			_, _ = io.WriteString(w, http.StatusText(code))
		},
	}
}

// recorder remembers the status and size of a response.
type recorder struct {
	http.ResponseWriter
	status int
	size   int
}

func (r *recorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	n, err := r.ResponseWriter.Write(b)
	r.size += n
	return n, err
}

// handler serves entry point ep: ping and metrics where they are, then the
// routes, longest rule first.
func (p *proxy) handler(ep string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		router, server := p.serve(ep, rec, r)
		code := strconv.Itoa(rec.status)
		p.entryRequests.Add(1, code, ep, r.Method, "http")
		if p.access != nil {
			p.accessLog(r, rec, router, server, time.Since(start))
		}
	})
}

// serve answers r on entry point ep and returns the router and the server
// that did ("" for none).
func (p *proxy) serve(ep string, w *recorder, r *http.Request) (router, server string) {
	switch {
	case p.static.Ping && ep == p.static.PingEntryPoint && r.URL.Path == "/ping":
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		} else {
			_, _ = io.WriteString(w, "OK")
		}
		return "ping@internal", ""
	case p.static.Prometheus && ep == p.static.PrometheusEntryPoint && r.URL.Path == "/metrics":
		p.metrics.ServeHTTP(w, r)
		return "prometheus@internal", ""
	}
	for _, rt := range p.current.Load().routes[ep] {
		if !strings.HasPrefix(r.URL.Path, rt.prefix) {
			continue
		}
		start := time.Now()
		s := rt.lb.pick()
		if s == nil {
			http.Error(w, http.StatusText(http.StatusServiceUnavailable), http.StatusServiceUnavailable)
		} else {
			s.handler.ServeHTTP(w, r)
			server = s.url
		}
		code := strconv.Itoa(w.status)
		p.requests.Add(1, code, r.Method, "http", rt.service)
		p.durations.Observe(time.Since(start).Seconds(), code, r.Method, "http", rt.service)
		return rt.router, server
	}
	http.NotFound(w, r)
	return "", ""
}

// accessLog writes one line in Traefik's common log format: client, time,
// request line, status, size, referer, user agent, request number, router,
// server, duration.
func (p *proxy) accessLog(r *http.Request, rec *recorder, router, server string, d time.Duration) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	line := fmt.Sprintf("%s - - [%s] %q %d %d %q %q %d %q %q %dms\n", host, time.Now().Format("02/Jan/2006:15:04:05 -0700"),
		r.Method+" "+r.URL.RequestURI()+" "+r.Proto, rec.status, rec.size, orDash(r.Referer()), orDash(r.UserAgent()),
		p.requestNo.Add(1), orDash(router), orDash(server), d.Milliseconds())
	p.accessMu.Lock()
	defer p.accessMu.Unlock()
	_, _ = io.WriteString(p.access, line)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// logger writes Traefik-like log lines, "<time> <LVL> <message>", at or
// above its level.
type logger struct {
	mu  sync.Mutex
	w   io.Writer
	min int
}

const (
	levelTrace = iota
	levelDebug
	levelInfo
	levelWarn
	levelError
)

var levelCodes = []string{"TRC", "DBG", "INF", "WRN", "ERR", "FTL", "PNC"}

func newLogger(w io.Writer, level string) *logger {
	l := &logger{w: w, min: levelError}
	for i, name := range logLevels {
		if name == level {
			l.min = i
		}
	}
	return l
}

func (l *logger) logf(level int, format string, a ...any) {
	if level < l.min {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = fmt.Fprintf(l.w, "%s %s %s\n", time.Now().UTC().Format(time.RFC3339), levelCodes[level], fmt.Sprintf(format, a...))
}
