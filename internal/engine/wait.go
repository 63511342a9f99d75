package engine

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/mcpai/terraform-provider-mcpai/internal/modelrunner"
)

// Readiness says how to tell that a started container serves.
type Readiness struct {
	Path string // HTTP path to ask; "" to go by HEALTHCHECK or running
	Port int    // container port of Path
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
	defer stopWatch()
	exited := e.api.ContainerWait(watchCtx, id, client.ContainerWaitOptions{Condition: container.WaitConditionNextExit})
	if start {
		if err := e.Start(ctx, id); err != nil {
			return "", fmt.Errorf("start: %w", err)
		}
	}
	began := time.Now()
	lastProgress := began
	restarts0 := -1
	status := "starting"
	tick := time.NewTicker(r.Interval)
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
			if r.Path != "" && o.Status == "running" {
				if addr, ok := probeAddr(c, r.Port); ok {
					o.Probed = true
					o.HTTPStatus = e.Probe(ctx, addr, r.Path, r.Interval+time.Second)
				}
			}
			v, why := modelrunner.Judge(o)
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
			return "", e.failure(id, fmt.Sprintf("not ready after %s: %s", time.Since(began).Round(time.Second), status), true)
		case res := <-exited.Result:
			return "", e.failure(id, e.exitReason(id, res), false)
		case err := <-exited.Error:
			// The watch failed (e.g. an old engine); inspecting still sees exits.
			_ = err
			exited.Error = nil
		case <-tick.C:
		}
	}
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

// probeAddr is where the container's port answers from its host: the
// loopback with the host's network, else its address on its first network.
func probeAddr(c container.InspectResponse, port int) (string, bool) {
	p := strconv.Itoa(port)
	if c.HostConfig != nil && c.HostConfig.NetworkMode.IsHost() {
		return net.JoinHostPort("127.0.0.1", p), true
	}
	if c.NetworkSettings == nil {
		return "", false
	}
	for _, ep := range c.NetworkSettings.Networks {
		if ep != nil && ep.IPAddress.IsValid() {
			return net.JoinHostPort(ep.IPAddress.String(), p), true
		}
	}
	return "", false
}
