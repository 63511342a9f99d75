package modelrunner

import (
	"fmt"
	"strings"
	"time"
)

// Observation is one look at a starting container.
type Observation struct {
	Status    string // the engine's State.Status: created, running, restarting, exited, dead, paused
	ExitCode  int
	OOMKilled bool
	Error     string // State.Error, e.g. a runtime's failure to start it
	Health    string // "" without a HEALTHCHECK; starting, healthy or unhealthy
	// Restarts counts restarts since the wait began.
	Restarts int
	// Probed is true when the readiness endpoint was asked; HTTPStatus is
	// its answer (0 when it could not be reached).
	Probed     bool
	HTTPStatus int
	// Settle is how long a container with neither an endpoint nor a
	// HEALTHCHECK must keep running to count as ready (0: running is
	// ready); Watched is how long the wait has watched it so far.
	Settle, Watched time.Duration
}

// Verdict is where a wait stands.
type Verdict int

// The verdicts.
const (
	Waiting Verdict = iota
	Ready
	Failed
)

// Judge decides from one observation. With an endpoint, a 2xx answer is
// ready; without one, the image's HEALTHCHECK turning healthy is, and with
// neither, running (for Settle, when one is asked). A container that
// exits, restarts or turns unhealthy has failed: waiting on would only wait
// out the timeout.
func Judge(o Observation) (Verdict, string) {
	switch o.Status {
	case "exited", "dead":
		why := fmt.Sprintf("the container exited with code %d", o.ExitCode)
		if o.OOMKilled {
			why += " (killed for memory: raise memory or lower the model's footprint)"
		}
		if o.Error != "" {
			why += ": " + o.Error
		}
		return Failed, why
	case "restarting":
		return Failed, fmt.Sprintf("the container exited with code %d and is being restarted by its restart policy", o.ExitCode)
	case "paused":
		return Failed, "the container is paused"
	case "removing":
		return Failed, "the container is being removed"
	case "created":
		return Waiting, "created, not started"
	case "running":
	default:
		return Waiting, fmt.Sprintf("the container's status is %q", o.Status)
	}
	if o.Restarts > 0 {
		return Failed, fmt.Sprintf("the container restarted %d time(s) while starting", o.Restarts)
	}
	if o.Health == "unhealthy" {
		return Failed, "the image's HEALTHCHECK reports unhealthy"
	}
	if o.Probed {
		if o.HTTPStatus >= 200 && o.HTTPStatus < 300 {
			return Ready, fmt.Sprintf("the endpoint answered %d", o.HTTPStatus)
		}
		if o.HTTPStatus == 0 {
			return Waiting, "the endpoint does not answer yet"
		}
		return Waiting, fmt.Sprintf("the endpoint answers %d", o.HTTPStatus)
	}
	switch o.Health {
	case "healthy":
		return Ready, "the image's HEALTHCHECK reports healthy"
	case "":
		switch {
		case o.Watched < o.Settle:
			return Waiting, fmt.Sprintf("running; watching that it keeps running for %s", o.Settle)
		case o.Settle > 0:
			return Ready, fmt.Sprintf("still running after %s (no readiness endpoint or HEALTHCHECK to wait on)", o.Settle)
		}
		return Ready, "running (no readiness endpoint or HEALTHCHECK to wait on)"
	}
	return Waiting, "the image's HEALTHCHECK is " + o.Health
}

// LastLines returns the last n non-empty lines of a log, for an error.
func LastLines(log string, n int) []string {
	if n <= 0 {
		return []string{}
	}
	lines := strings.Split(strings.TrimRight(log, "\n"), "\n")
	out := make([]string, 0, n)
	for i := len(lines) - 1; i >= 0 && len(out) < n; i-- {
		if l := strings.TrimRight(lines[i], "\r"); strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}
