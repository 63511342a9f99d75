package vmtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/mcpai/terraform-provider-mcpai/internal/acctest"
	"github.com/mcpai/terraform-provider-mcpai/internal/remote"
)

// A run holds the host lock and then goes silent (its one connection's
// packets dropped inside the guest, so neither side sees a close): a second
// run gives up within its timeout with an error naming the holder; once
// the lease runs out the host frees the lock and removes the holder file,
// and the next run applies.
func TestAccVMLock_partitionedHolder(t *testing.T) {
	v := acctest.VMAt(t, 0)
	const lease = 15 * time.Second
	const file = "/etc/sysctl.d/92-mcpai-vm-lock.conf"
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	holder := remote.NewPool().Client(v.Config(t))
	defer holder.Close()
	unlock, err := holder.Lock(ctx, remote.LockOptions{Holder: "partitioned run", Lease: lease})
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	out, err := holder.Output(ctx, []string{"sh", "-c", `set -- $SSH_CLIENT; echo "$2"`}, nil)
	if err != nil {
		t.Fatal(err)
	}
	port := strings.TrimSpace(string(out))
	if _, err := strconv.Atoi(port); err != nil {
		t.Fatalf("the holder's port as the guest sees it: %q", out)
	}
	var cut time.Time
	partition := func() {
		for _, r := range [][2]string{{"INPUT", "--sport"}, {"OUTPUT", "--dport"}} {
			rule := fmt.Sprintf("%s -p tcp %s %s -j DROP", r[0], r[1], port)
			v.InHost(t, "iptables -I "+rule)
			t.Cleanup(func() { v.InHost(t, "iptables -D "+rule) })
		}
		cut = time.Now()
	}

	config := func(timeout string) string {
		return providerBlock(t, v, false) + fmt.Sprintf(`
resource "mcpai_host_sysctl" "test" {
  ssh      = %s
  file     = %q
  settings = { "net.ipv4.tcp_fin_timeout" = "23" }
  timeouts = { create = %q }
}`, sshTarget(v), file, timeout)
	}
	machine, _ := os.Hostname()
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providers,
		CheckDestroy: func(*terraform.State) error {
			if got := v.InHost(t, "cat /proc/sys/net/ipv4/tcp_fin_timeout; test -e "+file+" && echo left; true"); got != "60" {
				return fmt.Errorf("after destroy: %s", got)
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				PreConfig: partition,
				Config:    config("8s"),
				ExpectError: messageRE(fmt.Sprintf("the host lock %s on %s@%s is held by partitioned run (provider pid %d on %s, logged in as root;",
					remote.LockPath, v.SudoUser, hostID(v), os.Getpid(), machine)),
			},
			{
				PreConfig: func() {
					if time.Since(cut) > lease {
						t.Fatalf("the second run took %s, past the lease: the test cannot tell a broken lock from a bounded wait", time.Since(cut))
					}
					for v.InHost(t, "cat "+remote.LockHolderPath+" 2>/dev/null | grep -c 'holder=partitioned run'; true") != "0" {
						if time.Since(cut) > lease+10*time.Second {
							t.Fatalf("the holder file still names the cut-off run %s after the cut (lease %s)", time.Since(cut), lease)
						}
						time.Sleep(time.Second)
					}
					t.Logf("the lock came free %s after the cut (lease %s)", time.Since(cut).Round(time.Second), lease)
					if _, err := holder.Output(ctx, []string{"true"}, nil); !errors.Is(err, remote.ErrLockLost) {
						t.Errorf("the cut-off holder ran a command: %v", err)
					}
				},
				Config: config("60s"),
				Check: func(*terraform.State) error {
					if got := v.InHost(t, "cat /proc/sys/net/ipv4/tcp_fin_timeout"); got != "23" {
						return fmt.Errorf("tcp_fin_timeout = %s", got)
					}
					return nil
				},
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
		},
	})
}

// Two Terraform runs applied at once on one host, each with a file and a
// sysctl: both succeed, one after the other (their validate commands, run
// under the lock, never interleave), both values hold, and after two
// destroys at once the VM is as before.
func TestAccVMLock_twoAppliesAtOnce(t *testing.T) {
	v := acctest.VMAt(t, 0)
	const logFile = "/run/mcpai-vm-two-runs.log"
	snapshot := func() string {
		return v.InHost(t, "cat /proc/sys/net/ipv4/tcp_fin_timeout /proc/sys/net/ipv4/tcp_keepalive_time; ls /etc/sysctl.d /etc | grep mcpai-vm; ls -A /var/lib/mcpai/ledger; true")
	}
	before := snapshot()
	v.InHost(t, "rm -f "+logFile)
	t.Cleanup(func() { v.InHost(t, "rm -f "+logFile) })

	runs := []struct{ name, key, value string }{
		{"a", "net.ipv4.tcp_fin_timeout", "24"},
		{"b", "net.ipv4.tcp_keepalive_time", "612"},
	}
	var ws []*acctest.Workspace
	for _, r := range runs {
		// The validate command notes when it starts and ends; the sleep
		// makes an overlap likely if the lock let one through.
		ws = append(ws, acctest.NewWorkspace(t, providerBlock(t, v, false)+fmt.Sprintf(`
resource "mcpai_host_file" "conf" {
  ssh              = %[1]s
  path             = "/etc/mcpai-vm-%[2]s.conf"
  content          = "run %[2]s\n"
  validate_command = ["sh", "-c", "echo start %[2]s >> %[5]s; sleep 2; echo end %[2]s >> %[5]s"]
}

resource "mcpai_host_sysctl" "conf" {
  ssh      = %[1]s
  file     = "/etc/sysctl.d/93-mcpai-vm-%[2]s.conf"
  settings = { %[3]q = %[4]q }
}`, sshTarget(v), r.name, r.key, r.value, logFile)))
	}
	both := func(args ...string) {
		t.Helper()
		var wg sync.WaitGroup
		outs := make([]string, len(ws))
		codes := make([]int, len(ws))
		for i, w := range ws {
			wg.Add(1)
			go func() {
				defer wg.Done()
				codes[i], outs[i] = w.Run([]int{0, 1}, args...)
			}()
		}
		wg.Wait()
		for i := range ws {
			if codes[i] != 0 {
				t.Fatalf("run %s: terraform %s exited %d:\n%s", runs[i].name, args[0], codes[i], outs[i])
			}
		}
	}

	both("apply", "-auto-approve")
	for _, r := range runs {
		if got := v.InHost(t, "cat /proc/sys/"+strings.ReplaceAll(r.key, ".", "/")+" /etc/mcpai-vm-"+r.name+".conf"); got != r.value+"\nrun "+r.name {
			t.Errorf("run %s: %q on the VM", r.name, got)
		}
	}
	log := strings.Fields(v.InHost(t, "cat "+logFile))
	if len(log) != 8 || log[1] != log[3] || log[5] != log[7] || log[0] != "start" || log[4] != "start" {
		t.Errorf("the two runs' validate commands overlapped: %v", log)
	}
	for _, w := range ws {
		if code, out := w.Run([]int{0, 2}, "plan", "-detailed-exitcode"); code != 0 {
			t.Errorf("plan after both applies is not empty:\n%s", out)
		}
	}
	both("destroy", "-auto-approve")
	if after := snapshot(); after != before {
		t.Fatalf("the VM is not as before:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}
