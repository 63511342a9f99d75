// Package similar finds the known name closest to a misspelt one, for
// "did you mean" hints in errors.
package similar

// MaxEdits is the most edits at which a name still counts as a misspelling.
const MaxEdits = 3

// Closest returns the candidate within MaxEdits edits of word, the first in
// lexical order among equally close ones, or "" when none is that close.
func Closest(word string, candidates []string) string {
	best, bestDist := "", MaxEdits+1
	for _, c := range candidates {
		if d := Distance(word, c, MaxEdits+1); d < bestDist || (d == bestDist && c < best) {
			best, bestDist = c, d
		}
	}
	if bestDist > MaxEdits {
		return ""
	}
	return best
}

// Distance is the Damerau–Levenshtein (optimal string alignment) distance
// of a and b, giving up at limit: a swapped pair of letters ("drvier")
// counts as one edit.
func Distance(a, b string, limit int) int {
	if len(a) > 64 || len(b) > 64 {
		return limit
	}
	if d := len(a) - len(b); d >= limit || -d >= limit {
		return limit
	}
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return min(prev[len(b)], limit)
}
