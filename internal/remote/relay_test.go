package remote_test

// The sudo relay against a sandbox host's real sshd and dockerd, whose
// /var/run/docker.sock only root and the docker group may open.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/mcpai/terraform-provider-mcpai/internal/acctest"
	"github.com/mcpai/terraform-provider-mcpai/internal/engine"
	"github.com/mcpai/terraform-provider-mcpai/internal/remote"
)

const dockerSock = "/var/run/docker.sock"

// sudoClient logs in as the sandbox's passwordless sudo user, sudo = true.
func sudoClient(t *testing.T, h acctest.Host) *remote.Client {
	cfg := h.Config(t)
	cfg.User, cfg.Sudo = h.SudoUser, true
	_, c := newClient(t, cfg)
	return c
}

// ping sends GET /_ping over conn and returns the answer's body.
func ping(t *testing.T, conn net.Conn) string {
	t.Helper()
	if _, err := io.WriteString(conn, "GET /_ping HTTP/1.1\r\nHost: docker\r\n\r\n"); err != nil {
		t.Fatalf("writing a ping: %v", err)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the ping's answer: %v", err)
	}
	defer func() { _ = res.Body.Close() }()
	body, _ := io.ReadAll(res.Body)
	return string(body)
}

// running says whether a process with pid runs on h.
func running(t *testing.T, h acctest.Host, pid int) bool {
	return h.InHost(t, fmt.Sprintf("kill -0 %d 2>/dev/null && echo yes || echo no", pid)) == "yes"
}

// waitGone fails the test unless the relay process pid ends within 10 s.
func waitGone(t *testing.T, h acctest.Host, pid int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if !running(t, h, pid) {
			return
		}
	}
	t.Fatalf("relay process %d still runs on the host: %s", pid, h.InHost(t, fmt.Sprintf("ps -o pid,ppid,user,args -p %d", pid)))
}

func TestRelaySudoUserReachesDocker(t *testing.T) {
	h := acctest.FirstHost(t)
	if got := h.InHost(t, "stat -c %U:%G:%a "+dockerSock); got != "root:docker:660" {
		t.Fatalf("the test needs a root-owned socket; %s is %s", dockerSock, got)
	}
	c := sudoClient(t, h)
	ctx := ctxT(t)
	conn, err := c.Dial(ctx, "unix", dockerSock)
	if err != nil {
		t.Fatal(err)
	}
	tool, pid := remote.RelayOf(conn)
	if tool != "docker" || pid == 0 {
		t.Fatalf("relay %q pid %d, want docker's dial-stdio (the host has the docker CLI)", tool, pid)
	}
	if !remote.ViaRelay(c, dockerSock) {
		t.Error("the relay was not remembered for the next dial")
	}
	if got := ping(t, conn); got != "OK" {
		t.Fatalf("ping answered %q", got)
	}
	// A second request on the same connection: the relay keeps it open.
	if got := ping(t, conn); got != "OK" {
		t.Fatalf("second ping answered %q", got)
	}
	_ = conn.Close()
	waitGone(t, h, pid)

	eng, err := engine.New(c.Dial, dockerSock)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	eff, err := eng.Effective(ctx)
	if err != nil || eff.ServerVersion == "" {
		t.Fatalf("ping and info through the relay: %+v %v", eff, err)
	}
}

// TestRelayStreams runs what the provider does over one Engine API client:
// create, a hijacked attach, a long-polled wait, logs and remove.
func TestRelayStreams(t *testing.T) {
	h := acctest.FirstHost(t)
	c := sudoClient(t, h)
	ctx := ctxT(t)
	api, err := client.New(client.WithHost("unix://"+dockerSock),
		client.WithDialContext(func(ctx context.Context, _, _ string) (net.Conn, error) { return c.Dial(ctx, "unix", dockerSock) }))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = api.Close() }()
	if _, err := api.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		t.Fatal(err)
	}
	name := "mcpai-relay-test-" + strconv.Itoa(os.Getpid())
	remove := func() {
		_, _ = api.ContainerRemove(context.Background(), name, client.ContainerRemoveOptions{Force: true})
	}
	remove()
	t.Cleanup(remove)
	created, err := api.ContainerCreate(ctx, client.ContainerCreateOptions{Name: name,
		Config: &container.Config{Image: acctest.ModelImageExits, AttachStdout: true, AttachStderr: true}})
	if err != nil {
		t.Fatal(err)
	}
	attached, err := api.ContainerAttach(ctx, created.ID, client.ContainerAttachOptions{Stream: true, Stdout: true, Stderr: true})
	if err != nil {
		t.Fatal(err)
	}
	defer attached.Close()
	waited := api.ContainerWait(ctx, created.ID, client.ContainerWaitOptions{Condition: container.WaitConditionNextExit})
	if _, err := api.ContainerStart(ctx, created.ID, client.ContainerStartOptions{}); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if _, err := stdcopy.StdCopy(&stdout, &stderr, attached.Reader); err != nil {
		t.Fatalf("attach stream: %v", err)
	}
	const fatal = "CUDA out of memory"
	if !strings.Contains(stderr.String(), fatal) {
		t.Errorf("attached stderr %q lacks %q", stderr.String(), fatal)
	}
	select {
	case res := <-waited.Result:
		if res.StatusCode != 3 {
			t.Errorf("wait: exit status %d, want 3", res.StatusCode)
		}
	case err := <-waited.Error:
		t.Fatalf("wait: %v", err)
	}
	logs, err := api.ContainerLogs(ctx, created.ID, client.ContainerLogsOptions{ShowStderr: true})
	if err != nil {
		t.Fatal(err)
	}
	var logOut bytes.Buffer
	_, err = stdcopy.StdCopy(&logOut, &logOut, logs)
	_ = logs.Close()
	if err != nil || !strings.Contains(logOut.String(), fatal) {
		t.Errorf("logs %q %v", logOut.String(), err)
	}
	if _, err := api.ContainerRemove(ctx, created.ID, client.ContainerRemoveOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
}

func TestRelayRootGoesDirect(t *testing.T) {
	h := acctest.FirstHost(t)
	for _, sudo := range []bool{false, true} {
		cfg := h.Config(t)
		cfg.Sudo = sudo
		_, c := newClient(t, cfg)
		conn, err := c.Dial(ctxT(t), "unix", dockerSock)
		if err != nil {
			t.Fatalf("sudo=%v: %v", sudo, err)
		}
		if tool, _ := remote.RelayOf(conn); tool != "" || remote.ViaRelay(c, dockerSock) {
			t.Errorf("sudo=%v: root went through the %s relay, want the direct channel", sudo, tool)
		}
		if got := ping(t, conn); got != "OK" {
			t.Errorf("sudo=%v: ping answered %q", sudo, got)
		}
		_ = conn.Close()
	}
}

func TestRelayFallbacks(t *testing.T) {
	h := acctest.FirstHost(t)
	for _, tool := range []string{"socat", "nc", "python3"} {
		t.Run(tool, func(t *testing.T) {
			if h.InHost(t, "command -v "+tool+" >/dev/null && echo yes || echo no") != "yes" {
				t.Skipf("%s is not installed on the host", tool)
			}
			remote.UseRelays(t, "no-such-relay", tool)
			c := sudoClient(t, h)
			conn, err := c.Dial(ctxT(t), "unix", dockerSock)
			if err != nil {
				t.Fatal(err)
			}
			got, pid := remote.RelayOf(conn)
			if got != tool {
				t.Fatalf("relay %q, want %s", got, tool)
			}
			if answer := ping(t, conn); answer != "OK" {
				t.Fatalf("ping answered %q", answer)
			}
			_ = conn.Close()
			waitGone(t, h, pid)
		})
	}
}

func TestRelayErrors(t *testing.T) {
	h := acctest.FirstHost(t)
	t.Run("no relay installed", func(t *testing.T) {
		remote.UseRelays(t, "mcpai-no-such-relay", "mcpai-nor-this")
		_, err := sudoClient(t, h).Dial(ctxT(t), "unix", dockerSock)
		if err == nil || !strings.Contains(err.Error(), "tried mcpai-no-such-relay, mcpai-nor-this") || !strings.Contains(err.Error(), "add "+h.SudoUser+" to the group that owns the socket") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("no socket", func(t *testing.T) {
		_, err := sudoClient(t, h).Dial(ctxT(t), "unix", "/run/mcpai-no-such.sock")
		if err == nil || !strings.Contains(err.Error(), "no unix socket at /run/mcpai-no-such.sock") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("path is an argument", func(t *testing.T) {
		marker := "/tmp/mcpai-relay-pwned"
		h.InHost(t, "rm -f "+marker)
		_, err := sudoClient(t, h).Dial(ctxT(t), "unix", "/x; touch "+marker+" #")
		if err == nil {
			t.Fatal("dialling a path that is no socket succeeded")
		}
		if h.InHost(t, "test -e "+marker+" && echo yes || echo no") != "no" {
			t.Fatal("the socket path was run as a command")
		}
	})
	t.Run("sudo wants a password", func(t *testing.T) {
		cfg := h.Config(t)
		cfg.User, cfg.Sudo = h.NoprivUser, true
		_, c := newClient(t, cfg)
		_, err := c.Dial(ctxT(t), "unix", dockerSock)
		if !errors.Is(err, remote.ErrSudoPassword) {
			t.Fatalf("got %v", err)
		}
	})
}

func TestRelayDeadline(t *testing.T) {
	h := acctest.FirstHost(t)
	conn, err := sudoClient(t, h).Dial(ctxT(t), "unix", dockerSock)
	if err != nil {
		t.Fatal(err)
	}
	_, pid := remote.RelayOf(conn)
	// Nothing was asked, so nothing comes: the read must end at the deadline.
	_ = conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	start := time.Now()
	_, err = conn.Read(make([]byte, 1))
	if !errors.Is(err, os.ErrDeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Fatalf("read after %v: %v", time.Since(start), err)
	}
	waitGone(t, h, pid)
}

// TestRelayEnds checks that no relay outlives its connection: one closed in
// the middle of a stream the daemon keeps open, and one whose SSH
// connection is cut.
func TestRelayEnds(t *testing.T) {
	h := acctest.FirstHost(t)
	t.Run("closed mid-stream", func(t *testing.T) {
		conn, err := sudoClient(t, h).Dial(ctxT(t), "unix", dockerSock)
		if err != nil {
			t.Fatal(err)
		}
		_, pid := remote.RelayOf(conn)
		// /events streams until the client goes.
		if _, err := io.WriteString(conn, "GET /events HTTP/1.1\r\nHost: docker\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("events: %v %v", res, err)
		}
		_ = conn.Close()
		waitGone(t, h, pid)
	})
	t.Run("closed mid-attach", func(t *testing.T) {
		// A hijacked attach to a container that runs on and prints nothing:
		// the daemon does not hang up when the relay's input ends.
		c := sudoClient(t, h)
		name := "mcpai-relay-attach-" + strconv.Itoa(os.Getpid())
		t.Cleanup(func() { h.InHost(t, "docker rm -f "+name+" >/dev/null 2>&1 || true") })
		h.InHost(t, "docker run -d --name "+name+" "+h.DockerImage+" >/dev/null")
		conn, err := c.Dial(ctxT(t), "unix", dockerSock)
		if err != nil {
			t.Fatal(err)
		}
		tool, pid := remote.RelayOf(conn)
		if _, err := io.WriteString(conn, "POST /containers/"+name+"/attach?stream=1&stdout=1&stderr=1 HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil || res.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("attach: %v %v", res, err)
		}
		start := time.Now()
		_ = conn.Close()
		waitGone(t, h, pid)
		t.Logf("the %s relay ended %v after Close", tool, time.Since(start).Round(100*time.Millisecond))
	})
	t.Run("connection cut", func(t *testing.T) {
		c := sudoClient(t, h)
		conn, err := c.Dial(ctxT(t), "unix", dockerSock)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = conn.Close() }()
		_, pid := remote.RelayOf(conn)
		// Kill the sshd process that serves this connection, found up the
		// relay's parents.
		sshd := h.InHost(t, fmt.Sprintf(`p=%d
while [ "$p" -gt 1 ]; do
	p=$(awk '{print $4}' /proc/$p/stat)
	case $(cat /proc/$p/comm) in sshd*) echo $p; exit 0 ;; esac
done
exit 1`, pid))
		h.InHost(t, "kill "+sshd)
		waitGone(t, h, pid)
		if _, err := conn.Read(make([]byte, 1)); err == nil {
			t.Error("a read on a cut relay succeeded")
		}
		// The next dial works on a new connection.
		conn2, err := c.Dial(ctxT(t), "unix", dockerSock)
		if err != nil {
			t.Fatal(err)
		}
		if got := ping(t, conn2); got != "OK" {
			t.Fatalf("ping after the cut answered %q", got)
		}
		_ = conn2.Close()
	})
}
