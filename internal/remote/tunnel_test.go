package remote

import (
	"errors"
	"net"
	"os"
	"testing"
	"time"
)

// noDeadlines is a connection that, like an SSH channel, has no deadlines.
type noDeadlines struct{ net.Conn }

func (noDeadlines) SetDeadline(time.Time) error      { return errors.New("deadline not supported") }
func (noDeadlines) SetReadDeadline(time.Time) error  { return errors.New("deadline not supported") }
func (noDeadlines) SetWriteDeadline(time.Time) error { return errors.New("deadline not supported") }

func tunnelPair(t *testing.T) (*tunnelConn, net.Conn) {
	t.Helper()
	a, b := net.Pipe()
	t.Cleanup(func() { _ = a.Close(); _ = b.Close() })
	return &tunnelConn{Conn: noDeadlines{a}}, b
}

func TestTunnelConnDeadlineEndsABlockedRead(t *testing.T) {
	c, _ := tunnelPair(t)
	if err := c.SetReadDeadline(time.Now().Add(50 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := c.Read(make([]byte, 1))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read = %v, want a deadline error", err)
	}
	if d := time.Since(start); d < 40*time.Millisecond || d > 2*time.Second {
		t.Fatalf("Read returned after %v", d)
	}
}

func TestTunnelConnPastDeadlineFailsAtOnceAndKeepsTheConnection(t *testing.T) {
	c, peer := tunnelPair(t)
	if err := c.SetReadDeadline(time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read = %v, want a deadline error", err)
	}
	if err := c.SetReadDeadline(time.Time{}); err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = peer.Write([]byte("x")) }()
	buf := make([]byte, 1)
	if n, err := c.Read(buf); err != nil || n != 1 || buf[0] != 'x' {
		t.Fatalf("after clearing the deadline Read = %d, %v", n, err)
	}
}

// A pooled connection idle past an old deadline is not closed under its
// client: the timer runs only during an operation.
func TestTunnelConnIdleDeadlineDoesNotCloseIt(t *testing.T) {
	c, peer := tunnelPair(t)
	if err := c.SetDeadline(time.Now().Add(20 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(60 * time.Millisecond)
	if err := c.SetDeadline(time.Time{}); err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = peer.Write([]byte("y")) }()
	buf := make([]byte, 1)
	if n, err := c.Read(buf); err != nil || n != 1 {
		t.Fatalf("Read after an idle deadline = %d, %v", n, err)
	}
}

// A deadline moved out while a Read waits does not end it.
func TestTunnelConnExtendedDeadline(t *testing.T) {
	c, peer := tunnelPair(t)
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Millisecond))
	done := make(chan error, 1)
	go func() {
		_, err := c.Read(make([]byte, 1))
		done <- err
	}()
	time.Sleep(5 * time.Millisecond)
	_ = c.SetReadDeadline(time.Now().Add(time.Minute))
	time.Sleep(80 * time.Millisecond)
	_, _ = peer.Write([]byte("z"))
	if err := <-done; err != nil {
		t.Fatalf("Read = %v after the deadline was extended", err)
	}
}
