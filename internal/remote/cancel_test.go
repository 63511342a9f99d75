package remote_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/mcpai/terraform-provider-mcpai/internal/acctest"
)

// A cancelled or timed-out command does not go on running on the host
// after Run returns, under sudo too (sudo relays no SIGKILL, and sshd
// leaves a closed session's command running).
func TestCancelledCommandEnds(t *testing.T) {
	h := acctest.FirstHost(t)
	for _, sudo := range []bool{false, true} {
		t.Run(fmt.Sprintf("sudo=%v", sudo), func(t *testing.T) {
			cfg := h.Config(t)
			if sudo {
				cfg.User, cfg.Sudo = h.SudoUser, true
			}
			_, c := newClient(t, cfg)
			marker := fmt.Sprintf("/etc/mcpai/cancel-%v", sudo)
			t.Cleanup(func() { h.InHost(t, "rm -f "+marker) })
			// A script that would change the host later, with a child.
			ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
			defer cancel()
			_, err := c.Run(ctx, []string{"sh", "-c", `sleep 6 & wait; touch "$1"`, "sh", marker}, nil)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Run = %v, want the deadline", err)
			}
			if got := h.InHost(t, "ps -eo args | grep -c '^sleep [6]$' || true"); got != "0" {
				t.Errorf("%s of its processes still run after Run returned", got)
			}
			time.Sleep(6 * time.Second)
			if got := h.InHost(t, "test -e "+marker+" && echo changed || echo unchanged"); got != "unchanged" {
				t.Errorf("the cancelled script went on: the host %s", got)
			}
		})
	}
}
