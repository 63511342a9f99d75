package moduletest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/mcpai/terraform-provider-mcpai/internal/acctest"
)

// TestModulesValidate checks every module under modules/: formatted as
// `terraform fmt` writes it, and valid for `terraform validate` against the
// provider's schema. The modules are validated in a copy of modules/, so
// that `terraform get` (for modules that call their siblings) leaves
// nothing in the tree.
func TestModulesValidate(t *testing.T) {
	root := filepath.Join("..", "..", "modules")
	fmtCheck := acctest.NewWorkspace(t, "")
	fmtCheck.Dir = root
	if code, out := fmtCheck.Run([]int{0, 3}, "fmt", "-check", "-recursive", "-diff"); code != 0 {
		t.Errorf("terraform fmt -check -recursive modules/: files need formatting (run `terraform fmt -recursive modules/`):\n%s", out)
	}

	copied := filepath.Join(t.TempDir(), "modules")
	if err := os.CopyFS(copied, os.DirFS(root)); err != nil {
		t.Fatal(err)
	}
	dirs, err := filepath.Glob(filepath.Join(copied, "*"))
	if err != nil {
		t.Fatal(err)
	}
	validated := 0
	for _, dir := range dirs {
		if files, _ := filepath.Glob(filepath.Join(dir, "*.tf")); len(files) == 0 {
			continue
		}
		validated++
		t.Run(filepath.Base(dir), func(t *testing.T) {
			w := acctest.NewWorkspace(t, "")
			w.Dir = dir
			w.Run([]int{0}, "get")
			if code, out := w.Run([]int{0, 1}, "validate"); code != 0 {
				t.Errorf("terraform validate modules/%s:\n%s", filepath.Base(dir), out)
			}
		})
	}
	if validated == 0 {
		t.Fatalf("no modules found under %s", root)
	}
}
