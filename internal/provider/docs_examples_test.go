package provider

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"

	"github.com/mcpai/terraform-provider-mcpai/internal/acctest"
)

var (
	hclBlock    = regexp.MustCompile("(?s)```(?:hcl|terraform)\n(.*?)```")
	variableRef = regexp.MustCompile(`\bvar\.([A-Za-z_][A-Za-z0-9_-]*)`)
	// The two published forms of a module source: the registry package
	// (tools/modulepackage), whose root is the stack, and this repository
	// by git at a release tag.
	registrySource = regexp.MustCompile(`^mcpai/stack/mcpai(?://modules/([a-z0-9-]+))?$`)
	gitSource      = regexp.MustCompile(`^git::https://github\.com/mcpai/terraform-provider-mcpai\.git//modules/([a-z0-9-]+)\?ref=v([0-9]+\.[0-9]+)\.[0-9]+$`)
	minorVersion   = regexp.MustCompile(`^~> ([0-9]+\.[0-9]+)$`)
	localSource    = regexp.MustCompile(`source\s*= "\.\./\.\./modules/`)
)

const stackModule = "mcpai-stack"

// TestDocsExamplesValidate runs `terraform validate` on every example in the
// modules' READMEs and the hand-written guides that calls a module, against
// the modules as they are in the tree: an input renamed or retyped fails
// here, not for a reader. Every module source must be a published one (the
// registry package with a version, or git at a tag) naming a module that
// exists, and every example must promise the same version; the source then
// becomes the module's local path. The variables an example reads are
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
	exists := func(module string) bool {
		fi, err := os.Stat(filepath.Join("..", "..", "modules", module))
		return err == nil && fi.IsDir()
	}
	found := 0
	versions := map[string][]string{} // minor version to the examples that promise it
	for _, page := range pages {
		content, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(filepath.Join("..", ".."), page)
		for i, m := range hclBlock.FindAllStringSubmatch(string(content), -1) {
			example, name := m[1], fmt.Sprintf("%s#%d", rel, i+1)
			config, minor, err := exampleConfig(example, exists)
			if err != nil {
				t.Errorf("the example in %s: %v\n%s", name, err, example)
				continue
			}
			if config == "" {
				continue
			}
			found++
			for _, v := range minor {
				versions[v] = append(versions[v], name)
			}
			t.Run(name, func(t *testing.T) {
				w := acctest.ModuleWorkspace(t, config)
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
	if len(versions) > 1 {
		t.Errorf("the examples promise different versions: %v", versions)
	}
}

// exampleConfig makes a documentation example that calls modules a
// configuration of its own, calling them from this tree. It returns "" for
// an example that calls no module, and the minor versions the example's
// sources name.
func exampleConfig(example string, exists func(module string) bool) (config string, minor []string, err error) {
	if _, diags := hclsyntax.ParseConfig([]byte(example), "example.tf", hcl.InitialPos); diags.HasErrors() {
		if strings.Contains(example, "module \"") {
			return "", nil, diags
		}
		return "", nil, nil // a fragment, such as a type or an object
	}
	f, diags := hclwrite.ParseConfig([]byte(example), "example.tf", hcl.InitialPos)
	if diags.HasErrors() {
		return "", nil, diags
	}
	calls := 0
	for _, b := range f.Body().Blocks() {
		if b.Type() != "module" {
			continue
		}
		calls++
		module, version, err := publishedModule(b)
		if err != nil {
			return "", nil, fmt.Errorf("module %q: %w", strings.Join(b.Labels(), " "), err)
		}
		if !exists(module) {
			return "", nil, fmt.Errorf("module %q calls %s, which is not in modules/", strings.Join(b.Labels(), " "), module)
		}
		minor = append(minor, version)
		// A local path takes no version.
		b.Body().RemoveAttribute("version")
		b.Body().SetAttributeValue("source", cty.StringVal("../../modules/"+module))
	}
	if calls == 0 {
		return "", nil, nil
	}
	// acctest.ModuleWorkspace finds the local sources by their exact text.
	local := localSource.ReplaceAllString(string(f.Bytes()), `source = "../../modules/`)
	// The example's own terraform block, if any, says where mcpai comes
	// from: one that configures the provider without it gets hashicorp/mcpai,
	// as a user's copy would.
	config = local
	var vars []string
	for _, m := range variableRef.FindAllStringSubmatch(example, -1) {
		if !slices.Contains(vars, m[1]) {
			vars = append(vars, m[1])
		}
	}
	for _, v := range vars {
		config += fmt.Sprintf("\nvariable %q {\n  sensitive = true\n}\n", v)
	}
	return config, minor, nil
}

// publishedModule returns the module of modules/ that a module block calls
// by a published source, and the minor version it asks for: a registry
// source must have a version constraint ~> X.Y, a git source a ref vX.Y.Z
// and no version.
func publishedModule(b *hclwrite.Block) (module, minor string, err error) {
	source, err := constantAttr(b, "source")
	if err != nil {
		return "", "", err
	}
	version, err := constantAttr(b, "version")
	if err != nil {
		return "", "", err
	}
	if m := gitSource.FindStringSubmatch(source); m != nil {
		if version != "" {
			return "", "", fmt.Errorf("a git source takes no version (its ref is the version): %q", source)
		}
		return m[1], m[2], nil
	}
	m := registrySource.FindStringSubmatch(source)
	if m == nil {
		return "", "", fmt.Errorf("source %q is neither \"mcpai/stack/mcpai\", \"mcpai/stack/mcpai//modules/<layer>\" nor \"git::https://github.com/mcpai/terraform-provider-mcpai.git//modules/<name>?ref=v<version>\"", source)
	}
	v := minorVersion.FindStringSubmatch(version)
	if v == nil {
		return "", "", fmt.Errorf("source %q: version %q: want a constraint such as \"~> 0.1\"", source, version)
	}
	switch m[1] {
	case "":
		return stackModule, v[1], nil
	case stackModule:
		return "", "", fmt.Errorf("source %q: the stack is the package's root, %q", source, "mcpai/stack/mcpai")
	default:
		return m[1], v[1], nil
	}
}

// constantAttr returns a block's attribute that must be a constant string, or
// "" when the block has none.
func constantAttr(b *hclwrite.Block, name string) (string, error) {
	attr := b.Body().GetAttribute(name)
	if attr == nil {
		return "", nil
	}
	expr, diags := hclsyntax.ParseExpression(attr.Expr().BuildTokens(nil).Bytes(), name, hcl.InitialPos)
	if diags.HasErrors() {
		return "", diags
	}
	v, diags := expr.Value(nil)
	if diags.HasErrors() || v.IsNull() || !v.Type().Equals(cty.String) {
		return "", fmt.Errorf("%s is not a constant string", name)
	}
	return v.AsString(), nil
}

func TestPublishedModule(t *testing.T) {
	for name, tc := range map[string]struct {
		block, module, minor, err string
	}{
		"the stack":          {block: `source = "mcpai/stack/mcpai"` + "\nversion = \"~> 0.1\"", module: stackModule, minor: "0.1"},
		"a layer":            {block: `source = "mcpai/stack/mcpai//modules/redis"` + "\nversion = \"~> 1.12\"", module: "redis", minor: "1.12"},
		"by git":             {block: `source = "git::https://github.com/mcpai/terraform-provider-mcpai.git//modules/postgres?ref=v0.1.0"`, module: "postgres", minor: "0.1"},
		"no version":         {block: `source = "mcpai/stack/mcpai//modules/redis"`, err: `version "": want a constraint`},
		"an exact version":   {block: `source = "mcpai/stack/mcpai"` + "\nversion = \"0.1.0\"", err: `version "0.1.0"`},
		"git with a version": {block: `source = "git::https://github.com/mcpai/terraform-provider-mcpai.git//modules/redis?ref=v0.1.0"` + "\nversion = \"~> 0.1\"", err: "takes no version"},
		"git without a ref":  {block: `source = "git::https://github.com/mcpai/terraform-provider-mcpai.git//modules/redis"`, err: "is neither"},
		"the old form":       {block: `source = "mcpai/mcpai//modules/redis"` + "\nversion = \"~> 0.1\"", err: "is neither"},
		"the stack nested":   {block: `source = "mcpai/stack/mcpai//modules/mcpai-stack"` + "\nversion = \"~> 0.1\"", err: "the package's root"},
		"a local path":       {block: `source = "../redis"`, err: "is neither"},
		"not a constant":     {block: `source = var.source`, err: "source is not a constant string"},
	} {
		t.Run(name, func(t *testing.T) {
			f, diags := hclwrite.ParseConfig([]byte("module \"m\" {\n"+tc.block+"\n}\n"), "m.tf", hcl.InitialPos)
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			module, minor, err := publishedModule(f.Body().Blocks()[0])
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want it to contain %q", err, tc.err)
				}
				return
			}
			if err != nil || module != tc.module || minor != tc.minor {
				t.Errorf("got %q %q %v, want %q %q", module, minor, err, tc.module, tc.minor)
			}
		})
	}
}

func TestExampleConfig(t *testing.T) {
	exists := func(module string) bool { return module == "redis" || module == stackModule }
	config, minor, err := exampleConfig("module \"cache\" {\n  source   = \"mcpai/stack/mcpai//modules/redis\"\n  version  = \"~> 0.1\"\n  password = var.redis_password\n}\n", exists)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"source = \"../../modules/redis\"\n  password = var.redis_password\n", "variable \"redis_password\" {\n  sensitive = true\n}\n"} {
		if !strings.Contains(config, want) {
			t.Errorf("config lacks %q:\n%s", want, config)
		}
	}
	if strings.Contains(config, "version") || !slices.Equal(minor, []string{"0.1"}) {
		t.Errorf("version kept or minor %v:\n%s", minor, config)
	}
	for example, want := range map[string]string{
		"module \"x\" {\n  source  = \"mcpai/stack/mcpai//modules/gone\"\n  version = \"~> 0.1\"\n}\n": "calls gone, which is not in modules/",
		"module \"x\" {\n  source = \"mcpai/mcpai//modules/redis\"\n}\n":                               "is neither",
		"module \"x\" {\n  source = \n": "example.tf:",
		"object({ a = string })":        "",
		"provider \"mcpai\" {}\n":       "",
	} {
		config, _, err := exampleConfig(example, exists)
		if want == "" {
			if err != nil || config != "" {
				t.Errorf("%q: %q, %v; want no config and no error", example, config, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want it to contain %q", example, err, want)
		}
	}
}
