package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// A login user who may only sudo cannot open a root-owned unix socket such
// as /var/run/docker.sock: sshd opens forwarded sockets as the login user.
// With sudo, Dial then reaches the socket through a relay, a program run
// under `sudo -n` that copies its stdin to the socket and the socket to its
// stdout, the way Docker's own SSH transport runs `docker system
// dial-stdio`. The relay is a session, so it takes one of the client's
// session slots for as long as it is open: sshd counts it against its
// MaxSessions like any command.

// relayTools are the relays tried, in order. The docker CLI is the one
// Docker itself uses, but a host may run dockerd without it; socat,
// netcat-openbsd's nc and python3 are the usual ways to copy between a pipe
// and a unix socket on Debian. A variable so that tests can force a
// fallback.
var relayTools = []string{"docker", "socat", "nc", "python3"}

// relayMarker starts the line the relay prints, with its pid and tool, once
// it has found a tool and before it hands its stdio to it.
const relayMarker = "mcpai-relay "

// relayScript is run as `sh -c relayScript mcpai-relay <socket> <tool>...`:
// the socket path is only ever a positional argument. nc must be the
// OpenBSD one (-U for unix sockets, -N to pass on the end of input); the
// traditional netcat has neither. $$ is the pid the tool gets by exec, which
// Close uses if the relay outlives its connection.
const relayScript = `sock=$1
shift
if [ ! -S "$sock" ]; then
	echo "mcpai-relay: no unix socket at $sock" >&2
	exit 2
fi
py='import os, socket, sys, threading
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
def up():
    while True:
        b = os.read(0, 65536)
        if not b:
            break
        s.sendall(b)
    s.shutdown(socket.SHUT_WR)
threading.Thread(target=up, daemon=True).start()
out = sys.stdout.buffer
while True:
    b = s.recv(65536)
    if not b:
        break
    out.write(b)
    out.flush()
'
for tool do
	command -v "$tool" >/dev/null 2>&1 || continue
	case $tool in
	docker)
		printf 'mcpai-relay %s docker\n' "$$"
		DOCKER_HOST="unix://$sock" exec docker system dial-stdio ;;
	socat)
		printf 'mcpai-relay %s socat\n' "$$"
		exec socat - "UNIX-CONNECT:$sock" ;;
	nc)
		nc -h 2>&1 | grep -q -e '-U' || continue
		printf 'mcpai-relay %s nc\n' "$$"
		exec nc -N -U "$sock" ;;
	python3)
		printf 'mcpai-relay %s python3\n' "$$"
		exec python3 -c "$py" "$sock" ;;
	esac
done
echo "mcpai-relay: none of these relays is installed: $*" >&2
exit 127
`

// relayGrace is how long a closed relay may take to end by itself (its
// input ended, the socket's server hangs up) before Close kills it.
const relayGrace = 2 * time.Second

// viaRelay says whether an earlier dial of the socket at path needed the
// relay, so that later dials skip the direct attempt sshd will refuse.
func (c *Client) viaRelay(path string) bool {
	_, ok := c.relayed.Load(path)
	return ok
}

// dialRelay opens the unix socket at path through a relay run under sudo.
func (c *Client) dialRelay(ctx context.Context, path string) (net.Conn, error) {
	sess, release, err := c.session(ctx)
	if err != nil {
		return nil, err
	}
	stdin, err1 := sess.StdinPipe()
	stdout, err2 := sess.StdoutPipe()
	stderr := &lockedBuffer{}
	sess.Stderr = stderr
	argv := append([]string{"sh", "-c", relayScript, "mcpai-relay", path}, relayTools...)
	err = errors.Join(err1, err2)
	if err == nil {
		err = sess.Start(c.command(argv))
	}
	if err != nil {
		_ = sess.Close()
		release()
		return nil, fmt.Errorf("starting a relay to %s on %s: %w", path, c.cfg, err)
	}
	r := &relayConn{client: c, path: path, sess: sess, stdin: stdin, stderr: stderr, release: release, exited: make(chan struct{})}
	go func() { r.exitErr = sess.Wait(); close(r.exited) }()

	started := make(chan error, 1)
	go func() { started <- r.readMarker(stdout) }()
	select {
	case err = <-started:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		r.abort()
		return nil, r.startError(err)
	}
	pr, pw := io.Pipe()
	r.out = pr
	go func() {
		_, err := io.Copy(pw, stdout)
		_ = pw.CloseWithError(r.endError(err))
	}()
	return r, nil
}

// relayConn is a unix socket on the host reached through a relay's stdin
// and stdout. Deadlines come from tunnelConn, which Dial wraps it in.
type relayConn struct {
	client  *Client
	path    string
	sess    *ssh.Session
	stdin   io.WriteCloser
	out     *io.PipeReader // stdout, through a pipe so that Close ends a blocked Read
	stderr  *lockedBuffer
	release func()
	pid     int
	tool    string
	exited  chan struct{}
	exitErr error // set before exited closes
	once    sync.Once
}

// readMarker reads the relay's first line byte by byte, so that nothing the
// socket sends after it is consumed.
func (r *relayConn) readMarker(stdout io.Reader) error {
	var line []byte
	b := make([]byte, 1)
	for len(line) < 100 {
		if _, err := io.ReadFull(stdout, b); err != nil {
			return err
		}
		if b[0] == '\n' {
			break
		}
		line = append(line, b[0])
	}
	fields := strings.Fields(strings.TrimPrefix(string(line), relayMarker))
	if !strings.HasPrefix(string(line), relayMarker) || len(fields) != 2 {
		return fmt.Errorf("unexpected first line %q", line)
	}
	pid, err := strconv.Atoi(fields[0])
	if err != nil {
		return fmt.Errorf("unexpected first line %q", line)
	}
	r.pid, r.tool = pid, fields[1]
	return nil
}

// hostSaid waits a moment for the relay to exit and returns its stderr.
func (r *relayConn) hostSaid() string {
	select {
	case <-r.exited:
	case <-time.After(relayGrace):
	}
	return strings.TrimSpace(r.stderr.String())
}

// startError says why the relay did not start: sudo wanted a password, no
// relay is installed, or what the host said.
func (r *relayConn) startError(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	said := r.hostSaid()
	switch {
	case sudoWantsPassword([]byte(said)):
		return ErrSudoPassword
	case strings.Contains(said, "none of these relays is installed"):
		return fmt.Errorf("%s on %s: the login user cannot open the socket and no relay to run under sudo was found (tried %s). Install one (the docker CLI, socat, netcat-openbsd or python3), or add %s to the group that owns the socket (docker for Docker's)",
			r.path, r.client.cfg, strings.Join(relayTools, ", "), r.client.cfg.userOrDefault())
	case said != "":
		return fmt.Errorf("relaying to %s on %s under sudo: %s", r.path, r.client.cfg, said)
	}
	return fmt.Errorf("relaying to %s on %s under sudo: %w", r.path, r.client.cfg, err)
}

// endError turns the end of the relay's output into what a Read returns:
// io.EOF when the socket's server hung up, the relay's complaint when it
// failed (it could not connect, say).
func (r *relayConn) endError(err error) error {
	if err != nil {
		return err
	}
	said := r.hostSaid()
	var exit *ssh.ExitError
	select {
	case <-r.exited:
		if errors.As(r.exitErr, &exit) && said != "" {
			return fmt.Errorf("the %s relay to %s on %s failed: %s", r.tool, r.path, r.client.cfg, said)
		}
	default:
	}
	return io.EOF
}

func (r *relayConn) Read(p []byte) (int, error)  { return r.out.Read(p) }
func (r *relayConn) Write(p []byte) (int, error) { return r.stdin.Write(p) }

// Close ends the input, which ends the relay once the socket's server hangs
// up. A relay still running after relayGrace (a stream the server keeps
// open) is killed through another session; Close does not wait for that.
func (r *relayConn) Close() error {
	r.once.Do(func() {
		_ = r.stdin.Close()
		_ = r.out.Close()
		go r.finish(r.pid)
	})
	return nil
}

// abort ends a relay that never started properly; its pid may be unknown
// (and still being read).
func (r *relayConn) abort() {
	r.once.Do(func() {
		_ = r.stdin.Close()
		go r.finish(0)
	})
}

// finish waits for the relay to exit, kills it by pid if it does not, and
// gives back its session.
func (r *relayConn) finish(pid int) {
	defer r.release()
	defer func() { _ = r.sess.Close() }()
	select {
	case <-r.exited:
		return
	case <-time.After(relayGrace):
	}
	if pid > 0 {
		// Under sudo, as the relay runs as root. The session has not ended,
		// so the pid is still the relay's.
		ctx, cancel := context.WithTimeout(context.Background(), r.client.cfg.timeout())
		_, _ = r.client.Run(ctx, []string{"kill", "-KILL", strconv.Itoa(pid)}, nil)
		cancel()
	}
	_ = r.sess.Signal(ssh.SIGKILL)
}

func (r *relayConn) LocalAddr() net.Addr  { return &net.UnixAddr{Name: "@", Net: "unix"} }
func (r *relayConn) RemoteAddr() net.Addr { return &net.UnixAddr{Name: r.path, Net: "unix"} }

// Deadlines are tunnelConn's; these are never reached through Dial.
func (r *relayConn) SetDeadline(time.Time) error      { return errors.ErrUnsupported }
func (r *relayConn) SetReadDeadline(time.Time) error  { return errors.ErrUnsupported }
func (r *relayConn) SetWriteDeadline(time.Time) error { return errors.ErrUnsupported }

// dialTunnelledRelay is dialRelay with tunnelConn's deadlines.
func (c *Client) dialTunnelledRelay(ctx context.Context, path string) (net.Conn, error) {
	r, err := c.dialRelay(ctx, path)
	if err != nil {
		return nil, err
	}
	return &tunnelConn{Conn: r}, nil
}
