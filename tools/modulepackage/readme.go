package main

import (
	_ "embed"
	"strings"
	"text/template"
)

// packageReadme is the package's front page: what it is, how to call it,
// and its modules, each with the first sentence of its own README. It links
// nowhere: the registry shows every nested module's README beside it.
func packageReadme(version string, layers []string, readmes map[string][]byte) string {
	type row struct{ Name, Source, Summary string }
	rows := []row{{"the stack (root)", Address, summary(readmes[stackModule])}}
	for _, layer := range layers {
		rows = append(rows, row{layer, Address + "//modules/" + layer, summary(readmes[layer])})
	}
	var b strings.Builder
	err := readmeTemplate.Execute(&b, map[string]any{
		"Address": Address, "Version": version, "Constraint": minorConstraint(version), "Rows": rows,
	})
	if err != nil {
		panic(err) // the template is a constant and its data all strings
	}
	return b.String()
}

// readmeTemplate is the package's README, with the usage snippet a user
// copies.
//
//go:embed package-readme.md.tmpl
var readmeText string

var readmeTemplate = template.Must(template.New("README.md").Parse(readmeText))

// minorConstraint is the constraint that takes the version's fixes and
// later minor versions but no new major version.
func minorConstraint(version string) string {
	parts := strings.SplitN(version, ".", 3)
	return "~> " + parts[0] + "." + parts[1]
}

// summary is the first sentence of a README's first paragraph (after its
// title), on one line, fit for a table cell.
func summary(readme []byte) string {
	var para []string
	for _, line := range strings.Split(string(readme), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			if len(para) > 0 {
				break
			}
			continue
		}
		para = append(para, line)
	}
	text := strings.Join(para, " ")
	if i := strings.Index(text, ". "); i >= 0 {
		text = text[:i+1]
	}
	if s, ok := strings.CutSuffix(text, ":"); ok {
		text = s + "."
	}
	return strings.ReplaceAll(text, "|", `\|`)
}
