// Command demotraefik is a stand-in for Traefik v3, NOT Traefik: the image
// mcpai-demo-traefik:latest (FROM scratch, built static by
// scripts/sandbox.sh) installs it as /usr/local/bin/traefik for the
// api-service module's tests and demo, because Traefik itself cannot be
// built here (see the header of scripts/sandbox.sh). It takes the part of
// Traefik's command line and file-provider configuration that the module
// uses, with Traefik's meaning, and refuses everything else.
//
// Flags, "--key=value" (a boolean also as "--key"), keys in any letter case:
//
//	--entryPoints.<name>.address=[host]:port[/tcp]
//	--providers.file.filename=<path>    --providers.file.watch=<bool>
//	--ping=<bool>                       --ping.entryPoint=<name>
//	--metrics.prometheus=<bool>         --metrics.prometheus.entryPoint=<name>
//	--log.level=TRACE|DEBUG|INFO|WARN|ERROR|FATAL|PANIC  (default ERROR)
//	--accessLog=<bool>
//
// A first argument "traefik" is skipped, so that the image (ENTRYPOINT
// traefik) takes both "<flags>" and "traefik <flags>" as Traefik's does.
// Any other flag or argument: a message on stderr, exit status 1. As in
// Traefik, ping and metrics use the entry point "traefik" (:8080) unless
// told otherwise, setting their entryPoint enables them, and with no entry
// point at all there is "http" on :80. `traefik healthcheck <flags>` asks
// the ping endpoint (exit 0 when it answers 200 "OK"), and `traefik
// version` says what this is.
//
// The file (YAML) holds http.routers.<name> {entryPoints, rule, service}
// and http.services.<name>.loadBalancer {servers: [{url}], healthCheck:
// {path, interval, timeout}}. Unknown keys make the whole file an error
// (logged; the configuration in force stays), as Traefik's decoder does. A
// router whose rule is not PathPrefix(`/...`), or whose service or entry
// point does not exist, and a service with a server URL that is not
// http://host:port, are logged and left out, the rest served. Routers
// without entryPoints are on every entry point; a longer rule wins.
// Services and routers are named "<name>@file" in metrics and logs.
//
// Each service spreads requests round-robin over its healthy servers and
// answers 503 "Service Unavailable" when none is; an unreachable server
// gives 502 "Bad Gateway"; no matching router, 404 "404 page not found".
// Servers start healthy; with a healthCheck, every interval (default 30s;
// timeout 5s) each server gets GET <url><path>, and 2xx/3xx keeps it in,
// anything else takes it out until it answers again. With
// providers.file.watch the file is re-read when it changes (polled every
// 0.5 s); every change builds new balancers, with every server healthy.
//
// On the ping entry point GET /ping answers 200 "OK"; on the metrics entry
// point GET /metrics answers Prometheus text with Traefik's names:
// traefik_config_reloads_total, traefik_entrypoint_requests_total{code,
// entrypoint,method,protocol}, traefik_service_requests_total{code,method,
// protocol,service}, traefik_service_request_duration_seconds{code,method,
// protocol,service} (a histogram, buckets 0.1, 0.3, 1.2, 5) and
// traefik_service_server_up{service,url}. Log lines ("<time> <LVL>
// <message>") and, with --accessLog=true, one access log line per request in
// Traefik's common log format go to stdout; the first line always says that
// this is a stand-in. SIGTERM or SIGINT: stop accepting, let requests
// finish (up to 10 s), exit 0.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

const identity = "traefik stand-in (NOT Traefik): an mcpai demo program that takes Traefik v3's flags " +
	"and file provider for the sandbox's api-service tests"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "traefik" {
		args = args[1:] // a command line that names the program, as Traefik's image takes
	}
	if len(args) > 0 {
		switch args[0] {
		case "version":
			_, _ = fmt.Fprintln(stdout, "Version:      stand-in\n"+identity)
			return 0
		case "healthcheck":
			return healthcheck(args[1:], stdout, stderr)
		}
	}
	c, err := parseFlags(args)
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "traefik (stand-in): %v\n", err)
		return 1
	}
	_, _ = fmt.Fprintln(stdout, identity)
	lns, err := listenAll(c)
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "traefik (stand-in): %v\n", err)
		return 1
	}
	if err := serveAll(ctx, newProxy(c, stdout), lns); err != nil {
		_, _ = fmt.Fprintf(stderr, "traefik (stand-in): %v\n", err)
		return 1
	}
	return 0
}

// listenAll opens every entry point's socket, or none.
func listenAll(c staticConfig) (map[string]net.Listener, error) {
	lns := map[string]net.Listener{}
	for _, name := range sortedKeys(c.EntryPoints) {
		ln, err := net.Listen("tcp", c.EntryPoints[name])
		if err != nil {
			for _, l := range lns {
				_ = l.Close()
			}
			return nil, fmt.Errorf("entry point %s: %w", name, err)
		}
		lns[name] = ln
	}
	return lns, nil
}

// serveAll loads the configuration, serves every entry point and watches
// the file, until ctx ends; then shuts down gracefully.
func serveAll(ctx context.Context, p *proxy, lns map[string]net.Listener) error {
	defer p.close()
	if p.static.File != "" {
		p.load()
		if p.static.Watch {
			go every(ctx, 500*time.Millisecond, p.load) // Traefik uses fsnotify; a poll needs no dependency
		}
	}
	var servers []*http.Server
	errc := make(chan error, len(lns))
	for name, ln := range lns {
		srv := &http.Server{Handler: p.handler(name), ReadHeaderTimeout: 30 * time.Second}
		servers = append(servers, srv)
		p.log.logf(levelInfo, "Starting entry point %s on %s", name, ln.Addr())
		go func() { errc <- srv.Serve(ln) }()
	}
	var failed error
	select {
	case failed = <-errc:
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, srv := range servers {
		if err := srv.Shutdown(shutdown); err != nil && failed == nil {
			failed = err
		}
	}
	if errors.Is(failed, http.ErrServerClosed) {
		failed = nil
	}
	return failed
}

// healthcheck is `traefik healthcheck`: GET /ping on the ping entry point
// of the same flags, on this machine.
func healthcheck(args []string, stdout, stderr io.Writer) int {
	c, err := parseFlags(args)
	if err == nil && !c.Ping {
		err = errors.New("ping is not enabled: add --ping=true")
	}
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "traefik (stand-in) healthcheck: %v\n", err)
		return 1
	}
	host, port, _ := net.SplitHostPort(c.EntryPoints[c.PingEntryPoint]) // checked by parseFlags
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	target := "http://" + net.JoinHostPort(host, port) + "/ping"
	client := http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(target)
	if err == nil {
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("%s answered %s", target, resp.Status)
		}
	}
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "Error calling healthcheck: %v\n", err)
		return 1
	}
	_, _ = fmt.Fprintf(stdout, "OK: %s\n", target)
	return 0
}
