package provider

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/mcpai/terraform-provider-mcpai/internal/acctest"
)

// TestExamplesValidate runs `terraform validate` on every resource,
// data-source and provider example, so the documentation's examples keep
// matching the schema (and its plan-time checks) as it changes.
func TestExamplesValidate(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("..", "..", "examples", "*", "*"))
	if err != nil {
		t.Fatal(err)
	}
	dirs = append(dirs, filepath.Join("..", "..", "examples", "provider"))
	for _, dir := range dirs {
		files, _ := filepath.Glob(filepath.Join(dir, "*.tf"))
		if len(files) == 0 {
			continue
		}
		t.Run(filepath.Base(dir), func(t *testing.T) {
			config := []byte("terraform {\n  required_providers {\n    mcpai = { source = \"mcpai/mcpai\" }\n  }\n}\n")
			for _, f := range files {
				data, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				config = append(append(config, data...), '\n')
			}
			w := acctest.NewWorkspace(t, string(config))
			if code, out := w.Run([]int{0, 1}, "validate"); code != 0 {
				t.Errorf("terraform validate %s:\n%s", dir, out)
			}
		})
	}
}
