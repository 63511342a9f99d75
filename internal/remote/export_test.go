package remote

import (
	"net"
	"testing"
)

// RelayOf says which relay carries conn, and the relay's pid on the host;
// "" and 0 for a direct channel.
func RelayOf(conn net.Conn) (tool string, pid int) {
	if t, ok := conn.(*tunnelConn); ok {
		conn = t.Conn
	}
	if r, ok := conn.(*relayConn); ok {
		return r.tool, r.pid
	}
	return "", 0
}

// UseRelays makes the client's relays try only tools, in order, until the
// test ends.
func UseRelays(t testing.TB, tools ...string) {
	old := relayTools
	relayTools = tools
	t.Cleanup(func() { relayTools = old })
}

// ViaRelay says whether c goes straight to the relay for the socket at path.
func ViaRelay(c *Client, path string) bool { return c.viaRelay(path) }
