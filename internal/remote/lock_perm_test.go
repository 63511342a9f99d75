package remote_test

import (
	"context"
	"testing"
	"time"

	"github.com/mcpai/terraform-provider-mcpai/internal/acctest"
	"github.com/mcpai/terraform-provider-mcpai/internal/remote"
)

// The host lock's file is root's and 0600: flock(2) works on a file opened
// for reading, so a file others may open would let any local user hold the
// lock and stall every run. A login user without sudo, who cannot create
// files in /run, locks a file of its own instead.
func TestLockFileIsPrivate(t *testing.T) {
	h := acctest.FirstHost(t)
	_, root := newClient(t, h.Config(t))
	unlock, err := root.Lock(ctxT(t), remote.LockOptions{Holder: "perm test", Wait: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	unlock()
	if got := h.InHost(t, "stat -c '%U %a' "+remote.LockPath); got != "root 600" {
		t.Errorf("%s is %s, want root 600", remote.LockPath, got)
	}
	// Another user cannot open it to hold it.
	if got := h.InHost(t, "runuser -u "+h.NoprivUser+" -- flock -n "+remote.LockPath+" true 2>&1 || echo refused"); got == "" {
		t.Errorf("%s took the host lock", h.NoprivUser)
	}

	cfg := h.Config(t)
	cfg.User = h.NoprivUser
	_, user := newClient(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	unlock, err = user.Lock(ctx, remote.LockOptions{Holder: "no sudo"})
	if err != nil {
		t.Fatalf("a login user without sudo: %v", err)
	}
	unlock()
}
