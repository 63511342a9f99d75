// Command modulepackage writes the registry module package mcpai/stack/mcpai
// from this repository's modules/: the stack module (modules/mcpai-stack) is
// the package's root module, with its calls of its sibling layers
// (source = "../<layer>") rewritten to the nested modules
// (source = "./modules/<layer>"), and every other module is a nested module
// under modules/<layer>/ (the modules' tests/ stay here). Beside them it
// writes the package's README.md (what it is, the usage snippet, the nested
// modules), this repository's LICENSE and CHANGELOG.md, and VERSION.
//
// The registry publishes a module from a GitHub repository named
// terraform-<provider>-<name>, one version per tag, so a release of version
// X.Y.Z, after tagging this repository vX.Y.Z, runs
//
//	go run ./tools/modulepackage -version X.Y.Z -out dist/module
//
// and commits dist/module's content as the whole tree of
// mcpai/terraform-mcpai-stack, tagged vX.Y.Z there too: the module's version
// is then the provider's. Users without the registry take the same modules
// from this repository by git (see the modules' READMEs).
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
)

// Address is the package's registry address: the module source users write.
const Address = "mcpai/stack/mcpai"

const stackModule = "mcpai-stack"

var semver = regexp.MustCompile(`^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?$`)

func main() {
	var o options
	flag.StringVar(&o.modules, "modules", "modules", "directory of the modules, one per subdirectory")
	flag.StringVar(&o.license, "license", "LICENSE", "the license to ship")
	flag.StringVar(&o.changelog, "changelog", "CHANGELOG.md", "the changelog to ship")
	flag.StringVar(&o.version, "version", "", "the version released, X.Y.Z (no v)")
	flag.StringVar(&o.out, "out", "", "directory to write the package to; must not exist or be empty")
	flag.Parse()
	if err := o.run(); err != nil {
		fmt.Fprintln(os.Stderr, "modulepackage:", err)
		os.Exit(1)
	}
}

type options struct {
	modules, license, changelog, version, out string
}

func (o options) run() error {
	if !semver.MatchString(o.version) {
		return fmt.Errorf("-version %q: want a semantic version such as 0.1.0, without the v", o.version)
	}
	if o.out == "" {
		return errors.New("-out: give the directory to write the package to")
	}
	files, err := o.packageFiles()
	if err != nil {
		return err
	}
	if entries, err := os.ReadDir(o.out); err == nil && len(entries) > 0 {
		return fmt.Errorf("%s is not empty: a package holds only what this release writes", o.out)
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		p := filepath.Join(o.out, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, files[name], 0o644); err != nil { //nolint:gosec // a package to publish: world-readable
			return err
		}
	}
	return nil
}

// packageFiles reads everything the package holds, by its path in the
// package, before anything is written.
func (o options) packageFiles() (map[string][]byte, error) {
	layers, err := layerNames(o.modules)
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	for _, layer := range layers {
		layerFiles, err := readModule(filepath.Join(o.modules, layer))
		if err != nil {
			return nil, err
		}
		for name, content := range layerFiles {
			if strings.HasSuffix(name, ".tf") {
				if _, err := rewriteSources(name, content, "../", layers); err != nil {
					return nil, fmt.Errorf("%s: %w", filepath.Join(o.modules, layer, name), err)
				}
			}
			files[path.Join("modules", layer, name)] = content
		}
	}
	stack, err := readModule(filepath.Join(o.modules, stackModule))
	if err != nil {
		return nil, err
	}
	for name, content := range stack {
		switch {
		case name == "README.md":
			continue // the root's README is the package's own
		case strings.HasSuffix(name, ".tf"):
			if content, err = rewriteSources(name, content, "./modules/", layers); err != nil {
				return nil, fmt.Errorf("%s: %w", filepath.Join(o.modules, stackModule, name), err)
			}
		}
		files[name] = content
	}
	readmes := map[string][]byte{stackModule: stack["README.md"]}
	for _, layer := range layers {
		readmes[layer] = files[path.Join("modules", layer, "README.md")]
	}
	files["README.md"] = []byte(packageReadme(o.version, layers, readmes))
	for name, src := range map[string]string{"LICENSE": o.license, "CHANGELOG.md": o.changelog} {
		if files[name], err = os.ReadFile(src); err != nil {
			return nil, err
		}
	}
	files["VERSION"] = []byte(o.version + "\n")
	return files, nil
}

// layerNames lists the modules other than the stack: the subdirectories of
// dir that hold .tf files. The stack must be among the modules.
func layerNames(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	stack := false
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if tf, _ := filepath.Glob(filepath.Join(dir, e.Name(), "*.tf")); len(tf) == 0 {
			continue
		}
		if e.Name() == stackModule {
			stack = true
			continue
		}
		names = append(names, e.Name())
	}
	if !stack {
		return nil, fmt.Errorf("no %s module in %s: it is the package's root module", stackModule, dir)
	}
	return names, nil
}

// readModule returns a module's files by their slash-separated path in it,
// leaving out its tests (tests/: this repository's CI runs them, users call
// the module) and what Terraform leaves behind in a working directory (dot
// files: .terraform/, the lock file; state).
func readModule(dir string) (map[string][]byte, error) {
	files := map[string][]byte{}
	tests := filepath.Join(dir, "tests")
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if p != dir && (p == tests || strings.HasPrefix(name, ".") || strings.Contains(name, ".tfstate")) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			if d.IsDir() {
				return nil
			}
			return fmt.Errorf("%s: only regular files can be packaged", p)
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		files[filepath.ToSlash(rel)], err = os.ReadFile(p)
		return err
	})
	return files, err
}

// rewriteSources makes every call of a sibling layer in a module's file
// (source = "../<layer>") call it at prefix+<layer>, and refuses a call of
// any other local path: it would not be in the package. Sources of other
// kinds (registry, git) are left as they are, and so is the rest of the file,
// byte for byte.
func rewriteSources(filename string, content []byte, prefix string, layers []string) ([]byte, error) {
	f, diags := hclwrite.ParseConfig(content, filename, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, diags
	}
	for _, b := range f.Body().Blocks() {
		if b.Type() != "module" {
			continue
		}
		attr := b.Body().GetAttribute("source")
		if attr == nil {
			return nil, fmt.Errorf("module %q has no source", strings.Join(b.Labels(), " "))
		}
		src, err := literalString(attr.Expr().BuildTokens(nil).Bytes())
		if err != nil {
			return nil, fmt.Errorf("module %q: source: %w", strings.Join(b.Labels(), " "), err)
		}
		if !strings.HasPrefix(src, "./") && !strings.HasPrefix(src, "../") {
			continue
		}
		layer, ok := strings.CutPrefix(src, "../")
		if !ok || !isLayer(layer, layers) {
			return nil, fmt.Errorf("module %q calls %q: the package holds only the layers %s, called as \"../<layer>\"", strings.Join(b.Labels(), " "), src, strings.Join(layers, ", "))
		}
		b.Body().SetAttributeValue("source", cty.StringVal(prefix+layer))
	}
	return f.Bytes(), nil
}

func isLayer(name string, layers []string) bool {
	i := sort.SearchStrings(layers, name)
	return i < len(layers) && layers[i] == name
}

// literalString returns the value of an expression that must be a constant
// string (a module source cannot be anything else).
func literalString(expr []byte) (string, error) {
	e, diags := hclsyntax.ParseExpression(bytes.TrimSpace(expr), "source", hcl.InitialPos)
	if diags.HasErrors() {
		return "", diags
	}
	v, diags := e.Value(nil)
	if diags.HasErrors() || v.IsNull() || !v.Type().Equals(cty.String) {
		return "", errors.New("not a constant string")
	}
	return v.AsString(), nil
}
