package remote

import (
	"net"
	"os"
	"sync"
	"time"
)

// tunnelConn gives a tunnelled connection the deadlines an SSH channel
// lacks ("deadline not supported"), which database and cache clients set
// on every command: when a deadline passes, the channel is closed, which
// ends the blocked read or write. The connection is then spent, as a
// client treats any connection that timed out.
type tunnelConn struct {
	net.Conn
	mu      sync.Mutex
	timers  [2]*time.Timer // read, write
	expired bool
}

func (c *tunnelConn) setDeadline(which int, t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.timers[which] != nil {
		c.timers[which].Stop()
		c.timers[which] = nil
	}
	if t.IsZero() {
		return nil
	}
	expire := func() {
		c.mu.Lock()
		c.expired = true
		c.mu.Unlock()
		_ = c.Conn.Close()
	}
	d := time.Until(t)
	if d <= 0 {
		go expire()
		return nil
	}
	c.timers[which] = time.AfterFunc(d, expire)
	return nil
}

func (c *tunnelConn) SetDeadline(t time.Time) error {
	_ = c.setDeadline(0, t)
	return c.setDeadline(1, t)
}
func (c *tunnelConn) SetReadDeadline(t time.Time) error  { return c.setDeadline(0, t) }
func (c *tunnelConn) SetWriteDeadline(t time.Time) error { return c.setDeadline(1, t) }

// Read and Write report a passed deadline as the timeout it is.
func (c *tunnelConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	return n, c.timeout(err)
}

func (c *tunnelConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	return n, c.timeout(err)
}

func (c *tunnelConn) timeout(err error) error {
	if err == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.expired {
		return os.ErrDeadlineExceeded
	}
	return err
}

func (c *tunnelConn) Close() error {
	c.mu.Lock()
	for _, t := range c.timers {
		if t != nil {
			t.Stop()
		}
	}
	c.mu.Unlock()
	return c.Conn.Close()
}
