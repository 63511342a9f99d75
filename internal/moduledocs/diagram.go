package moduledocs

import (
	"fmt"
	"slices"
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

func kernelLayer(id string) layer {
	return layer{id, "Kernel: sysctls, THP, CPU governor, limits", []string{"host-tuning", "host-network"}}
}

var stackHosts = []host{
	{"api_gpu", "Host with roles api + gpu", []layer{
		{"api", "API service behind Traefik", []string{"api-service"}},
		{"runner", "GPU model runner: CUDA settings", []string{"model-runner"}},
		{"pgbouncer", "PgBouncer: transaction pooling", []string{"pgbouncer"}},
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
	"api -. optional .-> pgbouncer",
	"pgbouncer --> postgres",
	"api --> redis",
	"monitoring -. scrapes .-> api_gpu",
	"monitoring -. scrapes .-> db_cache",
}

const highlightStyle = "fill:#ffe8a3,stroke:#d9480f,stroke-width:3px"

// Applies lists the modules whose layers m sets: m itself, and the
// modules of this repository it calls (a composition such as mcpai-stack).
func Applies(m Module) []string {
	return append([]string{m.Name}, m.Calls...)
}

// Diagram returns the stack as a Mermaid flowchart, with the layers of the
// given modules highlighted.
func Diagram(modules ...string) string {
	var b strings.Builder
	var lit []string
	node := func(indent string, l layer) {
		fmt.Fprintf(&b, "%s%s[\"%s<br>(%s)\"]\n", indent, l.id, l.label, strings.Join(l.modules, ", "))
		for _, m := range l.modules {
			if slices.Contains(modules, m) {
				lit = append(lit, l.id)
				break
			}
		}
	}
	b.WriteString("flowchart TB\n  clients([Clients])\n")
	b.WriteString("  subgraph stack[\"Hosts by role\"]\n")
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
	for _, id := range lit {
		fmt.Fprintf(&b, "  style %s %s\n", id, highlightStyle)
	}
	return b.String()
}

// DiagramSection is the README section around the diagram of m's layers;
// an unnamed module (the guide's) highlights none.
func DiagramSection(m Module) string {
	var b strings.Builder
	var applies []string
	if m.Name != "" {
		b.WriteString("## Where it sits in the stack\n\n")
		applies = Applies(m)
	}
	b.WriteString("```mermaid\n" + Diagram(applies...) + "```\n\n")
	b.WriteString("Each box is a layer of the guide and names, in brackets, the module that applies it.")
	if note := highlightNote(m); note != "" {
		b.WriteString(" " + note)
	}
	return b.String() + "\n"
}

func highlightNote(m Module) string {
	switch {
	case m.Name == "" || !HasLayer(Applies(m)...):
		return ""
	case len(m.Calls) > 0:
		return fmt.Sprintf("Highlighted: the layers %s applies, through %s.", m.Name, strings.Join(m.Calls, ", "))
	case m.Name == "host-network":
		return "Highlighted: the kernel layer, whose network sysctls host-network sets (host-tuning sets them too, with the rest of the layer)."
	}
	return fmt.Sprintf("Highlighted: what %s sets.", m.Name)
}

// HasLayer says whether one of modules applies a layer of the diagram.
func HasLayer(modules ...string) bool {
	for _, h := range stackHosts {
		for _, l := range h.layers() {
			for _, m := range l.modules {
				if slices.Contains(modules, m) {
					return true
				}
			}
		}
	}
	return slices.Contains(modules, monitoringLayer.modules[0])
}
