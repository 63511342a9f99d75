package postgres

import (
	"bytes"
	"strings"
)

// RestoreAutoConf puts the settings in names back in postgresql.auto.conf
// as before had them, and keeps every other line of current: what another
// run set meanwhile survives. Each name takes before's line in the place
// of its line in current (appended when current has none); a name before
// did not set is left unset.
func RestoreAutoConf(current, before []byte, names []string) []byte {
	ours := map[string]bool{}
	for _, n := range names {
		ours[strings.ToLower(n)] = true
	}
	old := map[string]string{}
	for _, line := range splitLines(before) {
		if name := autoConfName(line); ours[name] {
			old[name] = line // ALTER SYSTEM writes a name once; the last line wins
		}
	}
	var out bytes.Buffer
	put := func(name string) {
		if line, ok := old[name]; ok {
			out.WriteString(line + "\n")
			delete(old, name)
		}
	}
	for _, line := range splitLines(current) {
		name := autoConfName(line)
		if !ours[name] {
			out.WriteString(line + "\n")
			continue
		}
		put(name)
	}
	for _, line := range splitLines(before) {
		put(autoConfName(line))
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
