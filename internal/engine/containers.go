package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"github.com/mcpai/terraform-provider-mcpai/internal/modelrunner"
)

// IsNotFound reports whether err is the engine's "no such object".
func IsNotFound(err error) bool { return cerrdefs.IsNotFound(err) }

// HostInfo is what GET /info says of the host's capacity and GPU support.
type HostInfo struct {
	NCPU     int
	MemTotal int64
	GPU      modelrunner.EngineGPU
}

// Host reads GET /info.
func (e *Engine) Host(ctx context.Context) (HostInfo, error) {
	res, err := e.api.Info(ctx, client.InfoOptions{})
	if err != nil {
		return HostInfo{}, fmt.Errorf("info: %w", err)
	}
	i := res.Info
	g := modelrunner.EngineGPU{DefaultRuntime: i.DefaultRuntime, CDISpecDirs: i.CDISpecDirs, Discovered: i.DiscoveredDevices != nil}
	for name := range i.Runtimes {
		g.Runtimes = append(g.Runtimes, name)
	}
	slices.Sort(g.Runtimes)
	for _, d := range i.DiscoveredDevices {
		if d.Source == modelrunner.DriverCDI {
			g.CDIDevices = append(g.CDIDevices, d.ID)
		}
	}
	return HostInfo{NCPU: i.NCPU, MemTotal: i.MemTotal, GPU: g}, nil
}

// Image is what the engine has of an image.
type Image struct {
	ID string
	// RepoDigests are the image's repository digests (name@sha256:...);
	// DigestFor picks the one of a reference's repository.
	RepoDigests []string
	Cmd         []string // its CMD
	Health      bool     // it has a HEALTHCHECK
	// What containers inherit from it.
	Entrypoint []string
	Env        []string
	Labels     map[string]string
}

// InspectImage returns the local image ref; found is false when absent.
func (e *Engine) InspectImage(ctx context.Context, ref string) (img Image, found bool, err error) {
	res, err := e.api.ImageInspect(ctx, ref)
	if IsNotFound(err) {
		return Image{}, false, nil
	}
	if err != nil {
		return Image{}, false, err
	}
	img.ID = res.ID
	img.RepoDigests = res.RepoDigests
	if c := res.Config; c != nil {
		img.Cmd = c.Cmd
		img.Entrypoint, img.Env, img.Labels = c.Entrypoint, c.Env, c.Labels
		img.Health = c.Healthcheck != nil && len(c.Healthcheck.Test) > 0 && c.Healthcheck.Test[0] != "NONE"
	}
	return img, true, nil
}

// DigestFor returns the repository digest of ref's repository, or "" when
// the engine has none for it (an image built on a host with Docker's
// classic image store). One image can carry digests of several
// repositories; the first would name another registry's copy.
func (img Image) DigestFor(ref string) string {
	want, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return ""
	}
	for _, d := range img.RepoDigests {
		if got, err := reference.ParseNormalizedNamed(d); err == nil && got.Name() == want.Name() {
			return d
		}
	}
	return ""
}

// Pull pulls ref, reporting progress (one line per layer status change),
// with auth the base64 X-Registry-Auth value or "".
func (e *Engine) Pull(ctx context.Context, ref, auth string, progress func(string)) error {
	resp, err := e.api.ImagePull(ctx, ref, client.ImagePullOptions{RegistryAuth: auth})
	if err != nil {
		return err
	}
	last := map[string]string{}
	for msg, err := range resp.JSONMessages(ctx) {
		if err != nil {
			return err
		}
		if msg.Error != nil {
			return errors.New(msg.Error.Message)
		}
		if msg.Status != "" && last[msg.ID] != msg.Status {
			last[msg.ID] = msg.Status
			progress(strings.TrimSpace(msg.ID + " " + msg.Status))
		}
	}
	return nil
}

// Create creates a container named name and connects it to the networks
// after the first; it returns the id.
func (e *Engine) Create(ctx context.Context, name string, cfg *container.Config, host *container.HostConfig, nets *network.NetworkingConfig, more []string) (string, error) {
	res, err := e.api.ContainerCreate(ctx, client.ContainerCreateOptions{Name: name, Config: cfg, HostConfig: host, NetworkingConfig: nets})
	if err != nil {
		return "", err
	}
	for _, n := range more {
		if _, err := e.api.NetworkConnect(ctx, n, client.NetworkConnectOptions{Container: res.ID}); err != nil {
			return res.ID, fmt.Errorf("connect to network %s: %w", n, err)
		}
	}
	return res.ID, nil
}

// Start starts a container.
func (e *Engine) Start(ctx context.Context, id string) error {
	_, err := e.api.ContainerStart(ctx, id, client.ContainerStartOptions{})
	return err
}

// Stop stops a container, giving it timeout to exit before SIGKILL.
func (e *Engine) Stop(ctx context.Context, id string, timeout time.Duration) error {
	secs := int(timeout.Seconds())
	_, err := e.api.ContainerStop(ctx, id, client.ContainerStopOptions{Timeout: &secs})
	return err
}

// Remove removes a container, stopping it first if it runs; "" (none
// was created) and a container already gone are no error.
func (e *Engine) Remove(ctx context.Context, id string) error {
	if id == "" {
		return nil
	}
	_, err := e.api.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true})
	if IsNotFound(err) {
		return nil
	}
	return err
}

// Unpause resumes a paused container.
func (e *Engine) Unpause(ctx context.Context, id string) error {
	_, err := e.api.ContainerUnpause(ctx, id, client.ContainerUnpauseOptions{})
	return err
}

// Rename renames a container.
func (e *Engine) Rename(ctx context.Context, id, name string) error {
	_, err := e.api.ContainerRename(ctx, id, client.ContainerRenameOptions{NewName: name})
	return err
}

// Update changes a container's resources and restart policy in place.
func (e *Engine) Update(ctx context.Context, id string, u container.UpdateConfig) error {
	_, err := e.api.ContainerUpdate(ctx, id, client.ContainerUpdateOptions{Resources: &u.Resources, RestartPolicy: &u.RestartPolicy})
	return err
}

// Inspect inspects a container by name or id; found is false when absent.
func (e *Engine) Inspect(ctx context.Context, ref string) (c container.InspectResponse, found bool, err error) {
	res, err := e.api.ContainerInspect(ctx, ref, client.ContainerInspectOptions{})
	if IsNotFound(err) {
		return container.InspectResponse{}, false, nil
	}
	if err != nil {
		return container.InspectResponse{}, false, err
	}
	return res.Container, true, nil
}

// Logs returns the last n lines of a container's output, stdout and
// stderr interleaved as written.
func (e *Engine) Logs(ctx context.Context, id string, n int) (string, error) {
	rc, err := e.api.ContainerLogs(ctx, id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Tail: fmt.Sprint(n)})
	if err != nil {
		return "", err
	}
	defer func() { _ = rc.Close() }()
	var out bytes.Buffer
	// Without a TTY the stream is multiplexed; both go to one buffer, in order.
	if _, err := stdcopy.StdCopy(&out, &out, io.LimitReader(rc, 1<<20)); err != nil {
		return out.String(), err
	}
	return out.String(), nil
}

// Probe asks http://addr+path once, through the engine host's network,
// and returns the status code (0 when nothing answered).
func (e *Engine) Probe(ctx context.Context, addr, path string, timeout time.Duration) int {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tr := &http.Transport{
		DialContext:       func(ctx context.Context, _, a string) (net.Conn, error) { return e.dial(ctx, "tcp", a) },
		DisableKeepAlives: true,
	}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		return 0
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return 0
	}
	defer func() { _ = resp.Body.Close() }()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode
}
