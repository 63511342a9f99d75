package acctest

import (
	"context"
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
	out, err := h.Command(context.Background(), argv...).CombinedOutput()
	if err != nil {
		t.Fatalf("ssh %s: %v: %s", strings.Join(argv, " "), err, out)
	}
	return strings.TrimRight(string(out), "\n")
}

// Command is the machine's ssh client running argv on h as h.User, with the
// sandbox key and the pinned host key.
func (h Host) Command(ctx context.Context, argv ...string) *exec.Cmd {
	args := []string{"-i", h.PrivateKeyPath, "-o", "BatchMode=yes", "-o", "UserKnownHostsFile=" + h.KnownHostsPath,
		"-o", "StrictHostKeyChecking=yes", "-p", strconv.Itoa(h.Port), h.User + "@" + h.Address, "--"}
	return exec.CommandContext(ctx, "ssh", append(args, argv...)...)
}
