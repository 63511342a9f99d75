package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"strconv"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"github.com/mcpai/terraform-provider-mcpai/internal/modelrunner"
)

// Readiness says how to tell that a started container serves.
type Readiness struct {
	Path string // HTTP path to ask; "" to go by HEALTHCHECK or running
	Port int    // container port of Path
	// Settle: with neither Path nor a HEALTHCHECK, how long the container
	// must keep running to count as ready (0: running is ready).
	Settle time.Duration
	// Interval between looks; readiness is seen at most this long (plus
	// one round trip) after it happens.
	Interval time.Duration
	// Progress is called every ProgressEvery with the time waited and what
	// the last look saw.
	Progress      func(waited time.Duration, status string)
	ProgressEvery time.Duration
}

// WaitError is a start that failed or timed out, with the container's last
// log lines.
type WaitError struct {
	Why      string
	TimedOut bool
	Logs     []string
}

func (e *WaitError) Error() string { return e.Why }

// logLines is how many of the container's last log lines an error carries.
const logLines = 20

// WaitReady waits until container id is ready, has failed, or ctx ends;
// with start, it starts the container first. An exit is noticed as it
// happens (a next-exit wait registered before the start), also when a
// restart policy starts the container again at once.
func (e *Engine) WaitReady(ctx context.Context, id string, r Readiness, start bool) (string, error) {
	watchCtx, stopWatch := context.WithCancel(ctx)
	exited := e.api.ContainerWait(watchCtx, id, client.ContainerWaitOptions{Condition: container.WaitConditionNextExit})
	watched := true // the watch has not reported yet
	defer func() {
		stopWatch()
		if watched {
			// Its goroutine still has one thing to say (an exit that came
			// just now, or the cancel), and would block on it for ever.
			go drain(exited)
		}
	}()
	if start {
		if err := e.Start(ctx, id); err != nil {
			return "", fmt.Errorf("start: %w", err)
		}
	}
	interval := r.Interval
	if interval <= 0 {
		interval = defaultInterval
	}
	began := time.Now()
	lastProgress := began
	restarts0 := -1
	status := "starting"
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		c, found, err := e.Inspect(ctx, id)
		switch {
		case err != nil && ctx.Err() == nil:
			return "", fmt.Errorf("inspect: %w", err)
		case err == nil && !found:
			return "", &WaitError{Why: "the container was removed while starting"}
		case err == nil:
			o := observe(c, &restarts0)
			o.Settle, o.Watched = r.Settle, time.Since(began)
			unreachable := false
			if r.Path != "" && o.Status == "running" {
				addr, ok := e.probeTarget(c, r.Port)
				// Without an address the endpoint cannot be asked, which is
				// not the same as having none to ask: it is not ready.
				o.Probed, unreachable = true, !ok
				if ok {
					o.HTTPStatus = e.Probe(ctx, addr, r.Path, interval+time.Second)
				}
			}
			v, why := modelrunner.Judge(o)
			if unreachable && v == modelrunner.Waiting {
				// A container's networks do not change while it runs: waiting
				// would only wait out the timeout.
				why := fmt.Sprintf("its readiness endpoint (port %d, %s) cannot be reached: the container has no IP address "+
					"on any network (network mode %q); give it a network with an address", r.Port, r.Path, networkMode(c))
				if e.remoteHost != "" {
					why = fmt.Sprintf("its readiness endpoint (port %d, %s) cannot be reached from here: with a tcp:// docker_host the "+
						"probe goes to the host port it is published on, and port %d/tcp is not published; add it to ports", r.Port, r.Path, r.Port)
				}
				return "", e.failure(id, why, false)
			}
			status = why
			switch v {
			case modelrunner.Ready:
				return why, nil
			case modelrunner.Failed:
				return "", e.failure(id, why, false)
			}
		}
		if r.Progress != nil && time.Since(lastProgress) >= r.ProgressEvery {
			lastProgress = time.Now()
			r.Progress(time.Since(began).Round(time.Second), status)
		}
		select {
		case <-ctx.Done():
			waited := time.Since(began).Round(time.Second)
			if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
				// Interrupted (Ctrl-C), not out of time.
				return "", e.failure(id, fmt.Sprintf("the wait was interrupted after %s: %s", waited, status), false)
			}
			return "", e.failure(id, fmt.Sprintf("not ready after %s: %s", waited, status), true)
		case res := <-exited.Result:
			watched = false
			return "", e.failure(id, e.exitReason(id, res), false)
		case err := <-exited.Error:
			// The watch failed (e.g. an old engine); inspecting still sees exits.
			_ = err
			watched = false
			exited.Error = nil
		case <-tick.C:
		}
	}
}

// defaultInterval is the readiness poll interval when the caller gives none.
const defaultInterval = 250 * time.Millisecond

// drain takes the last word of a cancelled wait, so its goroutine (and the
// connection it holds) ends.
func drain(w client.ContainerWaitResult) {
	select {
	case <-w.Result:
	case err := <-w.Error:
		_ = err // the cancel's own
	}
}

func networkMode(c container.InspectResponse) string {
	if c.HostConfig == nil {
		return ""
	}
	return string(c.HostConfig.NetworkMode)
}

// failure builds a WaitError with the container's last log lines, read with
// a context of its own (the wait's may have ended).
func (e *Engine) failure(id, why string, timedOut bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	we := &WaitError{Why: why, TimedOut: timedOut}
	if logs, err := e.Logs(ctx, id, logLines); err == nil {
		we.Logs = modelrunner.LastLines(logs, logLines)
	} else if !errors.Is(err, context.DeadlineExceeded) {
		we.Logs = []string{"(its logs could not be read: " + err.Error() + ")"}
	}
	return we
}

// exitReason says how the container exited, with what inspect adds.
func (e *Engine) exitReason(id string, res container.WaitResponse) string {
	o := modelrunner.Observation{Status: "exited", ExitCode: int(res.StatusCode)}
	if res.Error != nil {
		o.Error = res.Error.Message
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if c, found, err := e.Inspect(ctx, id); err == nil && found && c.State != nil {
		o.OOMKilled = c.State.OOMKilled
		if c.State.Restarting || c.State.Running {
			o.Status = "restarting"
		}
	}
	_, why := modelrunner.Judge(o)
	return why
}

func observe(c container.InspectResponse, restarts0 *int) modelrunner.Observation {
	var o modelrunner.Observation
	if *restarts0 < 0 {
		*restarts0 = c.RestartCount
	}
	o.Restarts = c.RestartCount - *restarts0
	if s := c.State; s != nil {
		o.Status = string(s.Status)
		o.ExitCode = s.ExitCode
		o.OOMKilled = s.OOMKilled
		o.Error = s.Error
		if s.Health != nil {
			o.Health = string(s.Health.Status)
		}
	}
	return o
}

// probeTarget is where a probe reaches the container's port: through the
// engine's host (probeAddr), or for a remote tcp:// engine, at the host
// port it is published on.
func (e *Engine) probeTarget(c container.InspectResponse, port int) (string, bool) {
	if e.remoteHost == "" {
		return probeAddr(c, port)
	}
	return publishedAddr(c, e.remoteHost, port)
}

// publishedAddr is host:the host port that container port is published on.
func publishedAddr(c container.InspectResponse, host string, port int) (string, bool) {
	if c.NetworkSettings == nil {
		return "", false
	}
	if port < 1 || port > 65535 {
		return "", false
	}
	p, ok := network.PortFrom(uint16(port), network.TCP) //nolint:gosec // range checked above
	if !ok {
		return "", false
	}
	for _, b := range c.NetworkSettings.Ports[p] {
		if b.HostPort != "" {
			return net.JoinHostPort(host, b.HostPort), true
		}
	}
	return "", false
}

// probeAddr is where the container's port answers from its host: the
// loopback with the host's network, else its address on a network: the one
// of its network mode first, then the others by name (the engine's map has
// no order); on each, IPv4 before a global IPv6 address.
func probeAddr(c container.InspectResponse, port int) (string, bool) {
	p := strconv.Itoa(port)
	if c.HostConfig != nil && c.HostConfig.NetworkMode.IsHost() {
		return net.JoinHostPort("127.0.0.1", p), true
	}
	if c.NetworkSettings == nil {
		return "", false
	}
	names := slices.Sorted(maps.Keys(c.NetworkSettings.Networks))
	if i := slices.Index(names, networkMode(c)); i > 0 {
		names = append(append([]string{names[i]}, names[:i]...), names[i+1:]...)
	}
	for _, n := range names {
		ep := c.NetworkSettings.Networks[n]
		switch {
		case ep == nil:
		case ep.IPAddress.IsValid() && !ep.IPAddress.IsUnspecified():
			return net.JoinHostPort(ep.IPAddress.String(), p), true
		case ep.GlobalIPv6Address.IsValid() && !ep.GlobalIPv6Address.IsUnspecified():
			return net.JoinHostPort(ep.GlobalIPv6Address.String(), p), true
		}
	}
	return "", false
}
