// Command registry is the process of the sandbox's test image
// mcpai-registry:test (FROM scratch, built static by scripts/sandbox.sh,
// ENTRYPOINT ["/registry"], EXPOSE 5000): an OCI distribution registry
// (github.com/google/go-containerregistry/pkg/registry) that keeps
// everything in memory, so each container starts empty and forgets all on
// exit. It speaks plain HTTP only; dockerd pulls from and pushes to it over
// HTTP where the registry's address is an insecure one, which 127.0.0.0/8
// is by default, so a container of it published on the host's loopback
// (docker run -p 127.0.0.1:<port>:5000) serves that host's dockerd.
//
// The environment sets its behaviour:
//
//	MCPAI_REGISTRY_LISTEN    listen address, default ":5000"
//	MCPAI_REGISTRY_USER      with MCPAI_REGISTRY_PASSWORD: every request
//	MCPAI_REGISTRY_PASSWORD  needs HTTP basic auth with these credentials;
//	                         one without them, or with others, gets 401 with
//	                         `WWW-Authenticate: Basic realm="mcpai"` and an
//	                         UNAUTHORIZED error body (set one without the
//	                         other: exit 2)
//
// It prints "registry: listening on <address> (basic auth: yes|no)" when it
// accepts connections, then one line per request on stderr (method, URL and,
// for an error, its status and code; "401 UNAUTHORIZED" for refused
// credentials). SIGTERM or SIGINT: exit 0 at once. A failed listen: exit 1.
package main

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
)

func main() {
	addr := os.Getenv("MCPAI_REGISTRY_LISTEN")
	if addr == "" {
		addr = ":5000"
	}
	user, password := os.Getenv("MCPAI_REGISTRY_USER"), os.Getenv("MCPAI_REGISTRY_PASSWORD")
	if (user == "") != (password == "") {
		fmt.Fprintln(os.Stderr, "registry: set both MCPAI_REGISTRY_USER and MCPAI_REGISTRY_PASSWORD, or neither")
		os.Exit(2)
	}
	logger := log.New(os.Stderr, "registry: ", log.LstdFlags)
	h := registry.New(registry.Logger(logger))
	if user != "" {
		h = basicAuth(h, user, password, logger)
	}

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "registry:", err)
		os.Exit(1)
	}
	fmt.Printf("registry: listening on %s (basic auth: %s)\n", ln.Addr(), map[bool]string{true: "yes", false: "no"}[user != ""])
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, "registry:", err)
		os.Exit(1)
	}
}

// basicAuth lets through only requests with these credentials.
func basicAuth(next http.Handler, user, password string, logger *log.Logger) http.Handler {
	// Compare hashes, so that the comparison takes the same time whatever
	// the lengths.
	wantUser, wantPassword := sha256.Sum256([]byte(user)), sha256.Sum256([]byte(password))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if ok {
			gotUser, gotPassword := sha256.Sum256([]byte(u)), sha256.Sum256([]byte(p))
			ok = subtle.ConstantTimeCompare(gotUser[:], wantUser[:])&subtle.ConstantTimeCompare(gotPassword[:], wantPassword[:]) == 1
		}
		if !ok {
			logger.Printf("%s %s 401 UNAUTHORIZED", r.Method, r.URL)
			w.Header().Set("WWW-Authenticate", `Basic realm="mcpai"`)
			w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = fmt.Fprintln(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required","detail":null}]}`)
			return
		}
		next.ServeHTTP(w, r)
	})
}
