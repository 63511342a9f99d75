package provider

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/types"
	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/mcpai/terraform-provider-mcpai/internal/acctest"
	"github.com/mcpai/terraform-provider-mcpai/internal/remote"
)

// A direct connection without sslmode never falls back to plaintext;
// through an SSH tunnel, which encrypts, prefer stays the default; a
// sslmode the user sets is kept.
func TestPostgresSSLModeDefault(t *testing.T) {
	pool := remote.NewPool()
	t.Cleanup(pool.Close)
	tunnel := pool.Client(remote.Config{Endpoint: remote.Endpoint{Host: "10.0.0.5"}})
	for _, tt := range []struct {
		name      string
		sslmode   types.String
		tunnel    *remote.Client
		want      string
		plaintext bool
	}{
		{"direct, unset", types.StringNull(), nil, "require", false},
		{"tunnelled, unset", types.StringNull(), tunnel, "prefer", true},
		{"direct, disable", types.StringValue("disable"), nil, "disable", true},
		{"direct, verify-full", types.StringValue("verify-full"), nil, "verify-full", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := postgresModel{User: types.StringValue("postgres"), SSLMode: tt.sslmode}
			if got := m.sslmode(tt.tunnel); got != tt.want {
				t.Errorf("sslmode = %q, want %q", got, tt.want)
			}
			cfg, err := m.pgConfig(tt.tunnel, time.Second)
			if err != nil {
				t.Fatal(err)
			}
			plaintext := cfg.TLSConfig == nil
			for _, f := range cfg.Fallbacks {
				plaintext = plaintext || f.TLSConfig == nil
			}
			if plaintext != tt.plaintext {
				t.Errorf("may connect in plaintext = %v, want %v", plaintext, tt.plaintext)
			}
		})
	}
}

// TestAccPostgres_plaintextRefusedByDefault: without ssh and sslmode, a
// server that offers no TLS is refused before the password is sent, with
// what to do; sslmode = "disable" opts out; a server with TLS (the
// sandbox's) needs no setting.
func TestAccPostgres_plaintextRefusedByDefault(t *testing.T) {
	h := pgHost(t)
	const table, index = "mcpai_acc_tls", "mcpai_acc_tls_tenant"
	h.CreateIndexTable(t, table)
	front, loggedIn := noTLSFront(t, fmt.Sprintf("%s:%d", h.Address, h.PostgresPort))
	config := func(host string, port int, sslmode string) string {
		return acctest.ProviderBlock(t) + fmt.Sprintf(`
resource "mcpai_postgres_index" "test" {
  postgres = { host = %q, port = %d, user = %q, password = %q, database = %q %s }
  name     = %q
  table    = %q
  columns  = [{ name = "tenant" }]
}
`, host, port, h.PostgresUser, h.PostgresPassword, h.PostgresDatabase, sslmode, index, table)
	}
	nothingSent := func() {
		if n := loggedIn.Load(); n != 0 {
			t.Errorf("%d connections went on to log in in plaintext", n)
		}
		if li := h.Index(t, index); li.OID != 0 {
			t.Errorf("a refused connection changed the server: %s", li.Definition)
		}
	}
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy:             indexGone(t, h, index),
		Steps: []tfresource.TestStep{
			{
				Config: config(front.IP.String(), front.Port, ""),
				ExpectError: errorParts("Unable to Connect to PostgreSQL", "offers no TLS", `(sslmode is "require")`,
					"Turn on ssl", "through ssh", `set sslmode = "disable"`, "Nothing was changed"),
			},
			{
				PreConfig: nothingSent,
				Config:    config(front.IP.String(), front.Port, `, sslmode = "disable"`),
				Check: func(*terraform.State) error {
					if loggedIn.Load() == 0 || h.Index(t, index).OID == 0 {
						return fmt.Errorf("sslmode = \"disable\" did not connect in plaintext and build the index")
					}
					return nil
				},
			},
			{
				// The sandbox's server has TLS: the default connects.
				Config: config(h.Address, h.PostgresPort, ""),
				Check: func(*terraform.State) error {
					if h.Index(t, index).OID == 0 {
						return fmt.Errorf("no index %s after the apply over TLS", index)
					}
					return nil
				},
			},
		},
	})
}

// noTLSFront stands for a server without TLS in front of target: it
// answers every SSLRequest "N", as a server with ssl = off does, and
// passes anything else through. loggedIn counts the connections that went
// on to send a startup message.
func noTLSFront(t *testing.T, target string) (*net.TCPAddr, *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	var loggedIn atomic.Int64
	const sslRequest, gssRequest = 80877103, 80877104
	serve := func(c net.Conn) {
		defer c.Close() //nolint:errcheck // test server
		var head [8]byte
		for {
			if _, err := io.ReadFull(c, head[:]); err != nil {
				return
			}
			code := binary.BigEndian.Uint32(head[4:])
			if binary.BigEndian.Uint32(head[:4]) != 8 || (code != sslRequest && code != gssRequest) {
				break
			}
			if _, err := c.Write([]byte("N")); err != nil {
				return
			}
		}
		loggedIn.Add(1)
		server, err := net.Dial("tcp", target)
		if err != nil {
			return
		}
		defer server.Close() //nolint:errcheck // test server
		if _, err := server.Write(head[:]); err != nil {
			return
		}
		go func() { _, _ = io.Copy(server, c) }()
		_, _ = io.Copy(c, server)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go serve(c)
		}
	}()
	return ln.Addr().(*net.TCPAddr), &loggedIn
}
