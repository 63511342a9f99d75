package provider

import (
	"context"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/mcpai/terraform-provider-mcpai/internal/acctest"
	"github.com/mcpai/terraform-provider-mcpai/internal/remote"
)

const lockTestHolder = "lock-test-holder"

// holdHostLock takes h's host lock as another Terraform run would; the
// returned func releases it (also at cleanup).
func holdHostLock(t *testing.T, h acctest.Host) func() {
	t.Helper()
	pool := remote.NewPool()
	t.Cleanup(pool.Close)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	unlock, err := pool.Client(h.Config(t)).Lock(ctx, remote.LockOptions{Holder: lockTestHolder})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(unlock)
	return unlock
}

// Every resource that changes a host waits for the host lock that another
// run holds, gives up within its timeout with an error naming the holder,
// and changes nothing.
func TestAccHostLock_resourcesWait(t *testing.T) {
	h := pgHost(t)
	const file, table, index, container = "/tmp/mcpai-acc-lock.txt", "mcpai_acc_lock_table", "mcpai_acc_lock_idx", "mcpai-acc-lock"
	h.CreateIndexTable(t, table)
	clearContainers(t, h, container)
	h.InHost(t, "rm -f "+file)
	workMem, redisTimeout := h.PostgresSetting(t, "work_mem"), h.RedisConfig(t, "timeout")
	short := `timeouts = { create = "6s" }`
	ssh := fmt.Sprintf("ssh = { host = %q }", h.Address)
	for _, tc := range []struct {
		name, config string
		unchanged    func() error
	}{
		{"host_file", fmt.Sprintf(`
resource "mcpai_host_file" "test" {
  %s
  path    = %q
  content = "locked out\n"
  %s
}`, ssh, file, short), func() error {
			if got := h.InHost(t, "test -e "+file+" && echo yes || echo no"); got != "no" {
				return fmt.Errorf("%s was written", file)
			}
			return nil
		}},
		{"postgres_tuning", fmt.Sprintf(`
resource "mcpai_postgres_tuning" "test" {
  %s
  postgres = %s
  settings = { work_mem = "7MB" }
  %s
}`, ssh, pgBlock(h, "127.0.0.1"), short), func() error {
			if got := h.PostgresSetting(t, "work_mem"); got != workMem {
				return fmt.Errorf("work_mem = %s, was %s", got, workMem)
			}
			return nil
		}},
		{"postgres_index", fmt.Sprintf(`
resource "mcpai_postgres_index" "test" {
  %s
  postgres = %s
  name     = %q
  table    = %q
  columns  = [{ name = "tenant" }]
  %s
}`, ssh, pgBlock(h, "127.0.0.1"), index, table, short), func() error {
			return indexGone(t, h, index)(nil)
		}},
		{"redis_config", fmt.Sprintf(`
resource "mcpai_redis_config" "test" {
  %s
  redis    = { address = "127.0.0.1:6379", password = %q }
  settings = { timeout = "123" }
  %s
}`, ssh, h.RedisPassword, short), func() error {
			if got := h.RedisConfig(t, "timeout"); got != redisTimeout {
				return fmt.Errorf("timeout = %s, was %s", got, redisTimeout)
			}
			return nil
		}},
		{"container", fmt.Sprintf(`
resource "mcpai_container" "test" {
  %s
  name  = %q
  image = %q
  %s
}`, ssh, container, h.DockerImage, short), func() error {
			return noContainer(t, h, container)(nil)
		}},
		{"gpu_model_runner", fmt.Sprintf(`
resource "mcpai_gpu_model_runner" "test" {
  %s
  name    = %q
  image   = %q
  server  = "vllm"
  command = ["--model", "/models/llama"]
  %s
}`, ssh, container, acctest.ModelImageReady, short), func() error {
			return noContainer(t, h, container)(nil)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			unlock := holdHostLock(t, h)
			defer unlock()
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: testAccProviders,
				Steps: []resource.TestStep{{
					Config:      acctest.ProviderBlock(t) + tc.config,
					ExpectError: regexp.MustCompile(`held\s+by\s+` + lockTestHolder + `\s+\(provider\s+pid\s+\d+`),
				}},
			})
			if err := tc.unchanged(); err != nil {
				t.Fatalf("a change was made without the host lock: %v", err)
			}
		})
	}
}

// An apply that waits for the lock goes on once the other run releases it.
func TestAccHostLock_waitThenApply(t *testing.T) {
	h := acctest.FirstHost(t)
	const file = "/tmp/mcpai-acc-lock-wait.txt"
	h.InHost(t, "rm -f "+file)
	t.Cleanup(func() { h.InHost(t, "rm -f "+file) })
	released := make(chan struct{})
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			PreConfig: func() {
				unlock := holdHostLock(t, h)
				time.AfterFunc(3*time.Second, func() { unlock(); close(released) })
			},
			Config: acctest.ProviderBlock(t) + fmt.Sprintf(`
resource "mcpai_host_file" "test" {
  ssh     = { host = %q }
  path    = %q
  content = "after the wait\n"
}`, h.Address, file),
			Check: func(*terraform.State) error {
				select {
				case <-released:
				default:
					return fmt.Errorf("the apply finished before the other run released the lock")
				}
				if got := h.InHost(t, "cat "+file); got != "after the wait" {
					return fmt.Errorf("%s holds %q", file, got)
				}
				return nil
			},
		}},
	})
}
