package acctest

import (
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// run uses the machine's ssh client with the sandbox key: a path
// independent of the provider's own transport, so tests do not check the
// transport with itself.
func (h Host) run(t testing.TB, argv ...string) string {
	t.Helper()
	args := []string{"-i", h.PrivateKeyPath, "-o", "BatchMode=yes", "-o", "UserKnownHostsFile=" + h.KnownHostsPath,
		"-o", "StrictHostKeyChecking=yes", "-p", strconv.Itoa(h.Port), h.User + "@" + h.Address, "--"}
	args = append(args, argv...)
	out, err := exec.Command("ssh", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("ssh %s: %v: %s", strings.Join(argv, " "), err, out)
	}
	return strings.TrimRight(string(out), "\n")
}
