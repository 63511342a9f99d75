package engine

import (
	"archive/tar"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// fakeBuilder is an Engine API that answers /_ping, /version, /build and
// DELETE /images/<id>, recording the last request's query and body.
type fakeBuilder struct {
	mu      sync.Mutex
	query   url.Values
	path    string
	method  string
	files   []string // the build context's entries
	answer  string   // the build's JSON stream
	version string
}

func (f *fakeBuilder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := apiVersionRE.ReplaceAllString(r.URL.Path, "")
	f.mu.Lock()
	defer f.mu.Unlock()
	f.query, f.path, f.method = r.URL.Query(), p, r.Method
	switch {
	case p == "/_ping":
		w.Header().Set("API-Version", "1.41")
		_, _ = io.WriteString(w, "OK")
	case p == "/version":
		_, _ = io.WriteString(w, `{"Version":"`+f.version+`","ApiVersion":"1.41"}`)
	case p == "/build" && r.Method == http.MethodPost:
		tr := tar.NewReader(r.Body)
		f.files = nil
		for {
			h, err := tr.Next()
			if err != nil {
				break
			}
			f.files = append(f.files, h.Name)
		}
		_, _ = io.WriteString(w, f.answer)
	case strings.HasPrefix(p, "/images/") && r.Method == http.MethodDelete:
		_, _ = io.WriteString(w, `[{"Deleted":"sha256:old"}]`)
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

func newFakeBuilder(t *testing.T) (*fakeBuilder, *Engine) {
	f := &fakeBuilder{version: "20.10.24+dfsg1"}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	var d net.Dialer
	e, err := New(func(ctx context.Context, _, _ string) (net.Conn, error) {
		return d.DialContext(ctx, "tcp", srv.Listener.Addr().String())
	}, "/var/run/docker.sock")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return f, e
}

func contextTar(t *testing.T, names ...string) io.Reader {
	t.Helper()
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		for _, n := range names {
			_ = tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: 1, Typeflag: tar.TypeReg})
			_, _ = tw.Write([]byte("x"))
		}
		_ = pw.CloseWithError(tw.Close())
	}()
	return pr
}

func TestBuild(t *testing.T) {
	f, e := newFakeBuilder(t)
	f.answer = `{"stream":"Step 1/2 : FROM scratch\n"}` + "\n" + `{"stream":"Successfully tagged mcpai-model:ready\n"}` + "\n"
	if err := e.Build(t.Context(), contextTar(t, "Dockerfile.ready", "modelserver"), "mcpai-model:ready", "Dockerfile.ready"); err != nil {
		t.Fatalf("Build: %v", err)
	}
	want := map[string]string{"t": "mcpai-model:ready", "dockerfile": "Dockerfile.ready", "forcerm": "1", "version": "1"}
	for k, v := range want {
		if got := f.query.Get(k); got != v {
			t.Errorf("query %s = %q, want %q (query %v)", k, got, v, f.query)
		}
	}
	// rm is the engine's default; the client sends it only to opt out.
	if f.query.Has("rm") {
		t.Errorf("query has rm=%q: intermediate containers would be kept", f.query.Get("rm"))
	}
	if strings.Join(f.files, " ") != "Dockerfile.ready modelserver" {
		t.Errorf("the engine got context %v", f.files)
	}
}

func TestBuildErrorInStream(t *testing.T) {
	for name, answer := range map[string]string{
		"both":        `{"stream":"Step 1/2 : FROM mcpai-debian-stack:latest\n"}` + "\n" + `{"errorDetail":{"message":"pull access denied"},"error":"pull access denied"}` + "\n",
		"detail only": `{"errorDetail":{"message":"pull access denied"}}`,
		"error only":  `{"error":"pull access denied"}`,
	} {
		t.Run(name, func(t *testing.T) {
			f, e := newFakeBuilder(t)
			f.answer = answer
			err := e.Build(t.Context(), contextTar(t, "Dockerfile"), "mcpai-demo-fastapi:latest", "Dockerfile")
			var be *BuildError
			if !errors.As(err, &be) {
				t.Fatalf("Build = %v, want a *BuildError", err)
			}
			if be.Err != "pull access denied" || be.Tag != "mcpai-demo-fastapi:latest" {
				t.Errorf("BuildError = %+v", be)
			}
			if name == "both" && !strings.Contains(be.Output, "Step 1/2") {
				t.Errorf("BuildError.Output = %q, want the steps before the error", be.Output)
			}
		})
	}
}

func TestBuildBadStream(t *testing.T) {
	f, e := newFakeBuilder(t)
	f.answer = `{"stream":"Step 1/2`
	if err := e.Build(t.Context(), contextTar(t, "Dockerfile"), "x:y", "Dockerfile"); err == nil {
		t.Fatal("Build of a cut-off answer succeeded")
	}
}

func TestRemoveImage(t *testing.T) {
	f, e := newFakeBuilder(t)
	if err := e.RemoveImage(t.Context(), "sha256:old"); err != nil {
		t.Fatal(err)
	}
	if f.method != http.MethodDelete || f.path != "/images/sha256:old" {
		t.Errorf("request %s %s", f.method, f.path)
	}
	// Untagged parents go too, and an image a container uses stays.
	if f.query.Has("noprune") || f.query.Has("force") {
		t.Errorf("query %v, want neither noprune nor force", f.query)
	}
}

func TestPingAndVersion(t *testing.T) {
	f, e := newFakeBuilder(t)
	if err := e.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	v, err := e.Version(t.Context())
	if err != nil || v != f.version {
		t.Errorf("Version = %q, %v; want %q", v, err, f.version)
	}
}
