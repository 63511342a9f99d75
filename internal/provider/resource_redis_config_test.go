package provider

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/mcpai/terraform-provider-mcpai/internal/acctest"
)

const accRedisAddr = "mcpai_redis_config.test"

func redisBlock(h acctest.Host) string {
	return fmt.Sprintf(`{ address = %q, password = %q }`, h.RedisAddress, h.RedisPassword)
}

func redisConfig(t *testing.T, redisObj, extra, settings string) string {
	return acctest.ProviderBlock(t) + fmt.Sprintf(`
resource "mcpai_redis_config" "test" {
  redis    = %s
  %s
  settings = {
%s
  }
}
`, redisObj, extra, settings)
}

const redisGuide = `
    maxmemory          = "8gb"
    maxmemory-policy   = "allkeys-lru"
    save               = "900 1 300 10 60 10000"
    tcp-keepalive      = "60"
    timeout            = "300"`

func TestAccRedisConfig_lifecycle(t *testing.T) {
	h := acctest.RedisHost(t)
	before := h.RedisSnapshot(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy:             sameAs(t, redisSnapshotValues(h), redisValuesOf(before)),
		Steps: []resource.TestStep{
			{
				Config: redisConfig(t, redisBlock(h), "", redisGuide),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(accRedisAddr, tfjsonpath.New("effective").AtMapKey("maxmemory"), knownvalue.StringExact("8589934592")),
					statecheck.ExpectKnownValue(accRedisAddr, tfjsonpath.New("config_file"), knownvalue.StringExact("/etc/redis/redis.conf")),
				},
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: func(*terraform.State) error {
					if got := h.RedisConfig(t, "save"); got != "900 1 300 10 60 10000" {
						return fmt.Errorf("live save = %q", got)
					}
					// Persisted: CONFIG REWRITE wrote them into the file.
					data, err := os.ReadFile(h.RedisConf)
					if err != nil {
						return err
					}
					for _, line := range []string{"maxmemory-policy allkeys-lru", "tcp-keepalive 60", "timeout 300", "save 900 1"} {
						if !strings.Contains(string(data), line) {
							return fmt.Errorf("%s lacks %q", h.RedisConf, line)
						}
					}
					return nil
				},
			},
			{
				// The same values in other units and spacing are no change.
				Config: redisConfig(t, redisBlock(h), "", strings.NewReplacer(`"8gb"`, `"8589934592"`, `"900 1 300 10 60 10000"`, `"900 1  300 10   60 10000"`, `"allkeys-lru"`, `"ALLKEYS-LRU"`).Replace(redisGuide)),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
			{
				// An out-of-band CONFIG SET is drift.
				PreConfig: func() {
					if err := h.Redis(t).ConfigSet(context.Background(), "timeout", "100").Err(); err != nil {
						t.Fatal(err)
					}
				},
				Config: redisConfig(t, redisBlock(h), "", redisGuide),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(accRedisAddr, plancheck.ResourceActionUpdate)},
				},
				Check: func(*terraform.State) error {
					if got := h.RedisConfig(t, "timeout"); got != "300" {
						return fmt.Errorf("drift not corrected: timeout = %s", got)
					}
					return nil
				},
			},
			{
				PreConfig:         func() { t.Setenv("REDISCLI_AUTH", h.RedisPassword) },
				ResourceName:      accRedisAddr,
				ImportState:       true,
				ImportStateId:     h.RedisAddress + "/maxmemory,maxmemory-policy,save,tcp-keepalive,timeout",
				ImportStateVerify: true,
				// An import reads maxmemory in bytes (the configuration says
				// 8gb) and knows nothing of the values before.
				ImportStateVerifyIgnore: []string{"settings.maxmemory", "previous_values", "timeouts"},
			},
		},
	})
}

// redisSnapshotValues takes the live-value part of h's snapshot: destroy
// puts values back, and CONFIG REWRITE may reformat the file.
func redisSnapshotValues(h acctest.Host) func(testing.TB) string {
	return func(t testing.TB) string { return redisValuesOf(h.RedisSnapshot(t)) }
}

func redisValuesOf(snapshot string) string {
	lines := strings.Split(snapshot, "\n")
	var out []string
	for _, l := range lines {
		if !strings.HasPrefix(l, "conf ") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// tcp-backlog cannot change while Redis runs: refused without SSH, applied
// by a restart with it.
func TestAccRedisConfig_immutable(t *testing.T) {
	h := acctest.RedisHost(t)
	before := h.RedisSnapshot(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			Config:      redisConfig(t, redisBlock(h), "", `tcp-keepalive = "61", tcp-backlog = "1024"`),
			ExpectError: regexp.MustCompile(`tcp-backlog\s+cannot\s+be\s+changed\s+while\s+Redis\s+runs[\s\S]*restart\s+=\s+"allowed"[\s\S]*Nothing\s+was\s+changed`),
		}},
	})
	if after := h.RedisSnapshot(t); after != before {
		t.Fatalf("the refused apply changed Redis:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	withSSH := redisConfig(t, fmt.Sprintf(`{ address = "127.0.0.1:6379", password = %q }`, h.RedisPassword),
		fmt.Sprintf(`ssh = { host = %q }
  restart = "allowed"`, h.Address), `tcp-backlog = "1024"`)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy: func(*terraform.State) error {
			if got := h.RedisConfig(t, "tcp-backlog"); got != "511" {
				return fmt.Errorf("after destroy tcp-backlog = %s", got)
			}
			return nil
		},
		Steps: []resource.TestStep{{
			Config: withSSH,
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
			},
			Check: func(*terraform.State) error {
				if got := h.RedisConfig(t, "tcp-backlog"); got != "1024" {
					return fmt.Errorf("tcp-backlog after the restart = %s", got)
				}
				data, err := os.ReadFile(h.RedisConf)
				if err != nil {
					return err
				}
				if !regexp.MustCompile(`(?m)^tcp-backlog 1024$`).Match(data) {
					return fmt.Errorf("%s does not set tcp-backlog 1024", h.RedisConf)
				}
				return nil
			},
		}},
	})
}

func TestAccRedisConfig_badInputs(t *testing.T) {
	h := acctest.RedisHost(t)
	noconfig := fmt.Sprintf(`{ address = %q, username = %q, password = %q }`, h.RedisAddress, h.RedisNoconfigUser, h.RedisNoconfigPassword)
	cases := []struct {
		name, config, want string
	}{
		{"invalid value after a good one", redisConfig(t, redisBlock(h), "", `timeout = "299", maxmemory-policy = "sometimes"`), `maxmemory-policy`},
		{"unknown parameter", redisConfig(t, redisBlock(h), "", `maxmemroy = "1gb"`), `"maxmemroy" is not a configuration parameter`},
		{"injection in a name", redisConfig(t, redisBlock(h), "", `"timeout 1\r\nFLUSHALL" = "1"`), `Invalid Redis Parameter`},
		{"missing ACL permission", redisConfig(t, noconfig, "", `timeout = "299"`), `Missing\s+Redis\s+Permission[\s\S]*config`},
		{"restart without ssh", redisConfig(t, redisBlock(h), `restart = "allowed"`, `timeout = "299"`), `Restart Needs SSH`},
		{"protected parameter", redisConfig(t, redisBlock(h), "", `dir = "/tmp"`), `protected parameters`},
		{"secret parameter", redisConfig(t, redisBlock(h), "", `requirepass = "x"`), `Secret Redis Parameter`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := h.RedisSnapshot(t)
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: testAccProviders,
				Steps:                    []resource.TestStep{{Config: tc.config, ExpectError: regexp.MustCompile(strings.ReplaceAll(tc.want, " ", `\s+`))}},
			})
			if after := h.RedisSnapshot(t); after != before {
				t.Fatalf("Redis changed:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		})
	}
	// A wrong password: a clear error without the secret anywhere in what
	// Terraform prints.
	w := acctest.NewWorkspace(t, redisConfig(t, fmt.Sprintf(`{ address = %q, password = var.pw }`, h.RedisAddress), "", `timeout = "299"`)+
		"variable \"pw\" {\n  type      = string\n  sensitive = true\n}\n")
	_, out := w.Run([]int{1}, "apply", "-auto-approve", "-var", "pw=not-the-secret-4711")
	if !regexp.MustCompile(`Redis\s+Authentication\s+Failed`).MatchString(out) || strings.Contains(out, "not-the-secret-4711") {
		t.Errorf("wrong password: unexpected output:\n%s", out)
	}
}

// Over TLS, verified against the sandbox's CA.
func TestAccRedisConfig_tls(t *testing.T) {
	h := acctest.RedisHost(t)
	before := redisValuesOf(h.RedisSnapshot(t))
	tlsObj := fmt.Sprintf(`{ address = %q, password = %q, tls = { ca_cert = file(%q) } }`, h.RedisTLSAddress, h.RedisPassword, h.RedisCACert)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy:             sameAs(t, redisSnapshotValues(h), before),
		Steps: []resource.TestStep{{
			Config: redisConfig(t, tlsObj, "", `tcp-keepalive = "59"`),
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
			},
			Check: func(*terraform.State) error {
				if got := h.RedisConfig(t, "tcp-keepalive"); got != "59" {
					return fmt.Errorf("tcp-keepalive over TLS = %s", got)
				}
				return nil
			},
		}},
	})
}
