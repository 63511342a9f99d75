package moduletest

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/mcpai/terraform-provider-mcpai/internal/acctest"
)

// redisModuleParams are the parameters the module sets with persistence
// "rdb" or "aof" and lazyfree on.
var redisModuleParams = []string{
	"maxmemory", "maxmemory-policy", "save", "appendonly", "appendfsync", "tcp-keepalive", "timeout",
	"lazyfree-lazy-eviction", "lazyfree-lazy-expire", "lazyfree-lazy-server-del", "lazyfree-lazy-user-del", "replica-lazy-flush",
}

// redisModuleValues are the live values of redisModuleParams, one per
// line: what the tests compare before and after (CONFIG REWRITE may
// reformat redis.conf, so the file is not compared).
func redisModuleValues(t *testing.T, h acctest.Host) string {
	t.Helper()
	var b strings.Builder
	for _, p := range redisModuleParams {
		fmt.Fprintf(&b, "%s=%s\n", p, h.RedisConfig(t, p))
	}
	return b.String()
}

// checkRedis compares the server's live values with want.
func checkRedis(t *testing.T, h acctest.Host, want map[string]string) {
	t.Helper()
	for p, v := range want {
		if got := h.RedisConfig(t, p); got != v {
			t.Errorf("%s = %q, want %q", p, got, v)
		}
	}
}

// redisArgs are the connection arguments for h's Redis, reached directly.
func redisArgs(h acctest.Host) string {
	return fmt.Sprintf("  address  = %q\n  password = %q\n", h.RedisAddress, h.RedisPassword)
}

// hostMemory is MemTotal of h in bytes, as mcpai_host_facts reads it.
func hostMemory(t *testing.T, h acctest.Host) int64 {
	t.Helper()
	kb, err := strconv.ParseInt(h.InHost(t, "awk '/^MemTotal:/ {print $2}' /proc/meminfo"), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return kb * 1024
}

// The module applies the guide's Redis settings with maxmemory sized from
// the host's memory, switches persistence to AOF with an explicit
// maxmemory in place, plans empty after each apply, and destroy puts every
// value back.
func TestAccModuleRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("drives the terraform CLI")
	}
	h := acctest.RedisHost(t)
	before := redisModuleValues(t, h)
	// CONFIG SET appendonly yes writes an AOF into Redis's dir; remove it
	// afterwards if it was not there before.
	if h.InHost(t, "ls -A /var/lib/redis") == "" {
		t.Cleanup(func() { h.InHost(t, "rm -rf /var/lib/redis/appendonlydir") })
	}

	w := callModule(t, "redis", redisArgs(h), "maxmemory", "previous_values")
	w.Run([]int{0}, "apply", "-auto-approve")
	destroyed := false
	t.Cleanup(func() {
		if !destroyed {
			w.Run([]int{0}, "destroy", "-auto-approve")
		}
	})
	half := hostMemory(t, h) / 2 / 1048576
	guide := map[string]string{
		"maxmemory":                strconv.FormatInt(half*1048576, 10),
		"maxmemory-policy":         "allkeys-lru",
		"save":                     "900 1 300 10 60 10000",
		"appendonly":               "no",
		"tcp-keepalive":            "60",
		"timeout":                  "300",
		"lazyfree-lazy-eviction":   "yes",
		"lazyfree-lazy-expire":     "yes",
		"lazyfree-lazy-server-del": "yes",
		"lazyfree-lazy-user-del":   "yes",
		"replica-lazy-flush":       "yes",
	}
	checkRedis(t, h, guide)
	if _, out := w.Run([]int{0}, "output", "-json", "maxmemory"); out != fmt.Sprintf("\"%dmb\"\n", half) {
		t.Errorf("maxmemory output %s, want %dmb (half of the host's memory)", out, half)
	}
	var previous map[string]string
	_, out := w.Run([]int{0}, "output", "-json", "previous_values")
	if err := json.Unmarshal([]byte(out), &previous); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(before), "\n") {
		p, v, _ := strings.Cut(line, "=")
		if got, ok := previous[p]; p != "appendfsync" && (!ok || got != v) {
			t.Errorf("previous_values[%s] = %q, want %q", p, got, v)
		}
	}
	w.PlanEmpty()

	recallModule(t, w, "redis", redisArgs(h)+`  persistence = "aof"
  maxmemory   = "256mb"
`)
	w.Run([]int{0}, "apply", "-auto-approve")
	guide["maxmemory"], guide["save"], guide["appendonly"], guide["appendfsync"] = "268435456", "", "yes", "everysec"
	checkRedis(t, h, guide)
	w.PlanEmpty()

	w.Run([]int{0}, "destroy", "-auto-approve")
	destroyed = true
	if after := redisModuleValues(t, h); after != before {
		t.Errorf("not restored:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// Through an SSH tunnel to the Redis host, with address as that host sees
// it: maxmemory is sized from the SSH host, and persistence none turns
// snapshots off.
func TestAccModuleRedis_sshTunnel(t *testing.T) {
	if testing.Short() {
		t.Skip("drives the terraform CLI")
	}
	h := acctest.RedisHost(t)
	before := redisModuleValues(t, h)
	w := callModule(t, "redis", fmt.Sprintf(`  address            = "127.0.0.1:6379"
  password           = %q
  ssh_host           = %q
  maxmemory_fraction = 0.25
  persistence        = "none"
  lazyfree           = null
`, h.RedisPassword, h.Address), "settings")
	w.Run([]int{0}, "apply", "-auto-approve")
	destroyed := false
	t.Cleanup(func() {
		if !destroyed {
			w.Run([]int{0}, "destroy", "-auto-approve")
		}
	})
	quarter := hostMemory(t, h) / 4 / 1048576 * 1048576
	checkRedis(t, h, map[string]string{
		"maxmemory": strconv.FormatInt(quarter, 10), "save": "", "appendonly": "no", "maxmemory-policy": "allkeys-lru",
	})
	if _, out := w.Run([]int{0}, "output", "-json", "settings"); strings.Contains(out, "lazyfree") {
		t.Errorf("lazyfree = null still sets lazyfree parameters: %s", out)
	}
	w.PlanEmpty()
	w.Run([]int{0}, "destroy", "-auto-approve")
	destroyed = true
	if after := redisModuleValues(t, h); after != before {
		t.Errorf("not restored:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// A bad input is refused at plan time, before the server or its host is
// touched (each validation is tested in modules/redis/tests); a parameter
// Redis cannot change at runtime is refused by the resource.
func TestAccModuleRedis_validation(t *testing.T) {
	if testing.Short() {
		t.Skip("drives the terraform CLI")
	}
	h := acctest.RedisHost(t)
	before := h.RedisSnapshot(t)
	t.Run("secret in extra", func(t *testing.T) {
		// maxmemory is left to be sized from the host, which is not read
		// when an input is bad.
		w := callModule(t, "redis", redisArgs(h)+"  extra_settings = { requirepass = \"x\" }\n")
		planRefused(t, w, h, `extra_settings must not hold secrets`)
	})
	// A parameter Redis cannot change at runtime is refused by the
	// resource when it reads the server, before anything is set.
	t.Run("immutable in extra", func(t *testing.T) {
		w := callModule(t, "redis", redisArgs(h)+"  maxmemory = \"1gb\"\n  extra_settings = { databases = \"32\" }\n")
		_, out := w.Run([]int{1}, "apply", "-auto-approve")
		if want := "databases cannot be changed while Redis runs"; !strings.Contains(strings.Join(strings.Fields(out), " "), want) {
			t.Errorf("apply output lacks %q:\n%s", want, out)
		}
	})
	if after := h.RedisSnapshot(t); after != before {
		t.Errorf("the server changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}
