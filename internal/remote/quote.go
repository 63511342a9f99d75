package remote

import "strings"

// Quote makes s one literal word for a POSIX shell: single quotes keep every
// byte as it is, and a single quote inside becomes '\”.
//
// A word with '=' is quoted too: bare, in a command's first place, a shell
// takes it for a variable assignment and runs the next word instead.
func Quote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:@%+,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// QuoteArgs joins an argument vector into a command line that the remote
// login shell splits back into exactly these arguments.
func QuoteArgs(argv []string) string {
	quoted := make([]string, len(argv))
	for i, a := range argv {
		quoted[i] = Quote(a)
	}
	return strings.Join(quoted, " ")
}
