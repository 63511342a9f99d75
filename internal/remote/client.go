package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"
)

const (
	keepaliveInterval = 15 * time.Second
	dialAttempts      = 3
	dialBackoff       = 250 * time.Millisecond
)

// Client runs commands on one host over a pooled, lazily dialled connection.
type Client struct {
	cfg   Config
	dials *atomic.Int64

	// connMu is a channel so that waiting for it honours a context.
	connMu  chan struct{}
	conn    *ssh.Client
	closers []io.Closer // bastion hop, agent connection
	// lockConn is the connection whose session holds the host lock. If it
	// breaks, the lock is gone with it, and connect refuses to redial until
	// the holder unlocks: no change may continue unlocked.
	lockConn *ssh.Client

	sessions chan struct{}
	hostLock chan struct{}
	lockedBy atomic.Value // string: what holds hostLock in this process

	// Unix socket paths that only the sudo relay could open; see relay.go.
	relayed sync.Map

	// The folder of the host's ledger records, asked once; see ledgerPath.
	ledgerMu  sync.Mutex
	ledgerDir string

	// Reads waiting to share the next round trip; see ReadFiles.
	readMu    sync.Mutex
	readQueue []*readRequest
	reading   bool
}

func newClient(cfg Config, dials *atomic.Int64) *Client {
	return &Client{
		cfg:      cfg,
		dials:    dials,
		connMu:   make(chan struct{}, 1),
		sessions: make(chan struct{}, MaxSessions),
		hostLock: make(chan struct{}, 1),
	}
}

// Config returns the configuration the client dials with.
func (c *Client) Config() Config { return c.cfg }

// Close closes the connection; a later call dials again.
func (c *Client) Close() {
	c.connMu <- struct{}{}
	defer func() { <-c.connMu }()
	c.closeLocked()
}

func (c *Client) closeLocked() {
	if c.conn != nil {
		_ = c.conn.Close()
		c.conn = nil
	}
	for _, cl := range c.closers {
		_ = cl.Close()
	}
	c.closers = nil
}

// connect returns the live connection, dialling it if there is none.
func (c *Client) connect(ctx context.Context) (*ssh.Client, error) {
	select {
	case c.connMu <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-c.connMu }()
	if c.conn != nil {
		return c.conn, nil
	}
	if c.lockConn != nil {
		return nil, ErrLockLost
	}
	// The timeout bounds all attempts together, so an unreachable host
	// fails after `timeout`, not a multiple of it.
	ctx, cancel := context.WithTimeout(ctx, c.cfg.timeout())
	defer cancel()
	var err error
	for attempt := 0; attempt < dialAttempts; attempt++ {
		if attempt > 0 {
			select {
			case <-time.After(dialBackoff << (attempt - 1)):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		err = c.dial(ctx)
		if err == nil || !retryable(err) || ctx.Err() != nil {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	return c.conn, nil
}

// forget drops a connection found broken, unless another caller already
// replaced it.
func (c *Client) forget(broken *ssh.Client) {
	c.connMu <- struct{}{}
	defer func() { <-c.connMu }()
	if c.conn == broken {
		c.closeLocked()
	}
}

func (c *Client) dial(ctx context.Context) error {
	var closers []io.Closer
	fail := func(err error) error {
		for _, cl := range closers {
			_ = cl.Close()
		}
		return err
	}
	var netConn net.Conn
	var err error
	if b := c.cfg.Bastion; b != nil {
		hop, hopClosers, err := handshake(ctx, *b, nil, c.cfg.timeout())
		closers = append(closers, hopClosers...)
		if err != nil {
			return fail(fmt.Errorf("bastion %s: %w", b.Address(), err))
		}
		c.dials.Add(1)
		closers = append(closers, hop)
		netConn, err = hop.DialContext(ctx, "tcp", c.cfg.Address())
		if err != nil {
			return fail(&DialError{Address: c.cfg.Address(), Err: fmt.Errorf("through bastion %s: %w", b.Address(), err)})
		}
	}
	conn, connClosers, err := handshake(ctx, c.cfg.Endpoint, netConn, c.cfg.timeout())
	closers = append(closers, connClosers...)
	if err != nil {
		return fail(err)
	}
	c.dials.Add(1)
	c.conn = conn
	c.closers = closers
	go c.keepalive(conn)
	return nil
}

// handshake opens an SSH connection to e, over netConn when given (a
// bastion tunnel) or a new TCP connection. Cancelling ctx aborts it.
func handshake(ctx context.Context, e Endpoint, netConn net.Conn, timeout time.Duration) (*ssh.Client, []io.Closer, error) {
	cc, cleanup, err := e.clientConfig(timeout)
	if err != nil {
		if netConn != nil {
			_ = netConn.Close()
		}
		return nil, nil, err
	}
	closers := []io.Closer{closerFunc(cleanup)}
	if netConn == nil {
		var d net.Dialer
		netConn, err = d.DialContext(ctx, "tcp", e.Address())
		if err != nil {
			cleanup()
			return nil, nil, &DialError{Address: e.Address(), Err: err}
		}
		netConn = withQuickAck(netConn)
	}
	stop := context.AfterFunc(ctx, func() { _ = netConn.Close() })
	sshConn, chans, reqs, err := ssh.NewClientConn(netConn, e.Address(), cc)
	if !stop() {
		err = errors.Join(ctx.Err(), err)
	}
	if err != nil {
		_ = netConn.Close()
		cleanup()
		return nil, nil, classifyHandshakeError(e, err)
	}
	return ssh.NewClient(sshConn, chans, reqs), closers, nil
}

type closerFunc func()

func (f closerFunc) Close() error { f(); return nil }

// keepalive notices a dead peer between operations so that the next call
// redials instead of hanging on a half-open TCP connection.
func (c *Client) keepalive(conn *ssh.Client) {
	t := time.NewTicker(keepaliveInterval)
	defer t.Stop()
	done := make(chan struct{})
	go func() { _ = conn.Wait(); close(done) }()
	for {
		select {
		case <-done:
			c.forget(conn)
			return
		case <-t.C:
			replied := make(chan error, 1)
			go func() { _, _, err := conn.SendRequest("keepalive@openssh.com", true, nil); replied <- err }()
			select {
			case err := <-replied:
				if err != nil {
					c.forget(conn)
					return
				}
			case <-time.After(keepaliveInterval):
				c.forget(conn)
				return
			case <-done:
				c.forget(conn)
				return
			}
		}
	}
}

// session opens a session, redialling once if the pooled connection turns
// out to be broken. The caller must call release.
func (c *Client) session(ctx context.Context) (sess *ssh.Session, release func(), err error) {
	sess, _, release, err = c.sessionOn(ctx)
	return sess, release, err
}

// sessionOn is session that also says which connection the session is on.
func (c *Client) sessionOn(ctx context.Context) (sess *ssh.Session, on *ssh.Client, release func(), err error) {
	select {
	case c.sessions <- struct{}{}:
	case <-ctx.Done():
		return nil, nil, nil, ctx.Err()
	}
	release = func() { <-c.sessions }
	redialled := false
	for attempt := 0; attempt < 5; attempt++ {
		conn, err := c.connect(ctx)
		if err != nil {
			release()
			return nil, nil, nil, err
		}
		sess, err = conn.NewSession()
		if err == nil {
			return sess, conn, release, nil
		}
		var refused *ssh.OpenChannelError
		switch {
		case errors.As(err, &refused):
			// The link is fine but sshd refused the session, typically
			// because it has not yet reaped sessions we closed: wait a
			// little and ask again.
			select {
			case <-time.After(time.Duration(attempt+1) * 20 * time.Millisecond):
			case <-ctx.Done():
				release()
				return nil, nil, nil, ctx.Err()
			}
		case !redialled:
			// No command was sent, so retrying on a new connection is safe.
			redialled = true
			c.forget(conn)
		default:
			release()
			return nil, nil, nil, fmt.Errorf("opening an SSH session on %s: %w", c.cfg, err)
		}
	}
	release()
	return nil, nil, nil, fmt.Errorf("opening an SSH session on %s: the server keeps refusing new sessions (is its MaxSessions below %d?)", c.cfg, MaxSessions)
}

// Result is what a command left behind.
type Result struct {
	Stdout   []byte
	Stderr   []byte
	ExitCode int
}

// Run runs argv on the host, quoting every element, with stdin as its
// standard input. A non-zero exit is not an error here; see Output.
func (c *Client) Run(ctx context.Context, argv []string, stdin []byte) (*Result, error) {
	return c.run(ctx, argv, stdin, true)
}

// run is Run; with endable, a cancelled command's SSH session is ended on
// the host (see endSession), which does not itself need that.
func (c *Client) run(ctx context.Context, argv []string, stdin []byte, endable bool) (*Result, error) {
	program := argv[0]
	if endable {
		argv = append([]string{"sh", "-c", announceScript, "sh"}, argv...)
	}
	sess, release, err := c.session(ctx)
	if err != nil {
		return nil, err
	}
	var once sync.Once
	releaseOnce := func() { once.Do(release) }
	defer releaseOnce()
	defer func() { _ = sess.Close() }()
	var stdout bytes.Buffer
	stderr := &lockedBuffer{}
	sess.Stdin = bytes.NewReader(stdin)
	sess.Stdout = &stdout
	sess.Stderr = stderr
	done := make(chan error, 1)
	go func() { done <- sess.Run(c.command(argv)) }()
	select {
	case err = <-done:
	case <-ctx.Done():
		select {
		case err = <-done:
			// It finished as the context ended: its result stands.
		default:
			_ = sess.Signal(ssh.SIGKILL)
			_ = sess.Close()
			// Its session slot is free before another session is asked
			// for, so many cancelled commands cannot wait on each other.
			releaseOnce()
			// Closing the session does not end the command on the host
			// (sshd neither signals nor waits for it, and sudo relays no
			// SIGKILL): end its whole SSH session from another one before
			// saying what was (not) done.
			if a, ok := findAnnouncement(stderr.String()); ok {
				c.endSession(a)
			}
			return nil, ctx.Err()
		}
	}
	a, _ := findAnnouncement(stderr.String())
	res := &Result{Stdout: stdout.Bytes(), Stderr: []byte(strings.Replace(stderr.String(), a.line, "", 1))}
	var exitErr *ssh.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		res.ExitCode = exitErr.ExitStatus()
	default:
		return nil, fmt.Errorf("running %s on %s: %w", program, c.cfg, err)
	}
	if c.cfg.Sudo && res.ExitCode == 1 && sudoWantsPassword(res.Stderr) {
		return nil, ErrSudoPassword
	}
	return res, nil
}

// Output runs argv and returns its standard output, or a *CommandError when
// it exits non-zero.
func (c *Client) Output(ctx context.Context, argv []string, stdin []byte) ([]byte, error) {
	res, err := c.Run(ctx, argv, stdin)
	if err != nil {
		return nil, err
	}
	if res.ExitCode != 0 {
		return nil, &CommandError{Program: argv[0], ExitCode: res.ExitCode, Stderr: strings.TrimSpace(string(res.Stderr))}
	}
	return res.Stdout, nil
}

// announceScript says which process runs the command, with its start time
// (so that a reused pid is never taken for it), on stderr, which Run strips
// again; then it becomes the command.
const announceScript = `announce() { shift 19; echo "mcpai-pid $$ $1" >&2; }
read -r st </proc/$$/stat; announce ${st##*) }; exec "$@"`

// announcement is a command's "mcpai-pid <pid> <start time>" line.
type announcement struct {
	line  string // as it came, with its newline
	pid   int
	start string // field 22 of /proc/<pid>/stat
}

// findAnnouncement finds the announcement among the stderr lines (sudo may
// have written first).
func findAnnouncement(stderr string) (announcement, bool) {
	for _, line := range strings.SplitAfter(stderr, "\n") {
		f := strings.Fields(line)
		if len(f) != 3 || f[0] != "mcpai-pid" || !strings.HasSuffix(line, "\n") {
			continue
		}
		pid, err := strconv.Atoi(f[1])
		if err != nil || pid <= 1 {
			continue
		}
		return announcement{line: line, pid: pid, start: f[2]}, true
	}
	return announcement{}, false
}

// endSessionScript ends every process of the SSH session that process $1
// (started at $2, field 22 of its stat) belongs to: TERM, then KILL a
// moment later. A daemon the command started (dockerd after a restart) has
// a session of its own and is left alone; so is everything when $1 is gone
// or is another process now.
const endSessionScript = `read -r st </proc/"$1"/stat 2>/dev/null || exit 0
st=${st##*) }; set -- "$1" "$2" $st; [ "${22}" = "$2" ] || exit 0
sid=$6
case $sid in '' | 0 | 1 | *[!0-9]*) exit 0 ;; esac
[ "$sid" != "$(ps -o sid= -p $$ | tr -d ' ')" ] || exit 0
pkill -TERM -s "$sid" || exit 0
sleep 1
pkill -KILL -s "$sid"
true`

// endSession runs endSessionScript for a, bounded in time: a host that
// stopped answering cannot hold a cancelled run for long.
func (c *Client) endSession(a announcement) {
	ctx, cancel := context.WithTimeout(context.Background(), endSessionTimeout)
	defer cancel()
	_, _ = c.run(ctx, []string{"sh", "-c", endSessionScript, "sh", strconv.Itoa(a.pid), a.start}, nil, false)
}

// endSessionTimeout bounds ending a cancelled command's session.
const endSessionTimeout = 15 * time.Second

// command is the one place where an argument vector becomes a shell line.
func (c *Client) command(argv []string) string {
	if c.cfg.Sudo {
		argv = append([]string{"sudo", "-n", "--"}, argv...)
	}
	return QuoteArgs(argv)
}

// Dial opens a TCP connection or unix socket on the host, tunnelled through
// the SSH connection (network "tcp" or "unix"). Its deadlines work (see
// tunnelConn). With sudo, a unix socket the login user may not open is
// reached through a relay run under sudo (see relay.go); the direct channel
// is tried first, as it costs no process on the host.
func (c *Client) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	relay := network == "unix" && c.cfg.Sudo
	if relay && c.viaRelay(addr) {
		return c.dialTunnelledRelay(ctx, addr)
	}
	for attempt := 0; ; attempt++ {
		conn, err := c.connect(ctx)
		if err != nil {
			return nil, err
		}
		nc, err := conn.DialContext(ctx, network, addr)
		if err == nil {
			return &tunnelConn{Conn: nc}, nil
		}
		var open *ssh.OpenChannelError
		if relay && errors.As(err, &open) {
			// sshd opened the socket as the login user and was refused.
			rc, rerr := c.dialTunnelledRelay(ctx, addr)
			if rerr != nil {
				return nil, fmt.Errorf("opening unix %s through %s: directly: %w; through sudo: %w", addr, c.cfg, err, rerr)
			}
			c.relayed.Store(addr, true)
			return rc, nil
		}
		if attempt > 0 || errors.As(err, &open) || ctx.Err() != nil {
			// The server refused the channel: the target is down, not the link.
			return nil, fmt.Errorf("opening %s %s through %s: %w", network, addr, c.cfg, err)
		}
		c.forget(conn)
	}
}
