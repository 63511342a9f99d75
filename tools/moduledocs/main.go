// Command moduledocs documents every module under modules/: it rewrites the
// inputs and outputs tables and the stack diagram in each module's README
// (between their marker comments, leaving the prose alone), writes each
// README as the tfplugindocs guide template templates/guides/module-<name>.md.tmpl,
// removes the guide templates of modules that are gone, and refreshes the
// diagram in the other guide templates that hold its markers.
//
// `go generate ./...` runs it, before tfplugindocs renders docs/.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/mcpai/terraform-provider-mcpai/internal/moduledocs"
)

const guidePrefix = "module-"

func main() {
	modules := flag.String("modules", "modules", "directory of the modules, one per subdirectory")
	guides := flag.String("guides", filepath.Join("templates", "guides"), "directory of the tfplugindocs guide templates")
	flag.Parse()
	if err := run(*modules, *guides); err != nil {
		fmt.Fprintln(os.Stderr, "moduledocs:", err)
		os.Exit(1)
	}
}

func run(modulesDir, guidesDir string) error {
	names, err := moduleNames(modulesDir)
	if err != nil {
		return err
	}
	// Every module is read and rendered before anything is written, so
	// that one broken module leaves every file as it was.
	var errs []error
	files := map[string]string{}
	for _, name := range names {
		readme, guide, err := document(filepath.Join(modulesDir, name), name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		files[filepath.Join(modulesDir, name, "README.md")] = readme
		files[filepath.Join(guidesDir, guidePrefix+name+".md.tmpl")] = guide
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if err := os.MkdirAll(guidesDir, 0o755); err != nil {
		return err
	}
	for path, content := range files {
		if err := writeIfChanged(path, content); err != nil {
			return err
		}
	}
	return tidyGuides(guidesDir, names)
}

// moduleNames lists the subdirectories of dir that hold .tf files.
func moduleNames(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if tf, _ := filepath.Glob(filepath.Join(dir, e.Name(), "*.tf")); len(tf) > 0 {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no modules (directories with .tf files) in %s", dir)
	}
	return names, nil
}

// document returns the module's README with its generated parts renewed,
// and its guide template.
func document(dir, name string) (readme, guide string, err error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.tf"))
	if err != nil {
		return "", "", err
	}
	files := map[string][]byte{}
	for _, p := range paths {
		if files[p], err = os.ReadFile(p); err != nil {
			return "", "", err
		}
	}
	m, err := moduledocs.Parse(name, files)
	if err != nil {
		return "", "", err
	}
	if !moduledocs.HasLayer(moduledocs.Applies(m)...) {
		fmt.Fprintf(os.Stderr, "moduledocs: the stack diagram has no layer for %s: add it to internal/moduledocs/diagram.go\n", name)
	}
	readmePath := filepath.Join(dir, "README.md")
	old, err := os.ReadFile(readmePath)
	if errors.Is(err, os.ErrNotExist) {
		// A new module: its README starts with what can be generated.
		fmt.Fprintf(os.Stderr, "moduledocs: %s is missing: it gets a title, the diagram and the tables; add what the module does and an example after the title\n", readmePath)
		old, err = []byte("# "+name+"\n"), nil
	}
	if err != nil {
		return "", "", err
	}
	if readme, err = moduledocs.UpdateReadme(string(old), m); err != nil {
		return "", "", fmt.Errorf("%s: %w", readmePath, err)
	}
	return readme, moduledocs.GuideTemplate(name, readme), nil
}

// tidyGuides removes the guide templates of modules that are gone and
// refreshes the diagram in the hand-written guide templates.
func tidyGuides(dir string, modules []string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	sort.Strings(modules)
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".md.tmpl") {
			continue
		}
		if module, ok := strings.CutPrefix(strings.TrimSuffix(e.Name(), ".md.tmpl"), guidePrefix); ok {
			if i := sort.SearchStrings(modules, module); i == len(modules) || modules[i] != module {
				if err := os.Remove(p); err != nil {
					return err
				}
			}
			continue
		}
		page, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		updated, err := moduledocs.UpdateDiagram(string(page))
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		if err := writeIfChanged(p, updated); err != nil {
			return err
		}
	}
	return nil
}

// writeIfChanged replaces path with content atomically (a temporary file
// beside it, renamed over it), keeping its mode, and only when it differs.
func writeIfChanged(path, content string) error {
	mode := os.FileMode(0o644)
	if old, err := os.ReadFile(path); err == nil {
		if string(old) == content {
			return nil
		}
		if fi, err := os.Stat(path); err == nil {
			mode = fi.Mode().Perm()
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	_, err = tmp.WriteString(content)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), mode)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return errors.Join(err, os.Remove(tmp.Name()))
	}
	return nil
}
