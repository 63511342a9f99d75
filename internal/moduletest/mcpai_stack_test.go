package moduletest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/mcpai/terraform-provider-mcpai/internal/acctest"
)

// stackConfig calls modules/mcpai-stack with the sandbox's first two hosts
// (app: api+gpu on h2, data: db+cache on h1), each with its own ssh object
// as user; args are more inputs.
func stackConfig(t *testing.T, user, args string) string {
	t.Helper()
	sandbox := acctest.Hosts(t)
	if len(sandbox) < 2 {
		t.Fatal("the stack tests need sandbox hosts h1 and h2; run scripts/sandbox.sh up 2")
	}
	hosts := fmt.Sprintf(`{
    app  = { address = %q, roles = ["api", "gpu"], ssh = %s }
    data = { address = %q, roles = ["db", "cache"], ssh = %s, shared_kernel = true }
  }`, sandbox[1].Address, sandbox[1].SSHObject(user), sandbox[0].Address, sandbox[0].SSHObject(user))
	return fmt.Sprintf(`terraform {
  required_providers {
    mcpai = { source = "mcpai/mcpai" }
  }
}

provider "mcpai" {}

module "stack" {
  source = "../../modules/mcpai-stack"
  hosts  = %s
%s
}
`, hosts, args)
}

// A layer's bad input, refused by that layer's module (called with
// validate_only), stops the stack's plan before any host is reached: the
// SSH user is one no host has, so any attempt shows in the hosts' sshd logs
// as "Invalid user". The stack's own validation is tested in
// modules/mcpai-stack/tests; a failure inside a child module is out of
// expect_failures' reach, so these cases stay here.
func TestAccModuleMcpaiStack_validation(t *testing.T) {
	if testing.Short() {
		t.Skip("drives the terraform CLI")
	}
	sandbox := acctest.Hosts(t)
	const good = `  postgres     = { db_version = 15 }
  model_runner = { image = "mcpai-demo-model:latest" }
  api          = { image = "mcpai-demo-api:latest" }
`
	// with replaces the first `from` in good.
	with := func(from, to string) string { return strings.Replace(good, from, to, 1) }
	const runner, api = `image = "mcpai-demo-model:latest"`, `image = "mcpai-demo-api:latest"`
	for name, tc := range map[string]struct{ args, want string }{
		"sysctl key":      {good + `  host_tuning = { sysctls = { "vm.swappiness; reboot" = "1" } }`, `extra_settings keys must be sysctl keys`},
		"leave_alone":     {good + `  host_tuning = { leave_alone = ["swap; reboot"] }`, `leave_alone takes sysctl keys`},
		"docker log size": {good + `  docker = { log_max_size = "10MB" }`, `log_max_size must be a whole number followed by k, m or g`},
		"postgres type":   {with(`db_version = 15`, `db_version = 15, db_type = "olap"`), `db_type must be`},
		"redis policy":    {good + `  redis = { maxmemory_policy = "lru" }`, `maxmemory_policy must be`},
		"runner server":   {with(runner, runner+`, server = "sglang"`), `server must be`},
		"api replicas":    {with(api, api+`, replicas = 0`), `replicas must be a whole number from 1 to 64`},
		"api loop":        {with(api, api+`, loop = "trio"`), `loop must be uvloop, asyncio or auto`},
		"alert threshold": {good + `  monitoring = { thresholds = { error_ratio = 2 } }`, `thresholds.error_ratio must be a fraction between 0 and 1`},
	} {
		t.Run(name, func(t *testing.T) {
			w := acctest.ModuleWorkspace(t, stackConfig(t, probeUser, tc.args))
			before := []int{probes(t, sandbox[0]), probes(t, sandbox[1])}
			_, out := w.Run([]int{1}, "plan")
			if !acctest.ErrorWords(tc.want).MatchString(out) {
				t.Errorf("plan output lacks %q:\n%s", tc.want, out)
			}
			for i, h := range sandbox[:2] {
				if n := probes(t, h) - before[i]; n != 0 {
					t.Errorf("the plan tried to log in to %s %d times", h.Name, n)
				}
			}
		})
	}
	// Control: with good inputs the plan does reach the hosts (and fails
	// there, as the user does not exist), so the checks above can see an
	// attempt.
	t.Run("control", func(t *testing.T) {
		w := acctest.ModuleWorkspace(t, stackConfig(t, probeUser, good))
		before := probes(t, sandbox[0])
		_, out := w.Run([]int{1}, "plan")
		if !strings.Contains(out, "SSH Authentication Failed") {
			t.Errorf("plan with good inputs and an unknown user:\n%s", out)
		}
		if probes(t, sandbox[0]) == before {
			t.Error("the control plan made no SSH attempt: the checks above would not see one")
		}
	})
}
