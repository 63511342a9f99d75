package remote

import (
	"net"
	"syscall"
)

// tcpQuickAck is Linux's TCP_QUICKACK socket option.
const tcpQuickAck = 0xc

// quickAckConn acknowledges every segment it reads at once. sshd leaves
// Nagle's algorithm on for non-interactive sessions, so a reply that follows
// an unacknowledged packet (after authentication, the host-keys notice) waits
// for our delayed ACK: 40 ms on the first command of every connection.
// Setting TCP_QUICKACK after a read sends any pending ACK immediately.
type quickAckConn struct {
	*net.TCPConn
	raw syscall.RawConn
}

func withQuickAck(c net.Conn) net.Conn {
	tcp, ok := c.(*net.TCPConn)
	if !ok {
		return c
	}
	raw, err := tcp.SyscallConn()
	if err != nil {
		return c
	}
	return quickAckConn{TCPConn: tcp, raw: raw}
}

func (c quickAckConn) Read(p []byte) (int, error) {
	n, err := c.TCPConn.Read(p)
	if n > 0 {
		_ = c.raw.Control(func(fd uintptr) {
			_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, tcpQuickAck, 1)
		})
	}
	return n, err
}
