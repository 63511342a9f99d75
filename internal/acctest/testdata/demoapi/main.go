// Command demoapi is the demo stand-in for a FastAPI app served by uvicorn:
// the image mcpai-demo-api:latest (FROM scratch, built static by
// scripts/sandbox.sh) installs it as /usr/local/bin/uvicorn, so that the
// api-service module runs it with uvicorn's own command line. It is a Go
// program of this project, not uvicorn, and runs no Python.
//
//	uvicorn <module:attribute> [--host H] [--port N] [--workers N]
//	        [--loop auto|asyncio|uvloop] [--http auto|h11|httptools]
//	        [--access-log | --no-access-log] [--timeout-keep-alive S]
//	        [--backlog N]
//
// Options take "--opt value" or "--opt=value". Anything else is refused as
// uvicorn (click) refuses it: "Usage: uvicorn [OPTIONS] APP", a hint, then
// "Error: No such option: --x" (or what is wrong with a value) on stderr,
// exit status 2. An APP that is not "<module>:<attribute>" exits 1 before
// listening, as uvicorn does when it cannot import it.
//
// --workers N runs N accept loops (goroutines) in one process, not N
// processes: each on its own socket bound to the same address with
// SO_REUSEPORT, so the kernel spreads new connections over them; GET / says
// which one served the request.
// --timeout-keep-alive closes idle keep-alive connections after that many
// seconds. --loop, --http and --backlog are checked and reported only (Go's
// listen takes the kernel's somaxconn as its backlog).
//
// It answers:
//
//	GET /health         200 {"status":"ok"}
//	GET /               200, the effective settings: app, host, port,
//	                    workers, loop, http, access_log, timeout_keep_alive,
//	                    backlog, plus pid, hostname, worker (1..N) and server
//	GET /metrics        Prometheus text: http_requests_total{method,path,status}
//	                    and http_request_duration_seconds{method,path}
//	                    (path is the route: /, /health, /metrics, /slow,
//	                    /status/{code}, or "none" for a 404)
//	GET /slow?ms=N      sleeps N ms (0..600000), then 200 {"slept_ms":N}
//	GET /status/<code>  answers <code> (200..599), {"status":<code>}
//
// Other paths answer 404 {"detail":"Not Found"}, other methods 405
// {"detail":"Method Not Allowed"}, bad parameters 422, as FastAPI would.
// Startup and shutdown lines go to stderr and, unless --no-access-log, an
// access log line per request to stdout, in uvicorn's format:
// `INFO:     <client> - "GET /health HTTP/1.1" 200 OK`. SIGTERM or SIGINT
// stops accepting, lets requests in flight finish (up to 10 s), exits 0.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mcpai/terraform-provider-mcpai/internal/acctest/testdata/promtext"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseArgs(args)
	var usage usageError
	switch {
	case errors.Is(err, errHelp):
		_, _ = io.WriteString(stdout, helpText)
		return 0
	case errors.As(err, &usage):
		_, _ = fmt.Fprintf(stderr, "%s\nTry 'uvicorn --help' for help.\n\nError: %s\n", usageLine, usage.msg)
		return 2
	}
	if p := appProblem(o.App); p != "" {
		_, _ = fmt.Fprintln(stderr, "ERROR:    "+p)
		return 1
	}
	lns, err := listen(o)
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "ERROR:    error while attempting to bind on address %s: %v\n",
			net.JoinHostPort(o.Host, strconv.Itoa(o.Port)), err)
		return 1
	}
	s := newServer(o, stdout)
	_, _ = fmt.Fprintf(stderr, "INFO:     Started server process [%d]\n", s.pid)
	_, _ = fmt.Fprintf(stderr, "INFO:     mcpai demo stand-in for uvicorn (not uvicorn): app %s, %d worker accept loop(s), loop %s, http %s\n",
		o.App, o.Workers, o.Loop, o.HTTP)
	_, _ = fmt.Fprintf(stderr, "INFO:     Demo API running on http://%s (Press CTRL+C to quit)\n", lns[0].Addr())
	if err := serve(ctx, lns, s, time.Duration(o.TimeoutKeepAlive)*time.Second); err != nil {
		_, _ = fmt.Fprintf(stderr, "ERROR:    %v\n", err)
		return 1
	}
	_, _ = fmt.Fprintf(stderr, "INFO:     Shutting down\nINFO:     Finished server process [%d]\n", s.pid)
	return 0
}

// listen opens one socket per worker on o's address, all with
// SO_REUSEPORT (the first picks the port when o.Port is 0).
func listen(o options) ([]net.Listener, error) {
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
		}); err != nil {
			return err
		}
		return serr
	}}
	addr := net.JoinHostPort(o.Host, strconv.Itoa(o.Port))
	var lns []net.Listener
	for range o.Workers {
		ln, err := lc.Listen(context.Background(), "tcp", addr)
		if err != nil {
			for _, l := range lns {
				_ = l.Close()
			}
			return nil, err
		}
		lns = append(lns, ln)
		addr = ln.Addr().String()
	}
	return lns, nil
}

// serve runs one accept loop per listener until ctx ends, then shuts down
// gracefully: it stops accepting and waits for requests in flight.
// keepAlive is how long an idle keep-alive connection stays open (0: none).
func serve(ctx context.Context, lns []net.Listener, h http.Handler, keepAlive time.Duration) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       keepAlive,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			if wc, ok := c.(workerConn); ok {
				return context.WithValue(ctx, workerKey{}, wc.worker)
			}
			return ctx
		},
	}
	if keepAlive == 0 {
		srv.SetKeepAlivesEnabled(false)
	}
	errc := make(chan error, len(lns))
	for i, ln := range lns {
		go func() { errc <- srv.Serve(workerListener{ln, i + 1}) }()
	}
	select {
	case err := <-errc:
		_ = srv.Close()
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
}

// workerListener is one worker's socket: it tags the connections it
// accepts with the worker's number.
type workerListener struct {
	net.Listener
	worker int
}

func (l workerListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return workerConn{c, l.worker}, nil
}

type workerConn struct {
	net.Conn
	worker int
}

type workerKey struct{}

type server struct {
	opts     options
	pid      int
	hostname string
	access   io.Writer // nil with --no-access-log
	accessMu sync.Mutex
	metrics  promtext.Registry
	requests *promtext.Vec
	duration *promtext.Vec
}

func newServer(o options, stdout io.Writer) *server {
	s := &server{opts: o, pid: os.Getpid()}
	s.hostname, _ = os.Hostname()
	if o.AccessLog {
		s.access = stdout
	}
	s.requests = s.metrics.Counter("http_requests_total", "Total number of requests by method, path and status.",
		"method", "path", "status")
	s.duration = s.metrics.Histogram("http_request_duration_seconds", "Duration of requests in seconds, by method and path.",
		promtext.DefaultBuckets, "method", "path")
	return s
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	route := s.handle(rec, r)
	status := strconv.Itoa(rec.status)
	s.requests.Add(1, r.Method, route, status)
	s.duration.Observe(time.Since(start).Seconds(), r.Method, route)
	if s.access != nil {
		s.accessMu.Lock()
		_, _ = fmt.Fprintf(s.access, "INFO:     %s - \"%s %s HTTP/%d.%d\" %d %s\n", r.RemoteAddr, r.Method, r.URL.RequestURI(),
			r.ProtoMajor, r.ProtoMinor, rec.status, http.StatusText(rec.status))
		s.accessMu.Unlock()
	}
}

// handle answers r and returns its route for the metrics.
func (s *server) handle(w http.ResponseWriter, r *http.Request) string {
	path := r.URL.Path
	var route string
	switch {
	case path == "/", path == "/health", path == "/metrics", path == "/slow":
		route = path
	case strings.HasPrefix(path, "/status/") && !strings.Contains(path[len("/status/"):], "/"):
		route = "/status/{code}"
	default:
		writeJSON(w, http.StatusNotFound, map[string]string{"detail": "Not Found"})
		return "none"
	}
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"detail": "Method Not Allowed"})
		return route
	}
	switch route {
	case "/health":
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	case "/":
		s.settings(w, r)
	case "/metrics":
		s.metrics.ServeHTTP(w, r)
	case "/slow":
		slow(w, r)
	default:
		status(w, path[len("/status/"):])
	}
	return route
}

func (s *server) settings(w http.ResponseWriter, r *http.Request) {
	worker, _ := r.Context().Value(workerKey{}).(int)
	writeJSON(w, http.StatusOK, struct {
		options
		PID      int    `json:"pid"`
		Hostname string `json:"hostname"`
		Worker   int    `json:"worker"`
		Server   string `json:"server"`
	}{s.opts, s.pid, s.hostname, worker, "mcpai-demo-api (stand-in for uvicorn)"})
}

func slow(w http.ResponseWriter, r *http.Request) {
	ms, err := strconv.Atoi(r.URL.Query().Get("ms"))
	if err != nil || ms < 0 || ms > 600000 {
		unprocessable(w, "ms must be an integer from 0 to 600000")
		return
	}
	select {
	case <-time.After(time.Duration(ms) * time.Millisecond):
		writeJSON(w, http.StatusOK, map[string]int{"slept_ms": ms})
	case <-r.Context().Done(): // the client went away
	}
}

func status(w http.ResponseWriter, raw string) {
	code, err := strconv.Atoi(raw)
	if err != nil || code < 200 || code > 599 {
		unprocessable(w, "code must be an HTTP status from 200 to 599")
		return
	}
	writeJSON(w, code, map[string]int{"status": code})
}

func unprocessable(w http.ResponseWriter, msg string) {
	writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"detail": msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
