package moduledocs

import (
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var styled = regexp.MustCompile(`(?m)^  style (\S+) `)

func highlighted(module string) []string {
	var ids []string
	for _, m := range styled.FindAllStringSubmatch(Diagram(module), -1) {
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
		"mcpai-stack":  {"stack"},
		"":             nil,
		"unknown":      nil,
	} {
		if got := highlighted(module); !slices.Equal(got, want) {
			t.Errorf("%q: highlighted %v, want %v", module, got, want)
		}
	}
}

func TestDiagramShape(t *testing.T) {
	d := Diagram("")
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
	if !strings.Contains(DiagramSection("redis"), "Highlighted: what redis sets.") || strings.Contains(DiagramSection(""), "Highlighted") {
		t.Error("the section's note does not follow the highlight")
	}
}

// Every module in the repository has its layer in the diagram.
func TestDiagramKnowsEveryModule(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("..", "..", "modules", "*", "*.tf"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no modules found: %v", err)
	}
	for _, tf := range dirs {
		if module := filepath.Base(filepath.Dir(tf)); !KnownModule(module) {
			t.Errorf("modules/%s has no layer in the stack diagram (internal/moduledocs/diagram.go)", module)
		}
	}
}
