package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mcpai/terraform-provider-mcpai/internal/moduledocs"
)

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// snapshot maps every file under dir to its content.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files[p] = read(t, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestRun(t *testing.T) {
	root := t.TempDir()
	modules, guides := filepath.Join(root, "modules"), filepath.Join(root, "guides")
	write(t, filepath.Join(modules, "redis", "variables.tf"), `variable "address" {
  description = "host:port of the server."
  type        = string
}
`)
	write(t, filepath.Join(modules, "redis", "outputs.tf"), `output "settings" {
  description = "The settings applied."
  value       = {}
}
`)
	write(t, filepath.Join(modules, "redis", "README.md"), "# redis\n\nHand-written prose.\n")
	write(t, filepath.Join(modules, "not-a-module", "notes.txt"), "no .tf files here\n")
	write(t, filepath.Join(modules, "fresh", "main.tf"), "")
	write(t, filepath.Join(guides, "module-gone.md.tmpl"), "a module that was removed\n")
	write(t, filepath.Join(guides, "tuning.md.tmpl"), "# Tuning\n\n"+moduledocs.DiagramBegin+"\n"+moduledocs.DiagramEnd+"\n\nProse.\n")

	if err := run(modules, guides); err != nil {
		t.Fatal(err)
	}
	readme := read(t, filepath.Join(modules, "redis", "README.md"))
	for _, want := range []string{"# redis\n\nHand-written prose.\n\n" + moduledocs.DiagramBegin, "| `address` | host:port of the server. | `string` | — | yes |", "style redis "} {
		if !strings.Contains(readme, want) {
			t.Errorf("README lacks %q:\n%s", want, readme)
		}
	}
	if fi, _ := os.Stat(filepath.Join(modules, "redis", "README.md")); fi.Mode().Perm() != 0o600 {
		t.Errorf("README mode %v, want the file's own 0600 kept", fi.Mode().Perm())
	}
	// A module without a README gets one with its title and the generated parts.
	if fresh := read(t, filepath.Join(modules, "fresh", "README.md")); !strings.HasPrefix(fresh, "# fresh\n\n"+moduledocs.DiagramBegin) || !strings.Contains(fresh, "This module has no inputs.") {
		t.Errorf("new README:\n%s", fresh)
	}
	if got, want := read(t, filepath.Join(guides, "module-redis.md.tmpl")), moduledocs.GuideTemplate("redis", readme); got != want {
		t.Errorf("guide template:\n%s\nwant\n%s", got, want)
	}
	if _, err := os.Stat(filepath.Join(guides, "module-gone.md.tmpl")); !os.IsNotExist(err) {
		t.Errorf("the removed module's guide is still there (%v)", err)
	}
	if _, err := os.Stat(filepath.Join(guides, "module-not-a-module.md.tmpl")); !os.IsNotExist(err) {
		t.Errorf("a directory without .tf files got a guide (%v)", err)
	}
	tuning := read(t, filepath.Join(guides, "tuning.md.tmpl"))
	if !strings.Contains(tuning, "```mermaid\nflowchart TB\n") || strings.Contains(tuning, "  style ") || !strings.HasSuffix(tuning, moduledocs.DiagramEnd+"\n\nProse.\n") {
		t.Errorf("hand-written guide:\n%s", tuning)
	}

	// A second run finds nothing to change.
	before := snapshot(t, root)
	if err := run(modules, guides); err != nil {
		t.Fatal(err)
	}
	after := snapshot(t, root)
	if len(after) != len(before) {
		t.Errorf("second run: %d files, before %d", len(after), len(before))
	}
	for p, c := range before {
		if after[p] != c {
			t.Errorf("second run changed %s", p)
		}
	}
}

func TestRunErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		files map[string]string
		want  string
	}{
		"no description": {map[string]string{
			"a/variables.tf": `variable "x" { type = string }`,
			"a/README.md":    "# a\n",
		}, `variable "x" has no description`},
		"hand-written table": {map[string]string{
			"a/main.tf":   "",
			"a/README.md": "# a\n\n## Inputs\n",
		}, `"## Inputs" is written by hand`},
		"no modules": {map[string]string{"a/README.md": "# a\n"}, "no modules"},
	} {
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			for p, c := range tc.files {
				write(t, filepath.Join(root, "modules", p), c)
			}
			before := snapshot(t, root)
			err := run(filepath.Join(root, "modules"), filepath.Join(root, "guides"))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
			for p, c := range before {
				if read(t, p) != c {
					t.Errorf("%s changed although the run failed", p)
				}
			}
		})
	}
}
