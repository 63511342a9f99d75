package remote

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

// roundTrip asks a real POSIX shell to split the quoted line and print each
// argument NUL-terminated, which is what sshd's login shell does with it.
func roundTrip(t testing.TB, argv []string) []string {
	t.Helper()
	cmd := exec.Command("/bin/sh")
	cmd.Args = []string{"/bin/sh", "-c", "set -- " + QuoteArgs(argv) + `; for a do printf '%s\0' "$a"; done`}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("sh rejected %q: %v", QuoteArgs(argv), err)
	}
	parts := strings.Split(string(out), "\x00")
	return parts[:len(parts)-1]
}

func TestQuoteArgsRoundTrip(t *testing.T) {
	cases := [][]string{
		{"sysctl", "-n", "net.core.somaxconn"},
		{"echo", ""},
		{"a b", "c\td", "e\nf"},
		{"'", `"`, "\\", "$HOME", "`id`", "$(id)", ";", "&&", "|", "*", "?", "~", "#", "!"},
		{"x'; rm -rf / #"},
		{"ünïcødé", "--", "-n"},
	}
	for _, argv := range cases {
		got := roundTrip(t, argv)
		if strings.Join(got, "\x00") != strings.Join(argv, "\x00") || len(got) != len(argv) {
			t.Errorf("argv %q came back as %q", argv, got)
		}
	}
}

func TestQuoteLeavesPlainWordsBare(t *testing.T) {
	for in, want := range map[string]string{
		"net.core.somaxconn":          "net.core.somaxconn",
		"/etc/sysctl.d/90-mcpai.conf": "/etc/sysctl.d/90-mcpai.conf",
		"":                            "''",
		"a b":                         "'a b'",
		"it's":                        `'it'\''s'`,
	} {
		if got := Quote(in); got != want {
			t.Errorf("Quote(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzQuoteArgs(f *testing.F) {
	f.Add("a", "b'c", "$(id)")
	f.Add("", "\n", "\\'")
	f.Fuzz(func(t *testing.T, a, b, c string) {
		argv := []string{a, b, c}
		for _, s := range argv {
			// A shell argument cannot hold NUL.
			if bytes.IndexByte([]byte(s), 0) >= 0 {
				return
			}
		}
		got := roundTrip(t, argv)
		if len(got) != 3 || got[0] != a || got[1] != b || got[2] != c {
			t.Fatalf("argv %q came back as %q", argv, got)
		}
	})
}

func TestParseStatusLines(t *testing.T) {
	lines, err := parseStatusLines([]byte("ok aGk=\nmissing\nerr sh: 1: cannot create x: Permission denied\nok \n"), 4)
	if err != nil {
		t.Fatal(err)
	}
	if string(lines[0].data) != "hi" || lines[1].status != "missing" || lines[2].text != "sh: 1: cannot create x: Permission denied" || len(lines[3].data) != 0 {
		t.Fatalf("parsed %+v", lines)
	}
	if _, err := parseStatusLines([]byte("ok !!!\n"), 1); err == nil {
		t.Error("bad base64 was accepted")
	}
	if _, err := parseStatusLines([]byte("ok aGk=\n"), 2); err == nil {
		t.Error("a short answer was accepted")
	}
}

func FuzzParseStatusLines(f *testing.F) {
	f.Add([]byte("ok aGk=\nmissing\n"))
	f.Add([]byte("old \nnew\nerr x\n"))
	f.Fuzz(func(t *testing.T, out []byte) {
		lines, err := parseStatusLines(out, -1)
		if err != nil {
			return
		}
		if n := bytes.Count(out, []byte("\n")) + 1; len(lines) > n {
			t.Fatalf("%d lines from %d newlines", len(lines), n-1)
		}
		for _, l := range lines {
			if l.status != "ok" && l.status != "old" && l.data != nil {
				t.Fatalf("payload decoded for status %q", l.status)
			}
		}
	})
}

func TestCleanShellError(t *testing.T) {
	for in, want := range map[string]string{
		"sh: 1: printf: printf: I/O error\n":              "printf: printf: I/O error",
		"sh: 4: cannot create /proc/x: Permission denied": "cannot create /proc/x: Permission denied",
		"sh: line 4: /proc/x: Invalid argument":           "/proc/x: Invalid argument",
	} {
		if got := cleanShellError(in); got != want {
			t.Errorf("cleanShellError(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseKernelOutput(t *testing.T) {
	lines, kernel, err := parseKernelOutput([]byte("kernel\nmissing\nok aGk=\n/proc/sys/a:4096\t87380\n/proc/sys/b:x:y\n/proc/sys/a:second\n"), 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 3 || lines[0].status != "kernel" || string(lines[2].data) != "hi" {
		t.Fatalf("status lines %+v", lines)
	}
	if string(kernel["/proc/sys/a"]) != "4096\t87380\nsecond\n" || string(kernel["/proc/sys/b"]) != "x:y\n" {
		t.Fatalf("kernel values %q", kernel)
	}
	if _, _, err := parseKernelOutput([]byte("ok\n"), 2); err == nil {
		t.Error("a short answer was accepted")
	}
}

func FuzzParseKernelOutput(f *testing.F) {
	f.Add([]byte("kernel\n/proc/sys/a:1\n"), 1)
	f.Add([]byte("ok\nerr x\n/p:v\n"), 2)
	f.Fuzz(func(t *testing.T, out []byte, n int) {
		if n < 0 || n > 64 {
			return
		}
		lines, kernel, err := parseKernelOutput(out, n)
		if err != nil {
			return
		}
		if len(lines) != n {
			t.Fatalf("%d status lines, want %d", len(lines), n)
		}
		total := 0
		for p, v := range kernel {
			if strings.Contains(p, ":") || strings.Contains(p, "\n") {
				t.Fatalf("path %q holds a separator", p)
			}
			total += len(p) + len(v)
		}
		if total > len(out) {
			t.Fatalf("values longer than the output")
		}
	})
}

// TestQuoteArgsFirstWordIsTheProgram: a first word holding '=' is the
// program a shell looks for, never a variable assignment that would run the
// next word (or nothing) and succeed.
func TestQuoteArgsFirstWordIsTheProgram(t *testing.T) {
	line := QuoteArgs([]string{"MCPAI_X=1", "echo", "ran the second word"})
	out, err := exec.Command("/bin/sh", "-c", line).CombinedOutput()
	if err == nil || strings.Contains(string(out), "ran the second word") {
		t.Fatalf("sh -c %q succeeded (%q): the first word was taken for an assignment", line, out)
	}
}
