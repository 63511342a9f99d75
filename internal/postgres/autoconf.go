package postgres

import (
	"bytes"
	"strings"
)

// RestoreAutoConf puts the settings in names back in postgresql.auto.conf
// as before had them, and keeps every other line of current: what another
// run set meanwhile survives. Lines of current that set one of names are
// dropped; before's lines for them are appended (a later line wins, so
// their place in the file does not matter). A name before did not set is
// left unset.
func RestoreAutoConf(current, before []byte, names []string) []byte {
	ours := map[string]bool{}
	for _, n := range names {
		ours[strings.ToLower(n)] = true
	}
	var out bytes.Buffer
	for _, line := range splitLines(current) {
		if !ours[autoConfName(line)] {
			out.WriteString(line + "\n")
		}
	}
	for _, line := range splitLines(before) {
		if ours[autoConfName(line)] {
			out.WriteString(line + "\n")
		}
	}
	return out.Bytes()
}

// autoConfName is the lower-cased setting a line of postgresql.auto.conf
// sets ("name = 'value'"), or "" for a comment or blank line.
func autoConfName(line string) string {
	line = strings.TrimSpace(line)
	if line == "" || line[0] == '#' {
		return ""
	}
	end := strings.IndexAny(line, "= \t")
	if end < 0 {
		end = len(line)
	}
	return strings.ToLower(line[:end])
}

func splitLines(b []byte) []string {
	s := strings.TrimSuffix(string(b), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}
