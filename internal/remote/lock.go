package remote

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"
)

// LockPath is the file flock(1) locks on the host: in /run, which only root
// may write, and 0600, so no other user can create it first, or open it to
// hold it and stall us (see lockPathFunc for a login user without sudo).
const LockPath = "/run/mcpai.lock"

// LockHolderPath is where the holder of LockPath says who it is.
const LockHolderPath = LockPath + ".holder"

const (
	// DefaultLockWait bounds waiting for the lock when neither the options
	// nor the context give a bound.
	DefaultLockWait = 5 * time.Minute
	// DefaultLease is how long the host keeps the lock for a holder it
	// has not heard from.
	DefaultLease = 30 * time.Second
	// lockAnswerMargin is kept back from a context's deadline so that the
	// host's "busy" (and who holds the lock) arrives before the context ends.
	lockAnswerMargin = 2 * time.Second
)

// LockOptions say who takes the host lock and for how long it may wait.
type LockOptions struct {
	// Holder names what takes the lock, e.g. "mcpai_host_file /etc/x", in
	// the holder file that a waiter reads when it gives up.
	Holder string
	// Wait bounds waiting for the lock. Zero: until the context's deadline
	// (less a moment to hear the host's answer), or DefaultLockWait
	// without one.
	Wait time.Duration
	// Lease is how long the host keeps the lock without a heartbeat from
	// this client before it releases it. Zero: DefaultLease.
	Lease time.Duration
}

func (o LockOptions) wait(ctx context.Context) time.Duration {
	if o.Wait > 0 {
		return o.Wait
	}
	if deadline, ok := ctx.Deadline(); ok {
		return max(time.Until(deadline)-lockAnswerMargin, 0)
	}
	return DefaultLockWait
}

func (o LockOptions) lease() time.Duration {
	if o.Lease > 0 {
		return o.Lease
	}
	return DefaultLease
}

// LockHolder is who holds the host lock, as its holder file says.
type LockHolder struct {
	// Machine is the hostname of the machine running that Terraform run.
	Machine string
	// PID is that run's provider process.
	PID int
	// User is the SSH login user it came in as.
	User string
	// Holder is what took the lock (LockOptions.Holder).
	Holder string
	// Since is when it took the lock, by the host's clock.
	Since time.Time
	// HeldFor is how long it had held the lock when the file was read.
	HeldFor time.Duration
}

func (h LockHolder) String() string {
	what := h.Holder
	if what == "" {
		what = "a Terraform run"
	}
	return fmt.Sprintf("%s (provider pid %d on %s, logged in as %s; held for %s, since %s)",
		what, h.PID, h.Machine, h.User, h.HeldFor.Round(time.Second), h.Since.UTC().Format(time.RFC3339))
}

// LockBusyError is a lock not taken in time: someone else held it.
type LockBusyError struct {
	Host   string
	Waited time.Duration
	// Holder is who held it on the host, nil when its holder file named
	// no one (a run of an older provider, or it was just released).
	Holder *LockHolder
	// InProcess names the resource of this same Terraform run that held
	// the lock, when the wait ended before reaching the host.
	InProcess string
	// Err is the context's error when the context ended the wait.
	Err error
}

func (e *LockBusyError) Error() string {
	who := "another Terraform run (its holder file names no one)"
	switch {
	case e.InProcess != "":
		who = e.InProcess + ", in this same Terraform run"
	case e.Holder != nil:
		who = e.Holder.String()
	}
	msg := fmt.Sprintf("the host lock %s on %s is held by %s; gave up after waiting %s", LockPath, e.Host, who, e.Waited.Round(100*time.Millisecond))
	if e.Err != nil {
		msg += " (" + e.Err.Error() + ")"
	}
	return msg + ". Wait for it to finish, or raise this resource's timeouts; a holder whose connection is gone loses the lock when its lease runs out"
}

func (e *LockBusyError) Unwrap() error { return e.Err }

// lockScript takes the lock on fd 9 and holds it while heartbeats arrive.
// $1 lock file, $2 seconds to wait, $3 lease in seconds, then the holder's
// machine, pid, user and name, which go only into the holder file. It
// prints "busy" when the wait runs out, "locked" once it holds the lock.
// Each heartbeat is one byte on stdin; EOF (unlock) or a lease without one
// ends the script, and with it the lock. dash has no `read -t`, hence
// timeout(1) around head(1); the helpers close fd 9 so that only this shell
// holds the lock.
const lockScript = lockPathFunc + `
umask 077
l=$(lock_path "$1") || exit 1
exec 9>>"$l" || exit 1
chmod 600 -- "$l" || exit 1
shift; set -- "$l" "$@"
flock -w "$2" 9; rc=$?
case $rc in 0) ;; 1) echo busy; exit 0 ;; *) exit "$rc" ;; esac
echo locked || exit 1
printf 'machine=%s\npid=%s\nuser=%s\nholder=%s\nsince=%s\n' "$4" "$5" "$6" "$7" "$(date +%s)" >"$1.holder"
while b=$(exec 9>&-; timeout "$3" head -c1) && [ -n "$b" ]; do :; done
rm -f -- "$1.holder"`

// readHolderScript prints the host's time, then the holder file if any.
const readHolderScript = lockPathFunc + `
date +%s; cat -- "$(lock_path "${1%.holder}").holder" 2>/dev/null; true`

// lockPathFunc gives the lock file for the user the script runs as: $1 for
// root; a login user without sudo cannot create files in /run, and locks a
// file of its own instead (it can change only what it owns anyway). The
// file is root's (or that user's) and 0600: flock works on a file opened
// for reading, so a lock file others could open would let any local user
// stall every run.
const lockPathFunc = `lock_path() {
  if [ "$(id -u)" = 0 ]; then echo "$1"; return; fi
  d=${XDG_RUNTIME_DIR:-$HOME/.local/state/mcpai}
  mkdir -p -- "$d" && echo "$d/mcpai.lock"
}`

// heartbeat is what the client writes to keep its lease; not a newline,
// which command substitution would strip.
var heartbeat = []byte{'.'}

// Lock takes the host-wide lock: an in-process one for resources sharing
// this client, and a flock(1) on the host, held by a session, for other
// Terraform runs. Waiting is bounded (LockOptions.Wait); giving up returns
// a *LockBusyError naming the holder. The host releases the lock when the
// session ends or when it hears no heartbeat for a lease, so a killed run
// or a lost connection never leaves it behind. If the lock is lost while
// held (the session ends, or heartbeats go unanswered for two thirds of
// the lease), the connection is dropped and every later command on this
// client fails with ErrLockLost until unlock. A caller must not take the
// lock again before unlocking: the in-process part would wait for itself.
func (c *Client) Lock(ctx context.Context, opts LockOptions) (unlock func(), err error) {
	start := time.Now()
	wait := opts.wait(ctx)
	lease := opts.lease()
	holder := oneLine(opts.Holder)
	busy := func(cause error) *LockBusyError {
		return &LockBusyError{Host: c.cfg.String(), Waited: time.Since(start), Err: cause}
	}

	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case c.hostLock <- struct{}{}:
	case <-timer.C:
		e := busy(nil)
		e.InProcess, _ = c.lockedBy.Load().(string)
		return nil, e
	case <-ctx.Done():
		e := busy(ctx.Err())
		e.InProcess, _ = c.lockedBy.Load().(string)
		return nil, e
	}
	c.lockedBy.Store(holder)
	releaseHost := func() { c.lockedBy.Store(""); <-c.hostLock }

	sess, conn, release, err := c.sessionOn(ctx)
	if err != nil {
		releaseHost()
		return nil, err
	}
	stdin, err1 := sess.StdinPipe()
	stdout, err2 := sess.StdoutPipe()
	// The session's copier may still write stderr while we read it on a
	// failure, so the buffer is locked.
	stderr := &lockedBuffer{}
	sess.Stderr = stderr
	if err := errors.Join(err1, err2); err != nil {
		_ = sess.Close()
		release()
		releaseHost()
		return nil, err
	}
	machine, _ := os.Hostname()
	argv := []string{"sh", "-c", lockScript, "mcpai-lock", LockPath,
		seconds(max(wait-time.Since(start), 0)), seconds(lease),
		oneLine(machine), strconv.Itoa(os.Getpid()), c.cfg.userOrDefault(), holder}
	if err := sess.Start(c.command(argv)); err != nil {
		_ = sess.Close()
		release()
		releaseHost()
		return nil, fmt.Errorf("taking the host lock on %s: %w", c.cfg, err)
	}
	exited := make(chan struct{})
	go func() { _ = sess.Wait(); close(exited) }()
	stop := make(chan struct{})
	var once sync.Once
	finish := func(wait bool) {
		once.Do(func() {
			close(stop)
			// Closing stdin ends the heartbeat read, and with it the hold.
			_ = stdin.Close()
			if wait {
				select {
				case <-exited:
				case <-time.After(5 * time.Second):
				}
			}
			_ = sess.Close()
			c.connMu <- struct{}{}
			if c.lockConn == conn {
				c.lockConn = nil
			}
			<-c.connMu
			release()
			releaseHost()
		})
	}

	answer := make(chan string, 1)
	go func() {
		line, err := bufio.NewReader(stdout).ReadString('\n')
		if err != nil {
			line = ""
		}
		answer <- strings.TrimSpace(line)
	}()
	var got string
	select {
	case got = <-answer:
	case <-ctx.Done():
		_ = sess.Signal(ssh.SIGTERM)
		finish(false)
		return nil, c.busyWithHolder(ctx, busy(ctx.Err()))
	}
	switch got {
	case "locked":
	case "busy":
		finish(true)
		return nil, c.busyWithHolder(ctx, busy(nil))
	default:
		// The command ended without the lock (sudo refused, no flock):
		// let its stderr arrive before reading it.
		finish(true)
		msg := strings.TrimSpace(stderr.String())
		if c.cfg.Sudo && sudoWantsPassword([]byte(msg)) {
			return nil, ErrSudoPassword
		}
		if msg == "" {
			msg = fmt.Sprintf("unexpected answer %q", got)
		}
		return nil, fmt.Errorf("taking the host lock %s on %s failed; the host said: %s", LockPath, c.cfg, msg)
	}

	c.connMu <- struct{}{}
	c.lockConn = conn
	<-c.connMu
	var lostOnce sync.Once
	lost := func() {
		select {
		case <-stop:
			return // unlocked: the session ended on purpose
		default:
		}
		lostOnce.Do(func() {
			// Dropping the connection stops whatever was under way, and
			// connect refuses to redial while lockConn is set.
			c.forget(conn)
		})
	}
	go func() {
		select {
		case <-exited:
			lost() // the host ended the hold before we unlocked
		case <-stop:
		}
	}()
	go keepLease(conn, stdin, lease, stop, lost)
	return func() { finish(true) }, nil
}

// keepLease writes a heartbeat every third of the lease and confirms each
// with a keepalive request on the same connection, which the server
// answers only after the bytes sent before it. When the newest confirmed
// heartbeat is two thirds of a lease old, the host may soon release the
// lock, so it is treated as lost now, before anyone else can take it.
func keepLease(conn *ssh.Client, stdin io.Writer, lease time.Duration, stop <-chan struct{}, lost func()) {
	interval := lease / 3
	var confirmed atomic.Int64
	confirmed.Store(time.Now().UnixNano())
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		if time.Since(time.Unix(0, confirmed.Load())) > 2*interval {
			lost()
			return
		}
		go func(sent time.Time) {
			if _, err := stdin.Write(heartbeat); err != nil {
				lost()
				return
			}
			if _, _, err := conn.SendRequest("keepalive@openssh.com", true, nil); err != nil {
				return
			}
			for {
				old := confirmed.Load()
				if sent.UnixNano() <= old || confirmed.CompareAndSwap(old, sent.UnixNano()) {
					return
				}
			}
		}(time.Now())
	}
}

// busyWithHolder completes e with who holds the lock on the host, read
// with a fresh short context: the caller's may be over.
func (c *Client) busyWithHolder(ctx context.Context, e *LockBusyError) error {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if h, err := c.LockHolder(rctx); err == nil {
		e.Holder = h
	}
	return e
}

// LockHolder reads who holds the host lock from its holder file: nil when
// the file names no one (the lock is free, or its holder predates holder
// files).
func (c *Client) LockHolder(ctx context.Context) (*LockHolder, error) {
	out, err := c.Output(ctx, []string{"sh", "-c", readHolderScript, "mcpai-lock", LockHolderPath}, nil)
	if err != nil {
		return nil, err
	}
	return parseLockHolder(string(out))
}

// parseLockHolder reads the host's time (first line) and the holder file's
// key=value lines.
func parseLockHolder(out string) (*LockHolder, error) {
	nowLine, rest, _ := strings.Cut(out, "\n")
	now, err := strconv.ParseInt(strings.TrimSpace(nowLine), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("reading the host's time: %q", nowLine)
	}
	var h LockHolder
	found := false
	for _, line := range strings.Split(rest, "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		found = true
		switch k {
		case "machine":
			h.Machine = v
		case "pid":
			h.PID, _ = strconv.Atoi(v)
		case "user":
			h.User = v
		case "holder":
			h.Holder = v
		case "since":
			if s, err := strconv.ParseInt(v, 10, 64); err == nil {
				h.Since = time.Unix(s, 0)
				h.HeldFor = time.Duration(now-s) * time.Second
			}
		}
	}
	if !found {
		return nil, nil
	}
	return &h, nil
}

// seconds formats d for flock -w and timeout(1), which take fractions.
func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', 1, 64)
}

// oneLine keeps a holder file value on its line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// lockedBuffer is a bytes.Buffer safe for one writer and one reader.
type lockedBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
