package main

import (
	"fmt"
	"strings"
)

// packageReadme is the package's front page: what it is, how to call it,
// and its modules, each with the first sentence of its own README. It links
// nowhere: the registry shows every nested module's README beside it.
func packageReadme(version string, layers []string, readmes map[string][]byte) string {
	constraint := minorConstraint(version)
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n", Address)
	fmt.Fprintf(&b, `The Terraform modules of the mcpai provider (`+"`mcpai/mcpai`"+`), version %s, released together with the
provider. The root module is the whole MCPAI stack: give it your hosts, each with its roles and its own `+"`ssh`"+`
object, and it applies every layer of the MCPAI performance guide where it belongs. Each layer is also a module
of its own, under `+"`modules/`"+`.

`, version)
	fmt.Fprintf(&b, "```hcl\nterraform {\n  required_providers {\n    mcpai = {\n      source  = \"mcpai/mcpai\"\n      version = %q\n    }\n  }\n}\n\n", constraint)
	fmt.Fprintf(&b, "module \"stack\" {\n  source  = %q\n  version = %q\n\n", Address, constraint)
	b.WriteString(`  hosts = {
    app  = { address = "10.0.0.10", roles = ["api", "gpu"], ssh = { user = "root", private_key = file("~/.ssh/id_ed25519"), known_hosts = file("~/.ssh/known_hosts") } }
    data = { address = "10.0.0.11", roles = ["db", "cache"], ssh = { user = "root", private_key = file("~/.ssh/id_ed25519"), known_hosts = file("~/.ssh/known_hosts") } }
  }

  postgres = { db_version = 16 }
  api      = { image = "registry.example.com/app/api:2.4.1" }
}
`+"```\n\n")
	fmt.Fprintf(&b, "One layer alone is `source = \"%s//modules/<layer>\"`, with the same `version`.\n\n", Address)
	b.WriteString("| Module | Source | What it does |\n|---|---|---|\n")
	fmt.Fprintf(&b, "| the stack (root) | `%s` | %s |\n", Address, summary(readmes[stackModule]))
	for _, layer := range layers {
		fmt.Fprintf(&b, "| %s | `%s//modules/%s` | %s |\n", layer, Address, layer, summary(readmes[layer]))
	}
	b.WriteString("\nEvery module's inputs and outputs are listed by the registry and in its own README.\n")
	return b.String()
}

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
