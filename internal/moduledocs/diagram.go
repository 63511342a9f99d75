package moduledocs

import (
	"fmt"
	"strings"
)

// The stack as the guide lays it out, and which module applies each layer:
// the one source of the diagram in every module's README and in the guide.

type layer struct {
	id, label string
	modules   []string // the modules that set this layer
}

type host struct {
	id, label string
	services  []layer // side by side, on top of the base
	base      []layer // top to bottom: Docker, then the kernel
}

func (h host) layers() []layer { return append(append([]layer{}, h.services...), h.base...) }

// stackModule composes all the others over a map of hosts by role.
const stackModule = "mcpai-stack"

func kernelLayer(id string) layer {
	return layer{id, "Kernel: sysctls, THP, CPU governor, limits", []string{"host-tuning", "host-network"}}
}

var stackHosts = []host{
	{"api_gpu", "Host with roles api + gpu", []layer{
		{"api", "API service behind Traefik", []string{"api-service"}},
		{"runner", "GPU model runner: CUDA settings", []string{"model-runner"}},
	}, []layer{
		{"docker", "Docker: daemon.json", []string{"docker-host"}},
		kernelLayer("kernel_api_gpu"),
	}},
	{"db_cache", "Host with roles db + cache", []layer{
		{"postgres", "PostgreSQL sized by PGTune", []string{"postgres"}},
		{"redis", "Redis: memory, eviction, persistence", []string{"redis"}},
	}, []layer{
		kernelLayer("kernel_db_cache"),
	}},
}

var monitoringLayer = layer{"monitoring", "Prometheus: alert rules, scrape targets", []string{"monitoring"}}

// Requests (solid) and scrapes (dotted) between the layers.
var stackEdges = []string{
	"clients --> api",
	"api --> runner",
	"api --> postgres",
	"api --> redis",
	"monitoring -. scrapes .-> api_gpu",
	"monitoring -. scrapes .-> db_cache",
}

const highlightStyle = "fill:#ffe8a3,stroke:#d9480f,stroke-width:3px"

// Diagram returns the stack as a Mermaid flowchart, with the layers that
// module sets highlighted (all of them for the composition, none for "").
func Diagram(module string) string {
	var b strings.Builder
	var lit []string
	node := func(indent string, l layer) {
		fmt.Fprintf(&b, "%s%s[\"%s<br>(%s)\"]\n", indent, l.id, l.label, strings.Join(l.modules, ", "))
		for _, m := range l.modules {
			if m == module {
				lit = append(lit, l.id)
			}
		}
	}
	b.WriteString("flowchart TB\n  clients([Clients])\n")
	fmt.Fprintf(&b, "  subgraph stack[\"%s: hosts by role\"]\n", stackModule)
	for _, h := range stackHosts {
		fmt.Fprintf(&b, "    subgraph %s[\"%s\"]\n      direction TB\n", h.id, h.label)
		for _, l := range h.layers() {
			node("      ", l)
		}
		// Invisible links stack the services on the base, the base's
		// layers one on the other.
		for _, l := range h.services {
			fmt.Fprintf(&b, "      %s ~~~ %s\n", l.id, h.base[0].id)
		}
		for i := 1; i < len(h.base); i++ {
			fmt.Fprintf(&b, "      %s ~~~ %s\n", h.base[i-1].id, h.base[i].id)
		}
		b.WriteString("    end\n")
	}
	node("    ", monitoringLayer)
	b.WriteString("  end\n")
	for _, e := range stackEdges {
		b.WriteString("  " + e + "\n")
	}
	if module == stackModule {
		lit = append(lit, "stack")
	}
	for _, id := range lit {
		fmt.Fprintf(&b, "  style %s %s\n", id, highlightStyle)
	}
	return b.String()
}

// DiagramSection is the README section around the diagram.
func DiagramSection(module string) string {
	var b strings.Builder
	if module != "" {
		b.WriteString("## Where it sits in the stack\n\n")
	}
	b.WriteString("```mermaid\n" + Diagram(module) + "```\n\n")
	b.WriteString("Each box is a layer of the guide and names, in brackets, the module that applies it.")
	if note := highlightNote(module); note != "" {
		b.WriteString(" " + note)
	}
	return b.String() + "\n"
}

func highlightNote(module string) string {
	switch {
	case module == stackModule:
		return "Highlighted: this module, which composes the others over a map of hosts by role: every host gets the kernel layer, api and gpu hosts Docker, db hosts PostgreSQL, cache hosts Redis, gpu hosts the model runner."
	case module == "host-network":
		return "Highlighted: the kernel layer, whose network sysctls host-network sets (host-tuning sets them too, with the rest of the layer)."
	case module != "" && KnownModule(module):
		return fmt.Sprintf("Highlighted: what %s sets.", module)
	}
	return ""
}

// KnownModule says whether the diagram has a layer of module.
func KnownModule(module string) bool {
	if module == stackModule {
		return true
	}
	for _, h := range stackHosts {
		for _, l := range h.layers() {
			for _, m := range l.modules {
				if m == module {
					return true
				}
			}
		}
	}
	return module == monitoringLayer.modules[0]
}
