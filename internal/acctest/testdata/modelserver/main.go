// Command modelserver imitates a GPU inference server (vLLM, TGI) for the
// sandbox's test images mcpai-model:ready, :never, :exits and :healthcheck
// (FROM scratch, built static by scripts/sandbox.sh). It needs no GPU.
//
// At start it prints to stdout, one line each:
//
//	modelserver: argv=<JSON array of its arguments>
//	modelserver: NVIDIA_VISIBLE_DEVICES=<value, or <unset>>
//	modelserver: NVIDIA_DRIVER_CAPABILITIES=<value, or <unset>>
//
// Its arguments are otherwise ignored (tests pass flags such as
// --gpu-memory-utilization 0.9). The environment sets its behaviour:
//
//	MODELSERVER_MODE        ready (default): ready after READY_AFTER;
//	                        never: loads for ever;
//	                        exit: after EXIT_AFTER prints
//	                        "modelserver: fatal: CUDA out of memory (simulated)"
//	                        to stderr and exits with EXIT_CODE
//	MODELSERVER_READY_AFTER Go duration, default 2s
//	MODELSERVER_EXIT_AFTER  Go duration, default 1s
//	MODELSERVER_EXIT_CODE   default 3
//	MODELSERVER_LISTEN      comma-separated listen addresses, default ":8000"
//
// Every path on every listen address answers 503 "loading\n" until ready,
// then 200 "ok\n". While loading it prints "modelserver: loading model (Ns)"
// at start and once a second (N: seconds since start); when ready,
// "modelserver: ready". SIGTERM or SIGINT: exit 0 at once. A bad setting:
// a message on stderr and exit 2; a failed listen: exit 1.
//
// "modelserver -probe" (for HEALTHCHECK) does GET /health on 127.0.0.1 at the
// port of the first listen address with a 1 s timeout and exits 0 on 200,
// 1 otherwise, printing nothing.
package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	listen := splitList(env("MODELSERVER_LISTEN", ":8000"))
	if len(os.Args) > 1 && os.Args[1] == "-probe" {
		os.Exit(probe(listen))
	}

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)

	args, _ := json.Marshal(os.Args[1:])
	fmt.Printf("modelserver: argv=%s\n", args)
	for _, k := range []string{"NVIDIA_VISIBLE_DEVICES", "NVIDIA_DRIVER_CAPABILITIES"} {
		fmt.Printf("modelserver: %s=%s\n", k, env(k, "<unset>"))
	}

	mode := env("MODELSERVER_MODE", "ready")
	readyAfter := duration("MODELSERVER_READY_AFTER", 2*time.Second)
	exitAfter := duration("MODELSERVER_EXIT_AFTER", time.Second)
	exitCode, err := strconv.Atoi(env("MODELSERVER_EXIT_CODE", "3"))
	if err != nil {
		fail("MODELSERVER_EXIT_CODE: %v", err)
	}
	if mode != "ready" && mode != "never" && mode != "exit" {
		fail("MODELSERVER_MODE %q: want ready, never or exit", mode)
	}
	if len(listen) == 0 {
		fail("MODELSERVER_LISTEN is empty")
	}

	var ready atomic.Bool
	handler := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if ready.Load() {
			_, _ = fmt.Fprintln(w, "ok")
			return
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = fmt.Fprintln(w, "loading")
	})
	for _, addr := range listen {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			fmt.Fprintf(os.Stderr, "modelserver: %v\n", err)
			os.Exit(1)
		}
		go func() { _ = http.Serve(ln, handler) }()
	}

	start := time.Now()
	var readyC, exitC <-chan time.Time
	switch mode {
	case "ready":
		readyC = time.After(readyAfter)
	case "exit":
		exitC = time.After(exitAfter)
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	if mode != "ready" || readyAfter > 0 {
		fmt.Println("modelserver: loading model (0s)")
	}
	for {
		select {
		case <-stop:
			os.Exit(0)
		case <-readyC:
			readyC = nil
			ready.Store(true)
			tick.Stop()
			fmt.Println("modelserver: ready")
		case <-exitC:
			fmt.Fprintln(os.Stderr, "modelserver: fatal: CUDA out of memory (simulated)")
			os.Exit(exitCode)
		case <-tick.C:
			if !ready.Load() {
				fmt.Printf("modelserver: loading model (%ds)\n", int(time.Since(start).Round(time.Second)/time.Second))
			}
		}
	}
}

// probe is the HEALTHCHECK: 0 if GET /health on the first listen port
// answers 200 within 1 s, else 1.
func probe(listen []string) int {
	if len(listen) == 0 {
		return 1
	}
	_, port, err := net.SplitHostPort(listen[0])
	if err != nil {
		return 1
	}
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get("http://" + net.JoinHostPort("127.0.0.1", port) + "/health")
	if err != nil {
		return 1
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 1
	}
	return 0
}

func env(k, def string) string {
	if v, ok := os.LookupEnv(k); ok {
		return v
	}
	return def
}

func duration(k string, def time.Duration) time.Duration {
	v, ok := os.LookupEnv(k)
	if !ok {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		fail("%s %q: want a Go duration such as 2s", k, v)
	}
	return d
}

func splitList(s string) []string {
	var out []string
	for _, a := range strings.Split(s, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

func fail(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "modelserver: "+format+"\n", a...)
	os.Exit(2)
}
