package redact

import (
	"strings"
	"testing"
)

func TestValues(t *testing.T) {
	const p = Placeholder
	tests := []struct {
		name    string
		text    string
		secrets []string
		want    string
	}{
		{"no secrets", "password=hunter22", nil, "password=hunter22"},
		{"empty text", "", []string{"hunter22"}, ""},
		{"one occurrence", "password=hunter22\n", []string{"hunter22"}, "password=" + p + "\n"},
		{"every occurrence", "a=hunter22 b=hunter22", []string{"hunter22"}, "a=" + p + " b=" + p},
		{"empty secret ignored", "abc", []string{""}, "abc"},
		{"short secret ignored", "on yes 1 abc", []string{"on", "yes", "1", "abc"}, "on yes 1 abc"},
		{"minimum length kept", "pin=abcd", []string{"abcd"}, "pin=" + p},
		{"longer secret containing a shorter one", "k=s3cretXYZ", []string{"s3cret", "s3cretXYZ"}, "k=" + p},
		{"shorter listed first", "k=s3cretXYZ and s3cret", []string{"s3cret", "s3cretXYZ"}, "k=" + p + " and " + p},
		{"overlapping secrets", "xxabcdefyy", []string{"abcde", "defyy"}, "xx" + p},
		{"adjacent secrets", "abcdwxyz!", []string{"abcd", "wxyz"}, p + "!"},
		{"self-overlapping", "ababababX", []string{"ababab"}, p + "X"},
		{"duplicates", "k=hunter22", []string{"hunter22", "hunter22"}, "k=" + p},
		{"multibyte", "clé=pässwörd;", []string{"pässwörd"}, "clé=" + p + ";"},
		{"secret across a line break", "a\nhunter22\nb", []string{"hunter22"}, "a\n" + p + "\nb"},
		{"quoted form in a command line", `env PASS='hunter22' run`, []string{"hunter22"}, `env PASS='` + p + `' run`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Values(tt.text, tt.secrets...); got != tt.want {
				t.Errorf("Values(%q, %q) = %q, want %q", tt.text, tt.secrets, got, tt.want)
			}
		})
	}
}

// FuzzValues checks the promise callers rely on: no secret of MinLength or
// more survives anywhere in the text that is not a Placeholder, and text
// without any secret comes back unchanged.
func FuzzValues(f *testing.F) {
	f.Add("password=hunter22 again hunter22", "hunter22", "hunter")
	f.Add("xxabcdefyy", "abcde", "defyy")
	f.Add("ababababab", "ababab", "")
	f.Add("(sensitive value)", "value)", "sens")
	f.Fuzz(func(t *testing.T, text, a, b string) {
		got := Values(text, a, b)
		for _, fragment := range strings.Split(got, Placeholder) {
			for _, s := range []string{a, b} {
				if len(s) >= MinLength && strings.Contains(fragment, s) {
					t.Fatalf("Values(%q, %q, %q) = %q still shows %q", text, a, b, got, s)
				}
			}
		}
		contains := func(s string) bool { return len(s) >= MinLength && strings.Contains(text, s) }
		if !contains(a) && !contains(b) && got != text {
			t.Fatalf("Values(%q, %q, %q) = %q changed text holding no secret", text, a, b, got)
		}
	})
}
