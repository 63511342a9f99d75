package remote_test

import (
	"context"
	"sync"
	"testing"

	"github.com/mcpai/terraform-provider-mcpai/internal/acctest"
	"github.com/mcpai/terraform-provider-mcpai/internal/remote"
)

var benchPaths = []string{"/etc/sysctl.d/90-mcpai.conf", "/proc/sys/net/core/somaxconn"}

// BenchmarkCommandPooled: one command (reading a sysctl file and a value)
// on a connection that is already open.
func BenchmarkCommandPooled(b *testing.B) {
	c := connectedClient(b)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.ReadFiles(ctx, benchPaths...); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCommandNewConnection: the same command on a fresh connection
// each time (dial, key exchange, authentication), as tools without a pool
// pay for every step.
func BenchmarkCommandNewConnection(b *testing.B) {
	h := acctest.Hosts(b)[len(acctest.Hosts(b))-1]
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		pool := remote.NewPool()
		if _, err := pool.Client(h.Config(b)).ReadFiles(ctx, benchPaths...); err != nil {
			b.Fatal(err)
		}
		pool.Close()
	}
}

// BenchmarkRefresh20Concurrent: 20 reads issued at once on one pooled
// connection, as Terraform's refresh of 20 resources does.
func BenchmarkRefresh20Concurrent(b *testing.B) {
	c := connectedClient(b)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var wg sync.WaitGroup
		for j := 0; j < 20; j++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := c.ReadFiles(ctx, benchPaths...); err != nil {
					b.Error(err)
				}
			}()
		}
		wg.Wait()
	}
}

// connectedClient is a pooled client on the last sandbox host whose
// connection is already open.
func connectedClient(b *testing.B) *remote.Client {
	h := acctest.Hosts(b)[len(acctest.Hosts(b))-1]
	pool := remote.NewPool()
	b.Cleanup(pool.Close)
	c := pool.Client(h.Config(b))
	if _, err := c.ReadFiles(context.Background(), benchPaths...); err != nil {
		b.Fatal(err)
	}
	return c
}
