package moduletest

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/mcpai/terraform-provider-mcpai/internal/acctest"
)

// moduleDirs are the folders under root that hold a module (*.tf files).
func moduleDirs(t *testing.T, root string) []string {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join(root, "*"))
	if err != nil {
		t.Fatal(err)
	}
	var modules []string
	for _, dir := range dirs {
		if files, _ := filepath.Glob(filepath.Join(dir, "*.tf")); len(files) > 0 {
			modules = append(modules, dir)
		}
	}
	if len(modules) == 0 {
		t.Fatalf("no modules found under %s", root)
	}
	return modules
}

// TestModules checks every module under modules/: formatted as `terraform
// fmt` writes it (its tests too), valid for `terraform validate` against the
// provider's schema, and passing its own tests, modules/<name>/tests/
// *.tftest.hcl, which every module must have. Those tests plan against a
// mocked provider (mock_provider), so they need no host, no sandbox and no
// root, and run without TF_ACC.
//
// Terraform cannot download this provider here (no registry), and
// mock_provider still needs the real provider for its schema. The
// workspace's CLI configuration has a dev_overrides entry pointing
// mcpai/mcpai at the provider built once for the test process
// (acctest.ProviderDir), as every acceptance test uses it: no `terraform
// init`, no lock file, no version to invent. A filesystem_mirror would need
// init, a versioned folder layout and a lock file for a build that has no
// version. `terraform get` installs the sibling modules mcpai-stack calls.
//
// The modules are tested in a copy of modules/, so that .terraform folders
// land outside the tree.
func TestModules(t *testing.T) {
	root := modulesDir()
	fmtCheck := acctest.NewWorkspace(t, "")
	fmtCheck.Dir = root
	if code, out := fmtCheck.Run([]int{0, 3}, "fmt", "-check", "-recursive", "-diff"); code != 0 {
		t.Errorf("terraform fmt -check -recursive modules/: files need formatting (run `terraform fmt -recursive modules/`):\n%s", out)
	}

	copied := filepath.Join(t.TempDir(), "modules")
	if err := os.CopyFS(copied, os.DirFS(root)); err != nil {
		t.Fatal(err)
	}
	for _, dir := range moduleDirs(t, copied) {
		name := filepath.Base(dir)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			w := acctest.NewWorkspace(t, "")
			w.Dir = dir
			w.Run([]int{0}, "get")
			if code, out := w.Run([]int{0, 1}, "validate"); code != 0 {
				t.Errorf("terraform validate modules/%s:\n%s", name, out)
			}
			if tests, _ := filepath.Glob(filepath.Join(dir, "tests", "*.tftest.hcl")); len(tests) == 0 {
				t.Fatalf("modules/%s has no tests/*.tftest.hcl: every module's input validation is tested with `terraform test`", name)
			}
			if code, out := w.Run([]int{0, 1}, "test"); code != 0 {
				t.Errorf("terraform test in modules/%s:\n%s", name, out)
			}
		})
	}
}

// The ssh object type is written out in every module that reaches a host
// (Terraform has no type aliases); each copy must be mcpai-stack's, the
// type of its hosts' ssh, token for token (white space aside), optional
// attributes and defaults included.
func TestModulesSSHType(t *testing.T) {
	root := modulesDir()
	stack := parseVariables(t, filepath.Join(root, "mcpai-stack"))
	hosts, ok := stack["hosts"]
	if !ok {
		t.Fatal("modules/mcpai-stack has no variable hosts")
	}
	canonical := stackSSHType(t, hosts)
	copies := 0
	for _, dir := range moduleDirs(t, root) {
		name := filepath.Base(dir)
		if name == "mcpai-stack" {
			continue
		}
		ssh, ok := parseVariables(t, dir)["ssh"]
		if !ok {
			continue
		}
		copies++
		if got := normalized(t, ssh.src); got != canonical {
			at := firstDifference(got, canonical)
			t.Errorf("modules/%s/variables.tf: variable \"ssh\" has another type than mcpai-stack's hosts[*].ssh; from the first difference on:\ngot:  ...%s\nwant: ...%s",
				name, tail(got, at), tail(canonical, at))
		}
	}
	if copies == 0 {
		t.Fatal("no module has a variable \"ssh\"")
	}
}

// firstDifference is the byte offset where a and b first differ.
func firstDifference(a, b string) int {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return i
}

// tail is s from a little before offset at, for at most 80 bytes.
func tail(s string, at int) string {
	start := max(0, at-30)
	return s[start:min(len(s), start+80)]
}

// variableType is a variable's type expression and its source.
type variableType struct {
	expr hclsyntax.Expression
	src  []byte
	rng  hcl.Range
}

// parseVariables reads dir/variables.tf: each variable's type, by name.
func parseVariables(t *testing.T, dir string) map[string]variableType {
	t.Helper()
	path := filepath.Join(dir, "variables.tf")
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	file, diags := hclsyntax.ParseConfig(src, path, hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	types := map[string]variableType{}
	for _, block := range file.Body.(*hclsyntax.Body).Blocks {
		if block.Type != "variable" || len(block.Labels) != 1 {
			continue
		}
		if attr, ok := block.Body.Attributes["type"]; ok {
			rng := attr.Expr.Range()
			types[block.Labels[0]] = variableType{expr: attr.Expr, src: rng.SliceBytes(src), rng: rng}
		}
	}
	return types
}

// stackSSHType is the object type X of mcpai-stack's hosts, written
// map(object({ ..., ssh = optional(X, {}) })), normalized.
func stackSSHType(t *testing.T, hosts variableType) string {
	t.Helper()
	call := func(e hclsyntax.Expression, name string) hclsyntax.Expression {
		t.Helper()
		c, ok := e.(*hclsyntax.FunctionCallExpr)
		if !ok || c.Name != name || len(c.Args) == 0 {
			t.Fatalf("modules/mcpai-stack: hosts' type is no longer map(object({ ..., ssh = optional(object({...}), {}) })) at %s", e.Range())
		}
		return c.Args[0]
	}
	obj, ok := call(call(hosts.expr, "map"), "object").(*hclsyntax.ObjectConsExpr)
	if !ok {
		t.Fatalf("modules/mcpai-stack: hosts' object type is not written as object({...})")
	}
	for _, item := range obj.Items {
		if key, diags := item.KeyExpr.Value(nil); !diags.HasErrors() && key.AsString() == "ssh" {
			rng := call(item.ValueExpr, "optional").Range()
			// Offsets are of variables.tf; hosts.src starts at the type.
			start := rng.Start.Byte - hosts.rng.Start.Byte
			return normalized(t, hosts.src[start:start+rng.End.Byte-rng.Start.Byte])
		}
	}
	t.Fatal("modules/mcpai-stack: hosts' object type has no ssh attribute")
	return ""
}

// normalized is a type expression's tokens joined by single spaces, so that
// indentation, alignment and comments do not count.
func normalized(t *testing.T, src []byte) string {
	t.Helper()
	tokens, diags := hclsyntax.LexExpression(src, "type", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	var b bytes.Buffer
	for _, tok := range tokens {
		switch tok.Type {
		case hclsyntax.TokenNewline, hclsyntax.TokenComment, hclsyntax.TokenEOF:
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.Write(tok.Bytes)
	}
	return b.String()
}
