package similar

import (
	"strings"
	"testing"
)

// osa is the optimal string alignment distance, computed in full.
func osa(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

func TestDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b  string
		limit int
		want  int
	}{
		{"", "", 4, 0},
		{"a", "", 4, 1},
		{"", "abc", 4, 3},
		{"work_mem", "work_mem", 4, 0},
		{"work_mem", "Work_mem", 4, 1},
		{"shared_bufers", "shared_buffers", 4, 1},
		{"shraed_buffers", "shared_buffers", 4, 1}, // a swapped pair is one edit
		{"ab", "ba", 4, 1},
		{"abc", "ca", 4, 3}, // optimal string alignment: no edit of a swapped pair
		{"kitten", "sitting", 4, 3},
		{"max_connection", "max_connections", 4, 1},
		{"workmem", "work_mem", 4, 1},
		{"jit", "", 4, 3},
		{"abcd", "", 4, 4},
		{"abcdefgh", "a", 4, 4}, // length alone reaches the limit
		{"zzzzzzzzzz", "work_mem", 4, 4},
		{"kitten", "sitting", 3, 3},
		{"kitten", "sitting", 2, 2},
		{"kitten", "sitting", 10, 3},
		{"abc", "abd", 1, 1},
		{"abc", "abc", 1, 0},
		{"abc", "abc", 0, 0},
		{"ä", "a", 4, 2}, // bytes, not runes
		{strings.Repeat("a", 64), strings.Repeat("a", 64), 4, 0},
		{strings.Repeat("a", 64), strings.Repeat("a", 63) + "b", 4, 1},
		{strings.Repeat("a", 65), strings.Repeat("a", 65), 4, 4}, // too long to compare
		{strings.Repeat("a", 65), "a", 4, 4},
	} {
		t.Run(tc.a+"|"+tc.b, func(t *testing.T) {
			if got := Distance(tc.a, tc.b, tc.limit); got != tc.want {
				t.Fatalf("Distance(%q, %q, %d) = %d; want %d", tc.a, tc.b, tc.limit, got, tc.want)
			}
			if got := Distance(tc.b, tc.a, tc.limit); got != tc.want {
				t.Fatalf("Distance(%q, %q, %d) = %d; want %d", tc.b, tc.a, tc.limit, got, tc.want)
			}
		})
	}
}

// TestDistanceAll compares Distance with osa on every pair of words of up
// to four letters from a three-letter alphabet, at every limit.
func TestDistanceAll(t *testing.T) {
	words := []string{""}
	for i := 0; i < len(words); i++ {
		if len(words[i]) < 4 {
			for _, c := range "abc" {
				words = append(words, words[i]+string(c))
			}
		}
	}
	for _, a := range words {
		for _, b := range words {
			want := osa(a, b)
			for limit := 1; limit <= 5; limit++ {
				if got := Distance(a, b, limit); got != min(want, limit) {
					t.Fatalf("Distance(%q, %q, %d) = %d; want %d", a, b, limit, got, min(want, limit))
				}
			}
		}
	}
}

func TestClosest(t *testing.T) {
	names := []string{"work_mem", "shared_buffers", "max_wal_size", "min_wal_size", "jit", "wal_buffers", "max_connections"}
	for _, tc := range []struct {
		word       string
		candidates []string
		want       string
	}{
		{"shared_bufers", names, "shared_buffers"},
		{"work_mme", names, "work_mem"},
		{"jti", names, "jit"},
		{"work_mem", names, "work_mem"}, // itself
		{"mxx_wal_size", names, "max_wal_size"},
		{"mun_wal_size", names, "min_wal_size"},
		{"mAx_wal_size", names, "max_wal_size"},
		{"m_wal_size", names, "max_wal_size"}, // two edits to each: the first in lexical order
		{"m_wal_size", []string{"min_wal_size", "max_wal_size"}, "max_wal_size"},
		{"ab", []string{"ac", "aa"}, "aa"},
		{"ab", []string{"aa", "ac"}, "aa"},
		{"ab", []string{"ac", "aa", "ab"}, "ab"},
		{"ab", []string{"aa", "aa"}, "aa"},
		{"wal_bufs", names, "wal_buffers"},                               // three edits: still close
		{"wal_bf", names, ""},                                            // five
		{"walbuf", names, ""},                                            // four
		{"", names, "jit"},                                               // three
		{"zzzzzzzz", names, ""},                                          // far from all
		{"shared_bufers", nil, ""},                                       // nothing to suggest
		{"shared_bufers", []string{""}, ""},                              // too far from ""
		{"ab", []string{"", "xyz"}, ""},                                  // "" is closest, and reads as none
		{strings.Repeat("a", 65), []string{strings.Repeat("a", 65)}, ""}, // too long to compare
	} {
		t.Run(tc.word, func(t *testing.T) {
			if got := Closest(tc.word, tc.candidates); got != tc.want {
				t.Fatalf("Closest(%q, %q) = %q; want %q", tc.word, tc.candidates, got, tc.want)
			}
		})
	}
}
