package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"

	"github.com/mcpai/terraform-provider-mcpai/internal/engine"
)

// waitEngine waits up to timeout for the engine to answer, then checks
// that it is the engine asked for: "current" (built from the module
// proxy, version "library-import") or "distribution" (Debian's 20.10).
func waitEngine(ctx context.Context, eng *engine.Engine, kind string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := eng.Ping(pctx)
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("dockerd does not answer after %s: %w", timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	version, err := eng.Version(ctx)
	if err != nil {
		return fmt.Errorf("GET /version: %w", err)
	}
	return checkEngineVersion(kind, version)
}

// checkEngineVersion reports whether version is that of the engine kind.
func checkEngineVersion(kind, version string) error {
	var ok bool
	var want string
	switch kind {
	case "current":
		want = "library-import"
		ok = version == want
	case "distribution":
		want = "20.10.*"
		ok = strings.HasPrefix(version, "20.10.")
	default:
		return fmt.Errorf("unknown engine kind %q (current or distribution)", kind)
	}
	if !ok {
		return fmt.Errorf("dockerd is version %q, expected %q (%s engine)", version, want, kind)
	}
	return nil
}

const sleeperReply = "mcpai-sleeper"

// probeContainer checks that a container of the test image starts and
// runs, and answers on a port published on the host's address addr
// (docker-proxy; the current engine needs its own); then it is removed.
func probeContainer(ctx context.Context, eng *engine.Engine, addr netip.Addr) error {
	const name = "mcpai-sandbox-probe"
	port := network.MustParsePort("8080/tcp")
	_ = eng.Remove(ctx, name)
	id, err := eng.Create(ctx, name,
		&container.Config{Image: sleeperImage, Cmd: []string{":8080"}, ExposedPorts: network.PortSet{port: {}}},
		&container.HostConfig{PortBindings: network.PortMap{port: {{HostIP: addr}}}}, nil, nil)
	if err != nil {
		return fmt.Errorf("creating a container of %s: %w", sleeperImage, err)
	}
	probeErr := func() error {
		if err := eng.Start(ctx, id); err != nil {
			return fmt.Errorf("starting a container of %s: %w", sleeperImage, err)
		}
		c, _, err := eng.Inspect(ctx, id)
		if err != nil {
			return fmt.Errorf("inspecting the probe container: %w", err)
		}
		state := "unknown"
		if c.State != nil {
			state = string(c.State.Status)
		}
		if state != string(container.StateRunning) {
			return fmt.Errorf("the probe container is %q, not running", state)
		}
		hostPort := publishedPort(c, port)
		if hostPort == "" {
			return errors.New("the probe container has no published port")
		}
		target := net.JoinHostPort(addr.String(), hostPort)
		var reply string
		for range 50 { // up to 5 s for the program's listener
			if reply = readReply(ctx, target); reply == sleeperReply {
				return nil
			}
			time.Sleep(100 * time.Millisecond)
		}
		return fmt.Errorf("the probe container does not answer on its published port %s (got %q)", target, reply)
	}()
	if err := eng.Remove(ctx, id); err != nil {
		return errors.Join(probeErr, fmt.Errorf("removing the probe container: %w", err))
	}
	return probeErr
}

// publishedPort is the host port of the container's first binding of
// port, or "".
func publishedPort(c container.InspectResponse, port network.Port) string {
	if c.NetworkSettings == nil {
		return ""
	}
	if b := c.NetworkSettings.Ports[port]; len(b) > 0 {
		return b[0].HostPort
	}
	return ""
}

// readReply is what target sends before it closes the connection (at
// most 2 s and 4 KiB), without its trailing newline.
func readReply(ctx context.Context, target string) string {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", target)
	if err != nil {
		return ""
	}
	defer func() { _ = conn.Close() }()
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	b, _ := io.ReadAll(io.LimitReader(conn, 4096))
	return strings.TrimRight(string(b), "\n")
}

// probeGPU checks the mock NVIDIA stack: a container of the test image
// with `--gpus all` (a DeviceRequest for capability "gpu", which only the
// "nvidia" device driver takes) starts, and the hook logged its id with
// NVIDIA_VISIBLE_DEVICES=all in hookLog. Then it is removed.
func probeGPU(ctx context.Context, eng *engine.Engine, hookLog string) error {
	const name = "mcpai-sandbox-gpu-probe"
	_ = eng.Remove(ctx, name)
	id, err := eng.Create(ctx, name, &container.Config{Image: sleeperImage},
		&container.HostConfig{Resources: container.Resources{DeviceRequests: []container.DeviceRequest{{Count: -1, Capabilities: [][]string{{"gpu"}}}}}}, nil, nil)
	if err != nil {
		return fmt.Errorf("creating a container of %s with --gpus all: %w", sleeperImage, err)
	}
	startErr := eng.Start(ctx, id)
	if err := eng.Remove(ctx, id); err != nil {
		return errors.Join(startErr, fmt.Errorf("removing the GPU probe container: %w", err))
	}
	if startErr != nil {
		return fmt.Errorf("starting a container of %s with --gpus all (mock NVIDIA hook): %w", sleeperImage, startErr)
	}
	logged, err := hasLine(hookLog, id+" NVIDIA_VISIBLE_DEVICES=all NVIDIA_DRIVER_CAPABILITIES=<unset>")
	if err != nil {
		return err
	}
	if !logged {
		return fmt.Errorf("the mock NVIDIA hook did not log container %s in %s", id, hookLog)
	}
	return nil
}

// hasLine reports whether file p has the line want.
func hasLine(p, want string) (bool, error) {
	f, err := os.Open(p)
	if err != nil {
		return false, err
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if sc.Text() == want {
			return true, nil
		}
	}
	return false, sc.Err()
}

// mockCDIDevices are the CDI devices of the mock NVIDIA stack's spec.
var mockCDIDevices = []string{"nvidia.com/gpu=0", "nvidia.com/gpu=1", "nvidia.com/gpu=all"}

// checkCDI checks that the engine discovered exactly the mock CDI devices.
func checkCDI(ctx context.Context, eng *engine.Engine) error {
	info, err := eng.Host(ctx)
	if err != nil {
		return err
	}
	got := slices.Sorted(slices.Values(info.GPU.CDIDevices))
	if !slices.Equal(got, mockCDIDevices) {
		return fmt.Errorf("dockerd's CDI devices are %q, expected %q", got, mockCDIDevices)
	}
	return nil
}

// engineFor is a client of the engine listening on the unix socket sock.
func engineFor(sock string) (*engine.Engine, error) {
	if !path.IsAbs(sock) {
		return nil, fmt.Errorf("socket %q: an absolute path is needed", sock)
	}
	return engine.NewHost("unix://" + sock)
}
