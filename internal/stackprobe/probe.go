// Package stackprobe reads, over SSH, the values the MCPAI stack tunes on a
// host (sysctls, THP, governor, limits, Docker, PostgreSQL, Redis, the
// containers, the Traefik and Prometheus files), and compares two readings: `make demo` prints what apply
// changed and what destroy put back, and the stack acceptance test checks
// the same readings.
package stackprobe

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/mcpai/terraform-provider-mcpai/internal/acctest"
)

// Reading is one host's values: layer, then key, then value.
type Reading map[string]map[string]string

// Snapshot is every host's reading, by host name.
type Snapshot map[string]Reading

// Take reads every host. It uses the machine's ssh client, not the
// provider's transport, so that what the provider did is checked by
// another path.
func Take(ctx context.Context, hosts []acctest.Host) (Snapshot, error) {
	s := Snapshot{}
	for _, h := range hosts {
		out, err := h.Command(ctx, probeScript).Output()
		if err != nil {
			return nil, fmt.Errorf("reading %s (%s): %w", h.Name, h.Address, err)
		}
		s[h.Name] = Parse(string(out))
	}
	return s, nil
}

// Parse reads the probe's "layer|key|value" lines; other lines are skipped.
func Parse(out string) Reading {
	r := Reading{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		layer, rest, ok := strings.Cut(sc.Text(), "|")
		if !ok {
			continue
		}
		key, value, ok := strings.Cut(rest, "|")
		if !ok || layer == "" || key == "" {
			continue
		}
		if r[layer] == nil {
			r[layer] = map[string]string{}
		}
		value = strings.TrimSpace(value)
		if layer == "docker" && key == "daemon.json" {
			flattenJSON(r[layer], key, value)
			continue
		}
		r[layer][key] = value
	}
	return r
}

// flattenJSON records a JSON object's top-level keys one by one (key:name),
// so that a table shows which daemon.json setting changed; anything else
// (no file, bad JSON) is kept as it is.
func flattenJSON(into map[string]string, key, value string) {
	var obj map[string]json.RawMessage
	if json.Unmarshal([]byte(value), &obj) != nil {
		into[key] = value
		return
	}
	for k, v := range obj {
		into[key+":"+k] = string(v)
	}
	if len(obj) == 0 {
		into[key] = "{}"
	}
}

// Change is one value that differs between two readings; an empty side
// means the value was not there (e.g. a container that did not exist).
type Change struct {
	Host, Layer, Key, Before, After string
}

// Layers in the guide's order; others sort after them by name.
var layerOrder = []string{"host", "docker", "containers", "postgres", "redis", "files"}

func layerRank(l string) int {
	if i := slices.Index(layerOrder, l); i >= 0 {
		return i
	}
	return len(layerOrder)
}

// Diff lists what differs from before to after, by host, layer (in the
// guide's order) and key.
func Diff(before, after Snapshot) []Change {
	var out []Change
	for _, host := range union(keysOf(before), keysOf(after)) {
		b, a := before[host], after[host]
		for _, layer := range union(keysOf(b), keysOf(a)) {
			for _, key := range union(keysOf(b[layer]), keysOf(a[layer])) {
				if bv, av := b[layer][key], a[layer][key]; bv != av {
					out = append(out, Change{Host: host, Layer: layer, Key: key, Before: bv, After: av})
				}
			}
		}
	}
	slices.SortStableFunc(out, func(x, y Change) int {
		if c := strings.Compare(x.Host, y.Host); c != 0 {
			return c
		}
		if c := layerRank(x.Layer) - layerRank(y.Layer); c != 0 {
			return c
		}
		if c := strings.Compare(x.Layer, y.Layer); c != 0 {
			return c
		}
		return strings.Compare(x.Key, y.Key)
	})
	return out
}

// KernelWide reports whether a host-layer key is the kernel's rather than a
// network namespace's: hosts that share a kernel read the same value.
func KernelWide(key string) bool {
	for _, p := range []string{"vm.", "fs.", "kernel.", "transparent_hugepage."} {
		if strings.HasPrefix(key, p) {
			return true
		}
	}
	return false
}

// Collapse merges the host-layer changes of kernel-wide keys that every one
// of hosts shows alike (hosts that share one kernel, as the sandbox's do)
// into one change under the host name "<h1>+<h2>...".
func Collapse(changes []Change, hosts []string) []Change {
	if len(hosts) < 2 {
		return changes
	}
	type key struct{ k, before, after string }
	count := map[key]int{}
	for _, c := range changes {
		if c.Layer == "host" && KernelWide(c.Key) {
			count[key{c.Key, c.Before, c.After}]++
		}
	}
	joined := strings.Join(hosts, "+")
	var out []Change
	done := map[key]bool{}
	for _, c := range changes {
		k := key{c.Key, c.Before, c.After}
		if c.Layer != "host" || !KernelWide(c.Key) || count[k] != len(hosts) {
			out = append(out, c)
			continue
		}
		if !done[k] {
			done[k] = true
			out = append(out, Change{Host: joined, Layer: c.Layer, Key: c.Key, Before: c.Before, After: c.After})
		}
	}
	slices.SortStableFunc(out, func(x, y Change) int { return strings.Compare(x.Host, y.Host) })
	return out
}

// Table renders changes as aligned columns: host, layer, key, before → after.
func Table(changes []Change) string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	// Writes to a strings.Builder do not fail.
	_, _ = fmt.Fprintln(w, "HOST\tLAYER\tSETTING\tBEFORE\t\tAFTER")
	for _, c := range changes {
		_, _ = fmt.Fprintf(w, "%s\t%s\t%s\t%s\t→\t%s\n", c.Host, c.Layer, c.Key, shown(c.Before), shown(c.After))
	}
	_ = w.Flush()
	return b.String()
}

func shown(v string) string {
	if v == "" {
		return "(none)"
	}
	const limit = 70
	if len(v) > limit {
		return v[:limit-3] + "..."
	}
	return v
}

func keysOf[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func union(a, b []string) []string {
	out := slices.Concat(a, b)
	slices.Sort(out)
	return slices.Compact(out)
}
