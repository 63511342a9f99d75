package moduletest

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/mcpai/terraform-provider-mcpai/internal/acctest"
)

// TestAccModuleMcpaiStack_loadTest: the stack's load-test layer is planned
// on the api host against that host's Traefik, with the guide's tasks, and
// a change to any layer's input changes its triggers (so it runs again);
// a load test without an api host is refused before any host is read.
func TestAccModuleMcpaiStack_loadTest(t *testing.T) {
	if testing.Short() {
		t.Skip("drives the terraform CLI")
	}
	sandbox := acctest.Hosts(t)
	const addr = `module.stack.mcpai_load_test.api["app"]`
	args := func(replicas int) string {
		return fmt.Sprintf(`  model_runner = { image = "mcpai-demo-model:latest" }
  api          = { image = "mcpai-demo-api:latest", replicas = %d, workers = 1, port = 18480 }
  postgres     = { db_version = 15 }
  load_test    = { enabled = true, users = 5, duration = "10s", slo = { p95_ms = 500 } }
`, replicas)
	}
	planned := func(replicas int) map[string]any {
		t.Helper()
		w := acctest.ModuleWorkspace(t, stackConfig(t, "root", "", args(replicas)))
		w.Run([]int{0}, "plan", "-out=plan.tfplan")
		_, out := w.Run([]int{0}, "show", "-json", "plan.tfplan")
		var plan struct {
			ResourceChanges []struct {
				Address string
				Change  struct{ After map[string]any }
			} `json:"resource_changes"`
		}
		if err := json.Unmarshal([]byte(out), &plan); err != nil {
			t.Fatal(err)
		}
		for _, rc := range plan.ResourceChanges {
			if rc.Address == addr {
				return rc.Change.After
			}
		}
		t.Fatalf("%s is not planned", addr)
		return nil
	}
	lt := planned(2)
	if want := fmt.Sprintf("http://%s:18480", sandbox[1].Address); lt["target"] != want {
		t.Errorf("target %v, want Traefik on the api host, %s", lt["target"], want)
	}
	tasks, _ := lt["tasks"].([]any)
	if len(tasks) != 4 {
		t.Errorf("the guide's four tasks, got %v", lt["tasks"])
	}
	slo, _ := lt["slo"].(map[string]any)
	if slo["p95_ms"] != float64(500) {
		t.Errorf("slo %v", lt["slo"])
	}
	triggers, _ := lt["triggers"].(map[string]any)
	other, _ := planned(3)["triggers"].(map[string]any)
	if triggers["stack_inputs"] == nil || triggers["stack_inputs"] == other["stack_inputs"] {
		t.Errorf("stack_inputs %v and %v: a changed api input must change the triggers", triggers["stack_inputs"], other["stack_inputs"])
	}

	t.Run("no api host", func(t *testing.T) {
		hosts := fmt.Sprintf(`{ data = { address = %q, roles = ["db"], ssh = %s } }`, sandbox[0].Address, sandbox[0].SSHObject("root"))
		w := acctest.ModuleWorkspace(t, stackConfig(t, "root", hosts, `  postgres  = { db_version = 15 }
  load_test = { enabled = true }
`))
		planRefused(t, w, sandbox[0], "load_test.enabled needs a host with the api role")
	})
}
