package engine

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"github.com/mcpai/terraform-provider-mcpai/internal/modelrunner"
)

func endpoint(v4, v6 string) *network.EndpointSettings {
	ep := &network.EndpointSettings{}
	if v4 != "" {
		ep.IPAddress = netip.MustParseAddr(v4)
	}
	if v6 != "" {
		ep.GlobalIPv6Address = netip.MustParseAddr(v6)
	}
	return ep
}

func inspected(mode string, nets map[string]*network.EndpointSettings) container.InspectResponse {
	c := container.InspectResponse{HostConfig: &container.HostConfig{NetworkMode: container.NetworkMode(mode)}}
	if nets != nil {
		c.NetworkSettings = &container.NetworkSettings{Networks: nets}
	}
	return c
}

func TestProbeAddr(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    container.InspectResponse
		port int
		want string // "" when there is nowhere to probe
	}{
		{"host network: the loopback", inspected("host", map[string]*network.EndpointSettings{"host": {}}), 8000, "127.0.0.1:8000"},
		{"host network without network settings", inspected("host", nil), 11434, "127.0.0.1:11434"},
		{"bridge", inspected("bridge", map[string]*network.EndpointSettings{"bridge": endpoint("172.17.0.2", "")}), 8000, "172.17.0.2:8000"},
		{"default mode", inspected("default", map[string]*network.EndpointSettings{"bridge": endpoint("172.17.0.3", "")}), 80, "172.17.0.3:80"},
		{"user-defined network", inspected("models", map[string]*network.EndpointSettings{"models": endpoint("10.5.0.7", "")}), 8000, "10.5.0.7:8000"},
		// The network mode's network, not whichever the map gives first.
		{"several networks: the mode's", inspected("zeta", map[string]*network.EndpointSettings{
			"alpha": endpoint("10.1.0.2", ""), "zeta": endpoint("10.9.0.2", ""), "mid": endpoint("10.5.0.2", "")}), 8000, "10.9.0.2:8000"},
		{"several networks, the mode's without an address: by name", inspected("zeta", map[string]*network.EndpointSettings{
			"mid": endpoint("10.5.0.2", ""), "zeta": {}, "alpha": endpoint("10.1.0.2", "")}), 8000, "10.1.0.2:8000"},
		{"IPv6-only network", inspected("v6", map[string]*network.EndpointSettings{"v6": endpoint("", "fd00:1::2")}), 8000, "[fd00:1::2]:8000"},
		{"IPv4 before IPv6", inspected("dual", map[string]*network.EndpointSettings{"dual": endpoint("10.0.0.2", "fd00::2")}), 8000, "10.0.0.2:8000"},
		{"an unspecified address is none", inspected("bridge", map[string]*network.EndpointSettings{"bridge": endpoint("0.0.0.0", "")}), 8000, ""},
		{"no network", inspected("none", map[string]*network.EndpointSettings{"none": {}}), 8000, ""},
		{"another container's network", inspected("container:abc", map[string]*network.EndpointSettings{}), 8000, ""},
		{"no network settings", inspected("bridge", nil), 8000, ""},
		{"a nil endpoint", inspected("bridge", map[string]*network.EndpointSettings{"bridge": nil}), 8000, ""},
		{"no host config", container.InspectResponse{NetworkSettings: &container.NetworkSettings{
			Networks: map[string]*network.EndpointSettings{"bridge": endpoint("172.17.0.4", "")}}}, 8000, "172.17.0.4:8000"},
	} {
		got, ok := probeAddr(tc.c, tc.port)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("%s: probeAddr = %q, %v; want %q", tc.name, got, ok, tc.want)
		}
	}
}

func state(status container.ContainerState, restarts int) container.InspectResponse {
	return container.InspectResponse{RestartCount: restarts, State: &container.State{Status: status}}
}

func TestObserveRestarts(t *testing.T) {
	// The first look sets the count the wait began with; later looks count
	// restarts since.
	restarts0 := -1
	for i, tc := range []struct {
		c    container.InspectResponse
		want int
	}{
		{state(container.StateRunning, 3), 0},
		{state(container.StateRunning, 3), 0},
		{state(container.StateRestarting, 4), 1},
		{state(container.StateRunning, 6), 3},
	} {
		if o := observe(tc.c, &restarts0); o.Restarts != tc.want || restarts0 != 3 {
			t.Errorf("look %d: Restarts = %d (began with %d), want %d", i, o.Restarts, restarts0, tc.want)
		}
	}
	// A restart counted is a failed start.
	o := observe(state(container.StateRunning, 4), &restarts0)
	if v, why := modelrunner.Judge(o); v != modelrunner.Failed {
		t.Errorf("a restart while starting judged %v (%s)", v, why)
	}
	// A fresh wait starts from the container's count, whatever it is.
	fresh := -1
	if o := observe(state(container.StateRunning, 7), &fresh); o.Restarts != 0 || fresh != 7 {
		t.Errorf("fresh wait: Restarts = %d, began with %d", o.Restarts, fresh)
	}
}

func TestObserveState(t *testing.T) {
	c := container.InspectResponse{RestartCount: 0, State: &container.State{
		Status: container.StateExited, ExitCode: 137, OOMKilled: true, Error: "oom",
		Health: &container.Health{Status: container.Unhealthy},
	}}
	restarts0 := -1
	want := modelrunner.Observation{Status: "exited", ExitCode: 137, OOMKilled: true, Error: "oom", Health: "unhealthy"}
	if o := observe(c, &restarts0); o != want {
		t.Errorf("observe = %+v, want %+v", o, want)
	}
	// Without a state (an engine that sent none) nothing is claimed.
	restarts0 = -1
	if o := observe(container.InspectResponse{RestartCount: 2}, &restarts0); o != (modelrunner.Observation{}) {
		t.Errorf("observe without a state = %+v", o)
	}
	if v, _ := modelrunner.Judge(modelrunner.Observation{}); v != modelrunner.Waiting {
		t.Errorf("an observation without a state judged %v", v)
	}
}

func TestNetworkMode(t *testing.T) {
	if got := networkMode(container.InspectResponse{}); got != "" {
		t.Errorf("networkMode without a host config = %q", got)
	}
	if got := networkMode(inspected("host", nil)); got != "host" {
		t.Errorf("networkMode = %q", got)
	}
}

// fakeDocker is just enough of the Engine API for WaitReady: ping, start,
// inspect, a next-exit wait that holds its connection open, and logs; and
// a readiness endpoint at 10.0.0.2:8000 behind the same dialer.
type fakeDocker struct {
	t      *testing.T
	mu     sync.Mutex
	status container.ContainerState
	mode   string
	ip     string
	code   int
	probes int
	// readyAfter is the probe that first answers 200 (0: never).
	readyAfter int
	exit       chan int     // an exit the wait reports
	waits      atomic.Int32 // wait requests still open
	api, app   *httptest.Server
}

func newFakeDocker(t *testing.T, mode, ip string) *fakeDocker {
	f := &fakeDocker{t: t, status: container.StateCreated, mode: mode, ip: ip, exit: make(chan int, 1)}
	f.api = httptest.NewServer(http.HandlerFunc(f.serveAPI))
	f.app = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.probes++
		ready := f.readyAfter > 0 && f.probes >= f.readyAfter
		f.mu.Unlock()
		if r.URL.Path != "/health" || !ready {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(func() { f.api.Close(); f.app.Close() })
	return f
}

var apiVersionRE = regexp.MustCompile(`^/v[0-9.]+`)

func (f *fakeDocker) serveAPI(w http.ResponseWriter, r *http.Request) {
	p := apiVersionRE.ReplaceAllString(r.URL.Path, "")
	switch {
	case p == "/_ping":
		w.Header().Set("API-Version", "1.51")
		_, _ = io.WriteString(w, "OK")
	case p == "/containers/c1/start" && r.Method == http.MethodPost:
		f.mu.Lock()
		f.status = container.StateRunning
		f.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	case p == "/containers/c1/wait" && r.Method == http.MethodPost:
		f.waits.Add(1)
		defer f.waits.Add(-1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		select {
		case code := <-f.exit:
			_ = json.NewEncoder(w).Encode(container.WaitResponse{StatusCode: int64(code)})
		case <-r.Context().Done():
		}
	case p == "/containers/c1/json":
		f.mu.Lock()
		c := container.InspectResponse{ID: "c1", State: &container.State{Status: f.status, Running: f.status == container.StateRunning, ExitCode: f.code},
			HostConfig:      &container.HostConfig{NetworkMode: container.NetworkMode(f.mode)},
			NetworkSettings: &container.NetworkSettings{Networks: map[string]*network.EndpointSettings{f.mode: {}}}}
		if f.ip != "" {
			c.NetworkSettings.Networks[f.mode].IPAddress = netip.MustParseAddr(f.ip)
		}
		f.mu.Unlock()
		_ = json.NewEncoder(w).Encode(c)
	case p == "/containers/c1/logs":
		// One stdout frame of the multiplexed stream: stream, 3 zero
		// bytes, the length big-endian.
		msg := "loading weights\nCUDA out of memory\n"
		frame := append([]byte{byte(stdcopy.Stdout), 0, 0, 0}, binary.BigEndian.AppendUint32(nil, uint32(len(msg)))...)
		_, _ = w.Write(append(frame, msg...))
	default:
		f.t.Errorf("unexpected request %s %s", r.Method, r.URL.Path)
		w.WriteHeader(http.StatusNotFound)
	}
}

// engine is a client whose engine socket is the fake API and whose host
// network holds the fake server at 10.0.0.2:8000.
func (f *fakeDocker) engine() *Engine {
	var d net.Dialer
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		switch {
		case network == "unix":
			return d.DialContext(ctx, "tcp", f.api.Listener.Addr().String())
		case addr == "10.0.0.2:8000":
			return d.DialContext(ctx, "tcp", f.app.Listener.Addr().String())
		}
		return nil, fmt.Errorf("connect %s: connection refused", addr)
	}
	e, err := New(dial, "/var/run/docker.sock")
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(e.Close)
	return e
}

// exits makes the container exit with code.
func (f *fakeDocker) exits(code int) {
	f.mu.Lock()
	f.status, f.code = container.StateExited, code
	f.mu.Unlock()
	f.exit <- code
}

// watchClosed waits for the next-exit wait's connection to end.
func (f *fakeDocker) watchClosed(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for f.waits.Load() > 0 {
		if time.Now().After(deadline) {
			t.Fatal("the next-exit wait is still open after WaitReady returned")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

var fastReadiness = Readiness{Path: "/health", Port: 8000, Interval: 20 * time.Millisecond}

func TestWaitReady(t *testing.T) {
	f := newFakeDocker(t, "bridge", "10.0.0.2")
	f.readyAfter = 3
	why, err := f.engine().WaitReady(context.Background(), "c1", fastReadiness, true)
	if err != nil || why != "the endpoint answered 200" {
		t.Fatalf("WaitReady = %q, %v", why, err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.probes != 3 {
		t.Errorf("ready at probe %d, want 3", f.probes)
	}
	f.watchClosed(t)
}

func TestWaitReadyWithoutEndpoint(t *testing.T) {
	f := newFakeDocker(t, "none", "")
	why, err := f.engine().WaitReady(context.Background(), "c1", Readiness{Interval: 20 * time.Millisecond}, true)
	if err != nil || !strings.HasPrefix(why, "running") {
		t.Fatalf("WaitReady without an endpoint = %q, %v", why, err)
	}
	f.watchClosed(t)
}

// With a settle period, running is ready only once it has lasted that
// long; an exit within it fails the wait at once, with the log.
func TestWaitReadySettle(t *testing.T) {
	f := newFakeDocker(t, "none", "")
	settle := Readiness{Interval: 20 * time.Millisecond, Settle: 300 * time.Millisecond}
	began := time.Now()
	why, err := f.engine().WaitReady(context.Background(), "c1", settle, true)
	if err != nil || why != "still running after 300ms (no readiness endpoint or HEALTHCHECK to wait on)" {
		t.Fatalf("WaitReady with a settle period = %q, %v", why, err)
	}
	if took := time.Since(began); took < 300*time.Millisecond {
		t.Errorf("ready after %s, before the settle period", took)
	}
	f.watchClosed(t)

	f = newFakeDocker(t, "none", "")
	time.AfterFunc(100*time.Millisecond, func() { f.exits(0) })
	settle.Settle = time.Hour
	_, err = f.engine().WaitReady(context.Background(), "c1", settle, true)
	if we := waitError(t, err); we.TimedOut || we.Why != "the container exited with code 0" || len(we.Logs) != 2 {
		t.Errorf("exit within the settle period: %+v", we)
	}
	f.watchClosed(t)
}

func waitError(t *testing.T, err error) *WaitError {
	t.Helper()
	var we *WaitError
	if !errors.As(err, &we) {
		t.Fatalf("WaitReady error = %v, want a WaitError", err)
	}
	return we
}

func TestWaitReadyExit(t *testing.T) {
	f := newFakeDocker(t, "bridge", "10.0.0.2")
	time.AfterFunc(200*time.Millisecond, func() { f.exits(3) })
	began := time.Now()
	_, err := f.engine().WaitReady(context.Background(), "c1", Readiness{Path: "/health", Port: 8000, Interval: time.Hour}, true)
	we := waitError(t, err)
	// Seen as it happens, not at the next look an hour on.
	if took := time.Since(began); took > 5*time.Second {
		t.Errorf("the exit was seen after %s", took)
	}
	if we.TimedOut || we.Why != "the container exited with code 3" || !slices.Equal(we.Logs, []string{"loading weights", "CUDA out of memory"}) {
		t.Errorf("WaitReady = %+v", we)
	}
	f.watchClosed(t)
}

// An endpoint that cannot be reached (no address) is not a ready server,
// and waiting would only wait out the timeout.
func TestWaitReadyNoAddress(t *testing.T) {
	for _, mode := range []string{"none", "container:sidecar"} {
		f := newFakeDocker(t, mode, "")
		_, err := f.engine().WaitReady(context.Background(), "c1", fastReadiness, true)
		we := waitError(t, err)
		if we.TimedOut || !strings.Contains(we.Why, "cannot be reached") || !strings.Contains(we.Why, fmt.Sprintf("%q", mode)) {
			t.Errorf("%s: WaitReady = %+v", mode, we)
		}
		f.watchClosed(t)
	}
}

func TestWaitReadyTimeoutAndInterrupt(t *testing.T) {
	f := newFakeDocker(t, "bridge", "10.0.0.2")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := f.engine().WaitReady(ctx, "c1", fastReadiness, true)
	if we := waitError(t, err); !we.TimedOut || !strings.HasPrefix(we.Why, "not ready after") || !strings.Contains(we.Why, "answers 503") {
		t.Errorf("timed out: %+v", we)
	}
	f.watchClosed(t)

	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	_, err = f.engine().WaitReady(ctx, "c1", fastReadiness, false)
	if we := waitError(t, err); we.TimedOut || !strings.HasPrefix(we.Why, "the wait was interrupted after") {
		t.Errorf("interrupted: %+v", we)
	}
	f.watchClosed(t)
}

// An exit that comes just as the wait ends is taken, so the watch's
// goroutine does not block for ever on its unbuffered result.
func TestDrain(t *testing.T) {
	res, errs := make(chan container.WaitResponse), make(chan error, 1)
	sent := make(chan struct{})
	go func() {
		res <- container.WaitResponse{StatusCode: 1}
		close(sent)
	}()
	drain(client.ContainerWaitResult{Result: res, Error: errs})
	select {
	case <-sent:
	case <-time.After(5 * time.Second):
		t.Fatal("the result was not taken")
	}
	errs <- context.Canceled
	drain(client.ContainerWaitResult{Result: res, Error: errs}) // returns
}
