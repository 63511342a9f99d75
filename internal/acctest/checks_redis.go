package acctest

import (
	"context"
	"crypto/md5" //nolint:gosec // fingerprints only
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

// RedisParams are the Redis parameters the tests change.
var RedisParams = []string{"maxmemory", "maxmemory-policy", "save", "tcp-keepalive", "timeout", "tcp-backlog"}

// RedisHost is the sandbox's first host, which must run Redis.
func RedisHost(t testing.TB) Host {
	t.Helper()
	h := FirstHost(t)
	if h.RedisAddress == "" {
		t.Fatal("the sandbox hosts run no Redis; run scripts/sandbox.sh up 2")
	}
	return h
}

// Redis is the tests' own client of h's Redis, as the default user; it
// closes when the test ends.
func (h Host) Redis(t testing.TB) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: h.RedisAddress, Password: h.RedisPassword, Protocol: 2, DisableIdentity: true})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// RedisSnapshot is what the Redis tests could change on h: the live values
// of RedisParams and a fingerprint of the config file.
func (h Host) RedisSnapshot(t testing.TB) string {
	t.Helper()
	c := h.Redis(t)
	var b strings.Builder
	for _, p := range RedisParams {
		v, err := c.ConfigGet(context.Background(), p).Result()
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s=%s\n", p, v[p])
	}
	data, err := os.ReadFile(h.RedisConf)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&b, "conf %x\n", md5.Sum(data)) //nolint:gosec // fingerprint only
	return b.String()
}

// RedisConfig is CONFIG GET p on h's Redis.
func (h Host) RedisConfig(t testing.TB, p string) string {
	t.Helper()
	v, err := h.Redis(t).ConfigGet(context.Background(), p).Result()
	if err != nil {
		t.Fatal(err)
	}
	return v[p]
}
