package moduledocs

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var styled = regexp.MustCompile(`(?m)^  style (\S+) `)

func highlighted(modules ...string) []string {
	var ids []string
	for _, m := range styled.FindAllStringSubmatch(Diagram(modules...), -1) {
		ids = append(ids, m[1])
	}
	return ids
}

func TestDiagramHighlights(t *testing.T) {
	for module, want := range map[string][]string{
		"host-tuning":  {"kernel_api_gpu", "kernel_db_cache"},
		"host-network": {"kernel_api_gpu", "kernel_db_cache"},
		"docker-host":  {"docker"},
		"api-service":  {"api"},
		"model-runner": {"runner"},
		"postgres":     {"postgres"},
		"redis":        {"redis"},
		"monitoring":   {"monitoring"},
		"":             nil,
		"unknown":      nil,
	} {
		if got := highlighted(module); !slices.Equal(got, want) {
			t.Errorf("%q: highlighted %v, want %v", module, got, want)
		}
	}
	// A composition: the layers of the modules it calls.
	stack := Module{Name: "stack", Calls: []string{"host-tuning", "postgres", "redis"}}
	if got, want := highlighted(Applies(stack)...), []string{"kernel_api_gpu", "postgres", "redis", "kernel_db_cache"}; !slices.Equal(got, want) {
		t.Errorf("composition: highlighted %v, want %v", got, want)
	}
	if note := DiagramSection(stack); !strings.Contains(note, "Highlighted: the layers stack applies, through host-tuning, postgres, redis.") {
		t.Errorf("composition's note:\n%s", note)
	}
	if HasLayer("unknown") || !HasLayer(Applies(stack)...) || HasLayer() {
		t.Error("HasLayer")
	}
}

func TestDiagramShape(t *testing.T) {
	d := Diagram()
	for _, want := range []string{
		"flowchart TB\n",
		"subgraph api_gpu[\"Host with roles api + gpu\"]",
		"subgraph db_cache[\"Host with roles db + cache\"]",
		"api ~~~ docker\n", "runner ~~~ docker\n", "docker ~~~ kernel_api_gpu\n",
		"postgres ~~~ kernel_db_cache\n", "redis ~~~ kernel_db_cache\n",
		"clients --> api\n",
	} {
		if !strings.Contains(d, want) {
			t.Errorf("diagram lacks %q:\n%s", want, d)
		}
	}
	// Every node names the module that applies it; subgraphs open and close.
	for _, l := range strings.Split(d, "\n") {
		if strings.Contains(l, "<br>") && !strings.Contains(l, "<br>(") {
			t.Errorf("node without its module: %s", l)
		}
	}
	if o, c := strings.Count(d, "subgraph "), strings.Count(d, "\n    end\n")+strings.Count(d, "\n  end\n"); o != c {
		t.Errorf("%d subgraphs, %d ends", o, c)
	}
	if !strings.Contains(DiagramSection(Module{Name: "redis"}), "Highlighted: what redis sets.") || strings.Contains(DiagramSection(Module{}), "Highlighted") || strings.Contains(DiagramSection(Module{}), "## ") {
		t.Error("the section's note does not follow the highlight")
	}
}

// Every module in the repository has a layer in the diagram, or calls
// modules that have (a composition).
func TestDiagramKnowsEveryModule(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("..", "..", "modules", "*"))
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, dir := range dirs {
		paths, _ := filepath.Glob(filepath.Join(dir, "*.tf"))
		if len(paths) == 0 {
			continue
		}
		found++
		files := map[string][]byte{}
		for _, p := range paths {
			if files[p], err = os.ReadFile(p); err != nil {
				t.Fatal(err)
			}
		}
		m, err := Parse(filepath.Base(dir), files)
		if err != nil {
			t.Fatal(err)
		}
		if !HasLayer(Applies(m)...) {
			t.Errorf("modules/%s has no layer in the stack diagram (internal/moduledocs/diagram.go)", m.Name)
		}
	}
	if found == 0 {
		t.Fatal("no modules found")
	}
}
