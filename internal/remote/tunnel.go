package remote

import (
	"net"
	"os"
	"sync"
	"time"
)

// tunnelConn gives a tunnelled connection the deadlines an SSH channel
// lacks ("deadline not supported"), which database and cache clients set on
// every command. A deadline already past fails a Read or Write at once, as
// on a socket. A deadline that passes while a Read or Write is blocked can
// only end it by closing the channel: the connection is then spent, as
// clients treat any connection that timed out mid-command. Timers run only
// while an operation is in progress, so an idle pooled connection with an
// old deadline is never closed behind its client's back.
type tunnelConn struct {
	net.Conn
	mu       sync.Mutex
	deadline [2]time.Time // read, write
	active   [2]int
	timer    [2]*time.Timer
	gen      [2]uint64
	expired  bool
}

const (
	reading = 0
	writing = 1
)

// arm (re)starts the timer of one direction while an operation of it is in
// progress. Called with mu held.
func (c *tunnelConn) arm(which int) {
	c.gen[which]++
	if c.timer[which] != nil {
		c.timer[which].Stop()
		c.timer[which] = nil
	}
	dl := c.deadline[which]
	if c.active[which] == 0 || dl.IsZero() {
		return
	}
	gen := c.gen[which]
	c.timer[which] = time.AfterFunc(time.Until(dl), func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		// Only the current timer of a running operation may expire it.
		if c.gen[which] == gen && c.active[which] > 0 {
			c.expired = true
			_ = c.Conn.Close()
		}
	})
}

func (c *tunnelConn) set(which int, t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.deadline[which] = t
	c.arm(which)
}

func (c *tunnelConn) SetDeadline(t time.Time) error {
	c.set(reading, t)
	c.set(writing, t)
	return nil
}
func (c *tunnelConn) SetReadDeadline(t time.Time) error  { c.set(reading, t); return nil }
func (c *tunnelConn) SetWriteDeadline(t time.Time) error { c.set(writing, t); return nil }

// begin starts an operation; it fails at once when the deadline has passed.
func (c *tunnelConn) begin(which int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.expired {
		return os.ErrDeadlineExceeded
	}
	if dl := c.deadline[which]; !dl.IsZero() && !time.Now().Before(dl) {
		return os.ErrDeadlineExceeded
	}
	c.active[which]++
	c.arm(which)
	return nil
}

// end finishes an operation and says whether a deadline ended it.
func (c *tunnelConn) end(which int, err error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.active[which]--
	c.arm(which)
	if err != nil && c.expired {
		return os.ErrDeadlineExceeded
	}
	return err
}

func (c *tunnelConn) Read(p []byte) (int, error) {
	if err := c.begin(reading); err != nil {
		return 0, err
	}
	n, err := c.Conn.Read(p)
	return n, c.end(reading, err)
}

func (c *tunnelConn) Write(p []byte) (int, error) {
	if err := c.begin(writing); err != nil {
		return 0, err
	}
	n, err := c.Conn.Write(p)
	return n, c.end(writing, err)
}

func (c *tunnelConn) Close() error {
	c.mu.Lock()
	for i, t := range c.timer {
		if t != nil {
			t.Stop()
			c.timer[i] = nil
		}
		c.gen[i]++
	}
	c.mu.Unlock()
	return c.Conn.Close()
}
