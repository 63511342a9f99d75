package remote_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mcpai/terraform-provider-mcpai/internal/acctest"
	"github.com/mcpai/terraform-provider-mcpai/internal/remote"
)

// A second run gives up after its bound, and the error names the holder
// from the holder file; the same client's second Lock names its own
// holder. After unlock the holder file is gone.
func TestLockBoundedWaitNamesHolder(t *testing.T) {
	h := acctest.FirstHost(t)
	_, a := newClient(t, h.Config(t))
	_, b := newClient(t, h.Config(t))
	unlock, err := a.Lock(ctxT(t), remote.LockOptions{Holder: "mcpai_host_file /etc/a"})
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()

	start := time.Now()
	_, err = b.Lock(context.Background(), remote.LockOptions{Wait: time.Second})
	var busy *remote.LockBusyError
	if !errors.As(err, &busy) || busy.Holder == nil {
		t.Fatalf("second run: %v", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("gave up after %s, want about 1s", took)
	}
	machine, _ := os.Hostname()
	if got := *busy.Holder; got.Holder != "mcpai_host_file /etc/a" || got.PID != os.Getpid() || got.Machine != machine || got.User != h.User || time.Since(got.Since) > time.Minute {
		t.Errorf("holder = %+v", got)
	}
	for _, want := range []string{"mcpai_host_file /etc/a", "pid " + strconv.Itoa(os.Getpid()), machine, "held for"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}

	// In the same process the in-process part answers, also bounded.
	_, err = a.Lock(context.Background(), remote.LockOptions{Wait: 200 * time.Millisecond})
	if !errors.As(err, &busy) || busy.InProcess != "mcpai_host_file /etc/a" {
		t.Fatalf("second Lock on the holding client: %v", err)
	}

	unlock()
	// Another test process may take the lock at once; ours must be gone.
	got, err := b.LockHolder(ctxT(t))
	if err != nil || (got != nil && got.PID == os.Getpid() && got.Holder == "mcpai_host_file /etc/a") {
		t.Fatalf("after unlock the holder file says %+v (%v)", got, err)
	}
}

// A holder cut off without its connection closing loses the lock once its
// lease runs out: another run gets it within lease and a margin, and the
// cut-off client refuses further commands (ErrLockLost).
func TestLockLeaseBreaksPartitionedHolder(t *testing.T) {
	h := acctest.FirstHost(t)
	if h.Netns == "" {
		t.Skip("the host has no network namespace to cut")
	}
	const lease = 3 * time.Second
	_, a := newClient(t, h.Config(t))
	_, b := newClient(t, h.Config(t))
	unlock, err := a.Lock(ctxT(t), remote.LockOptions{Holder: "partitioned", Lease: lease})
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	// Held past several heartbeats before the cut: the lease is renewed.
	time.Sleep(2 * lease)
	if _, err := b.Lock(context.Background(), remote.LockOptions{Wait: 500 * time.Millisecond}); err == nil {
		t.Fatal("the lock was free while its holder kept up its heartbeats")
	}
	out, err := a.Output(ctxT(t), []string{"sh", "-c", `set -- $SSH_CLIENT; echo "$2"`}, nil)
	if err != nil {
		t.Fatal(err)
	}
	port := strings.TrimSpace(string(out))
	// Drop this one connection's packets both ways inside the host's
	// network namespace: a partition that neither side sees as a close.
	rules := [][]string{{"INPUT", "--sport", port}, {"OUTPUT", "--dport", port}}
	for _, r := range rules {
		iptables(t, h.Netns, "-I", r[0], "-p", "tcp", r[1], r[2], "-j", "DROP")
		t.Cleanup(func() { iptables(t, h.Netns, "-D", r[0], "-p", "tcp", r[1], r[2], "-j", "DROP") })
	}
	cut := time.Now()

	_, err = b.Lock(context.Background(), remote.LockOptions{Wait: 500 * time.Millisecond})
	var busy *remote.LockBusyError
	if !errors.As(err, &busy) || busy.Holder == nil || busy.Holder.Holder != "partitioned" {
		t.Fatalf("waiting during the partition: %v", err)
	}
	t.Logf("while cut off: %v", err)
	unlockB, err := b.Lock(context.Background(), remote.LockOptions{Wait: 4 * lease, Holder: "second"})
	if err != nil {
		t.Fatalf("the lock of a cut-off holder was not broken: %v", err)
	}
	defer unlockB()
	if took := time.Since(cut); took > lease+3*time.Second {
		t.Errorf("the lock came free %s after the cut, want within the lease (%s) and a margin", took, lease)
	}
	if _, err := a.Output(ctxT(t), []string{"true"}, nil); !errors.Is(err, remote.ErrLockLost) {
		t.Fatalf("the cut-off holder ran a command: %v", err)
	}
}

func iptables(t *testing.T, netns string, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", append([]string{"netns", "exec", netns, "iptables"}, args...)...).CombinedOutput(); err != nil {
		t.Fatalf("iptables %s: %v: %s", strings.Join(args, " "), err, out)
	}
}
