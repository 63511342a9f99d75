package moduledocs

import (
	"bytes"
	"strings"
	"testing"
	"text/template"
)

func TestTables(t *testing.T) {
	got := Tables(parseTest(t))
	for _, want := range []string{
		"| Name | Description | Type | Default | Required |\n|---|---|---|---|---|\n",
		"| `hosts` | Addresses of the hosts. | `set(string)` | — | yes |\n",
		"| `ssh` | How to reach the hosts. | `object({...})` (below) | `{}` | no |\n",
		// Sensitive flagged, paragraphs kept apart, pipes escaped.
		"| `password` (sensitive) | The password.<br><br>Kept out of logs \\| plans. | `string` | `null` | no |\n",
		// Short enough to print whole; a placeholder is not taken for HTML.
		"| `limits` | Soft and hard limits; see &lt;limits.conf>. | `object({ soft = number, hard = number })` | `{ soft = 65536, hard = 1048576 }` | no |\n",
		"Types and defaults abbreviated in the table, in full:\n\n#### `ssh`\n\n```hcl\ntype = object({\n",
		"})\ndefault = {}\n```\n",
		"## Outputs\n\n| Name | Description |\n|---|---|\n| `settings` | What was applied. |\n| `token` (sensitive) | A secret. |\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("tables lack %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "#### `limits`") || strings.Contains(got, "#### `sysctls`") {
		t.Errorf("a variable printed whole in the table is repeated below it:\n%s", got)
	}

	empty := Tables(Module{Name: "none"})
	if !strings.Contains(empty, "This module has no inputs.") || !strings.Contains(empty, "This module has no outputs.") {
		t.Errorf("empty module:\n%s", empty)
	}
}

func TestCode(t *testing.T) {
	for in, want := range map[string]string{
		"string":      "`string`",
		`"a|b"`:       "`\"a\\|b\"`",
		"echo `date`": "`` echo `date` ``",
	} {
		if got := code(in); got != want {
			t.Errorf("code(%q) = %q, want %q", in, got, want)
		}
	}
}

const testReadme = "# demo\n\nWhat it does, in prose the author keeps.\nSee [host-tuning](../host-tuning/README.md#inputs) and [the example](../../examples/stack/main.tf).\n\n" +
	"```hcl\n# a heading in a code block, and markers that are text\n## Inputs\n" + DocsBegin + "\n```\n\n" +
	"## Notes\n\nMore prose.\n\n" +
	DiagramBegin + "\nold diagram\n" + DiagramEnd + "\n\n" +
	DocsBegin + "\n| old | table |\n" + DocsEnd + "\n\nClosing prose.\n"

func TestUpdateReadme(t *testing.T) {
	m := parseTest(t)
	got, err := UpdateReadme(testReadme, m)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"# demo\n\nWhat it does, in prose the author keeps.\n",
		"## Inputs\n" + DocsBegin + "\n```\n\n## Notes\n\nMore prose.\n\n" + DiagramBegin + "\n" + diagramNote + "\n## Where it sits in the stack\n",
		DocsBegin + "\n" + tablesNote + "\n" + Tables(m) + DocsEnd + "\n\nClosing prose.\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("README lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "old diagram") || strings.Contains(got, "| old | table |") {
		t.Errorf("old generated parts kept:\n%s", got)
	}
	again, err := UpdateReadme(got, m)
	if err != nil || again != got {
		t.Errorf("second run changed the README (err %v):\n%s", err, again)
	}
}

func TestUpdateReadmeWithoutMarkers(t *testing.T) {
	m := parseTest(t)
	got, err := UpdateReadme("# demo\n\nProse.\n\n## Usage\n\nMore.\n", m)
	if err != nil {
		t.Fatal(err)
	}
	want := "# demo\n\nProse.\n\n" + DiagramBegin + "\n" + diagramNote + "\n" + DiagramSection(m) + DiagramEnd + "\n\n## Usage\n\nMore.\n\n" +
		DocsBegin + "\n" + tablesNote + "\n" + Tables(m) + DocsEnd + "\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if again, err := UpdateReadme(got, m); err != nil || again != got {
		t.Errorf("second run changed the README (err %v)", err)
	}

	// Only a title: the diagram goes before the generated tables.
	got, err = UpdateReadme("# demo\n", m)
	if err != nil || !strings.Contains(got, DiagramEnd+"\n\n"+DocsBegin) {
		t.Errorf("err %v:\n%s", err, got)
	}
}

func TestUpdateReadmeErrors(t *testing.T) {
	m := parseTest(t)
	for name, tc := range map[string]struct{ readme, want string }{
		"hand-written inputs":  {"# demo\n\n## Inputs\n\n| a | b |\n", `line 3: "## Inputs" is written by hand`},
		"hand-written outputs": {"# demo\n\n## Outputs\n", `line 3: "## Outputs" is written by hand`},
		"begin without end":    {"# demo\n" + DocsBegin + "\n", "line 2: " + DocsBegin + " without a " + DocsEnd + " after it"},
		"end without begin":    {"# demo\n" + DiagramEnd + "\n", "line 2: " + DiagramEnd + " without a " + DiagramBegin},
		"two begins":           {DocsBegin + "\n" + DocsEnd + "\n" + DocsBegin + "\n" + DocsEnd + "\n", "line 3: a second " + DocsBegin},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := UpdateReadme(tc.readme, m)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestGuideTemplate(t *testing.T) {
	readme := "# demo\n\nApplies the guide's\n`demo` layer.\n\nSee [host-tuning](../host-tuning/README.md#inputs), [the example](../../examples/stack/main.tf), [a section](#inputs), [outside](https://example.com/x) and [up](../../../x.md).\n\n" +
		"```yaml\nsummary: \"{{ $labels.instance }} is down\"\n```\n\n" + DocsBegin + "\n" + tablesNote + "\n## Inputs\n" + DocsEnd + "\n" + DiagramBegin + "\n" + diagramNote + "\n" + DiagramEnd + "\n"
	got := GuideTemplate("demo", readme)
	wantHead := "---\npage_title: \"Module: demo\"\nsubcategory: \"Modules\"\ndescription: |-\n  Applies the guide's `demo` layer.\n---\n\n# Module: demo\n\nApplies the guide's\n"
	if !strings.HasPrefix(got, wantHead) {
		t.Errorf("got\n%s\nwant it to start with\n%s", got, wantHead)
	}
	for _, want := range []string{
		"[host-tuning](module-host-tuning.md#inputs)",
		"[the example](" + RepoURL + "/blob/main/examples/stack/main.tf)",
		"[a section](#inputs)",
		"[outside](https://example.com/x)",
		"[up](../../../x.md)",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("guide lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "<!--") {
		t.Errorf("marker comments kept:\n%s", got)
	}

	// tfplugindocs runs the template through text/template: the README's
	// own "{{" must come out as written.
	tmpl, err := template.New("guide").Parse(got)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := tmpl.Execute(&out, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `summary: "{{ $labels.instance }} is down"`) {
		t.Errorf("rendered guide:\n%s", out.String())
	}
}

func TestGuideTemplateWithoutTitle(t *testing.T) {
	got := GuideTemplate("demo", "Some prose.\n")
	if !strings.Contains(got, "---\n\n# Module: demo\n\nSome prose.\n") {
		t.Errorf("got\n%s", got)
	}
}

func TestGuideTemplateDescription(t *testing.T) {
	got := GuideTemplate("demo", "# demo\n\nApplies the guide's settings:\n\n- one;\n- two.\n")
	if !strings.Contains(got, "description: |-\n  Applies the guide's settings\n---\n") {
		t.Errorf("got\n%s", got)
	}
}
