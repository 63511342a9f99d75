// Package redact removes secret values from text that is about to be shown to
// a user: diagnostics, command output, container logs.
package redact

import (
	"sort"
	"strings"
)

// Placeholder replaces every secret found in redacted text.
const Placeholder = "(sensitive value)"

// MinLength is the shortest secret that is replaced. Shorter values ("1",
// "on", "yes") occur everywhere in ordinary output; replacing them would make
// the text unreadable while hiding nothing an attacker could not guess.
const MinLength = 4

// Values returns text with every occurrence of each secret replaced by
// Placeholder. Occurrences that overlap or touch (one secret inside or across
// another) become a single Placeholder, so no part of any secret stays
// visible, whichever order the secrets come in. Secrets shorter than
// MinLength are ignored.
func Values(text string, secrets ...string) string {
	type span struct{ start, end int }
	var spans []span
	for _, s := range secrets {
		if len(s) < MinLength {
			continue
		}
		// Step one byte past each match start so that overlapping
		// occurrences ("abab" in "ababab") are all found.
		for from := 0; ; {
			i := strings.Index(text[from:], s)
			if i < 0 {
				break
			}
			spans = append(spans, span{from + i, from + i + len(s)})
			from += i + 1
		}
	}
	if len(spans) == 0 {
		return text
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].start < spans[j].start })
	var b strings.Builder
	b.Grow(len(text))
	done := 0
	for i := 0; i < len(spans); {
		start, end := spans[i].start, spans[i].end
		for i++; i < len(spans) && spans[i].start <= end; i++ {
			end = max(end, spans[i].end)
		}
		b.WriteString(text[done:start])
		b.WriteString(Placeholder)
		done = end
	}
	b.WriteString(text[done:])
	return b.String()
}
