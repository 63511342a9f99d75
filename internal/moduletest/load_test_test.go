package moduletest

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/mcpai/terraform-provider-mcpai/internal/acctest"
)

// TestAccModuleMcpaiStack_loadTest: a change to any layer's input changes
// the load test's triggers, so it runs again. Where it runs, against what,
// with which tasks, and its refusal without an api host are tested in
// modules/mcpai-stack/tests; comparing two plans is not something
// `terraform test` can do.
func TestAccModuleMcpaiStack_loadTest(t *testing.T) {
	if testing.Short() {
		t.Skip("drives the terraform CLI")
	}
	const addr = `module.stack.mcpai_load_test.api["app"]`
	args := func(replicas int) string {
		return fmt.Sprintf(`  model_runner = { image = "mcpai-demo-model:latest" }
  api          = { image = "mcpai-demo-api:latest", replicas = %d, workers = 1, port = 18480 }
  postgres     = { db_version = 15 }
  load_test    = { enabled = true, users = 5, duration = "10s", slo = { p95_ms = 500 } }
`, replicas)
	}
	triggers := func(replicas int) any {
		t.Helper()
		w := acctest.ModuleWorkspace(t, stackConfig(t, "root", args(replicas)))
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
				triggers, _ := rc.Change.After["triggers"].(map[string]any)
				return triggers["stack_inputs"]
			}
		}
		t.Fatalf("%s is not planned", addr)
		return nil
	}
	two, three := triggers(2), triggers(3)
	if two == nil || two == three {
		t.Errorf("stack_inputs %v and %v: a changed api input must change the triggers", two, three)
	}
}
