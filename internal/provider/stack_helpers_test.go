package provider

import (
	"encoding/json"
	"testing"

	"github.com/mcpai/terraform-provider-mcpai/internal/acctest"
)

// outputJSON decodes the workspace's output name into v.
func outputJSON(t *testing.T, w *acctest.Workspace, name string, v any) {
	t.Helper()
	_, out := w.Run([]int{0}, "output", "-json", name)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("output %s: %v:\n%s", name, err, out)
	}
}

// planEmpty checks that a plan after apply has nothing to do: with
// -detailed-exitcode, 0 is no change and 2 a change.
func planEmpty(t *testing.T, w *acctest.Workspace) {
	t.Helper()
	if code, out := w.Run([]int{0, 2}, "plan", "-detailed-exitcode"); code != 0 {
		t.Errorf("the plan after apply is not empty:\n%s", out)
	}
}
