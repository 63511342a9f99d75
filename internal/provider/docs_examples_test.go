package provider

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/mcpai/terraform-provider-mcpai/internal/acctest"
)

var (
	hclBlock    = regexp.MustCompile("(?s)```(?:hcl|terraform)\n(.*?)```")
	registrySrc = regexp.MustCompile(`source(\s*)= "mcpai/mcpai//modules/`)
	variableRef = regexp.MustCompile(`\bvar\.([A-Za-z_][A-Za-z0-9_-]*)`)
)

// TestDocsExamplesValidate runs `terraform validate` on every example in the
// modules' READMEs and the hand-written guides that calls one of this
// repository's modules, against the modules as they are in the tree: an
// input renamed or retyped fails here, not for a reader. The registry
// source becomes the local path; the variables an example reads are
// declared.
func TestDocsExamplesValidate(t *testing.T) {
	pages, err := filepath.Glob(filepath.Join("..", "..", "modules", "*", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	guides, err := filepath.Glob(filepath.Join("..", "..", "templates", "guides", "*.md.tmpl"))
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range guides {
		// Module pages are their READMEs again.
		if !strings.HasPrefix(filepath.Base(g), "module-") {
			pages = append(pages, g)
		}
	}
	found := 0
	for _, page := range pages {
		content, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		for i, m := range hclBlock.FindAllStringSubmatch(string(content), -1) {
			example := m[1]
			if !registrySrc.MatchString(example) {
				continue
			}
			found++
			rel, _ := filepath.Rel(filepath.Join("..", ".."), page)
			t.Run(fmt.Sprintf("%s#%d", rel, i+1), func(t *testing.T) {
				w := acctest.ModuleWorkspace(t, exampleConfig(example))
				// The examples read keys from ~/.ssh: give them a home
				// that has (empty) ones.
				home := t.TempDir()
				for _, f := range []string{"id_ed25519", "known_hosts"} {
					if err := os.MkdirAll(filepath.Join(home, ".ssh"), 0o700); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(filepath.Join(home, ".ssh", f), nil, 0o600); err != nil {
						t.Fatal(err)
					}
				}
				w.Setenv("HOME", home)
				if code, out := w.Run([]int{0, 1}, "validate"); code != 0 {
					t.Errorf("terraform validate of the example in %s:\n%s\n%s", rel, out, example)
				}
			})
		}
	}
	if found < len(pages)/2 {
		t.Fatalf("only %d module examples in %d pages: the pattern no longer finds them", found, len(pages))
	}
}

// exampleConfig makes a documentation example a configuration of its own.
func exampleConfig(example string) string {
	config := "terraform {\n  required_providers {\n    mcpai = { source = \"mcpai/mcpai\" }\n  }\n}\n\n" +
		registrySrc.ReplaceAllString(example, `source = "../../modules/`)
	var vars []string
	for _, m := range variableRef.FindAllStringSubmatch(example, -1) {
		if !slices.Contains(vars, m[1]) {
			vars = append(vars, m[1])
		}
	}
	for _, v := range vars {
		config += fmt.Sprintf("\nvariable %q {\n  sensitive = true\n}\n", v)
	}
	return config
}
