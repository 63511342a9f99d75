// Package engine talks to a Docker Engine API through a caller's dialer
// (here: a unix socket forwarded over SSH), and reports what the running
// daemon says of its configuration.
package engine

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"slices"

	"github.com/moby/moby/client"

	"github.com/mcpai/terraform-provider-mcpai/internal/dockerd"
)

// DialFunc opens a connection to network/addr, e.g. through an SSH tunnel.
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// Engine is an Engine API client for the daemon listening on one unix
// socket of a host.
type Engine struct {
	api  *client.Client
	dial DialFunc // reaches the engine's host network, for readiness probes
	// remoteHost is set for a tcp:// engine: probes then go to the port
	// published on that host, as the containers' network is not reachable.
	remoteHost string
}

// New returns a client for the daemon at socket, reached with dial. It
// connects on first use.
func New(dial DialFunc, socket string) (*Engine, error) {
	api, err := client.New(
		client.WithHost("unix://"+socket),
		client.WithDialContext(func(ctx context.Context, _, _ string) (net.Conn, error) {
			return dial(ctx, "unix", socket)
		}),
	)
	if err != nil {
		return nil, err
	}
	return &Engine{api: api, dial: dial}, nil
}

// NewHost returns a client for a Docker host URL (unix:///path or
// tcp://host:port), reached directly from this process.
func NewHost(host string) (*Engine, error) {
	api, err := client.New(client.WithHost(host))
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	e := &Engine{api: api, dial: d.DialContext}
	if u, err := url.Parse(host); err == nil && u.Scheme == "tcp" {
		e.remoteHost = u.Hostname()
	}
	return e, nil
}

// Close releases the client's idle connections. It has nothing to report:
// closing idle connections cannot fail in a way a caller could act on.
func (e *Engine) Close() { _ = e.api.Close() }

// Effective pings the daemon (negotiating the API version, so old engines
// answer too) and returns what GET /info says of its configuration.
func (e *Engine) Effective(ctx context.Context) (dockerd.Effective, error) {
	if _, err := e.api.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		return dockerd.Effective{}, fmt.Errorf("ping: %w", err)
	}
	res, err := e.api.Info(ctx, client.InfoOptions{})
	if err != nil {
		return dockerd.Effective{}, fmt.Errorf("info: %w", err)
	}
	i := res.Info
	eff := dockerd.Effective{
		ServerVersion:  i.ServerVersion,
		StorageDriver:  i.Driver,
		LoggingDriver:  i.LoggingDriver,
		CgroupDriver:   i.CgroupDriver,
		LiveRestore:    i.LiveRestoreEnabled,
		RootDir:        i.DockerRootDir,
		DefaultRuntime: i.DefaultRuntime,
		Debug:          i.Debug,
		Labels:         i.Labels,
	}
	if i.RegistryConfig != nil {
		eff.RegistryMirrors = i.RegistryConfig.Mirrors
	}
	for name := range i.Runtimes {
		eff.Runtimes = append(eff.Runtimes, name)
	}
	slices.Sort(eff.Runtimes)
	return eff, nil
}
