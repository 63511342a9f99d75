package acctest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// VM is one Debian 12 virtual machine with systemd that `scripts/vm.sh up`
// starts (qemu, software emulation): for tests that need a real init system,
// reboots or power cuts. Its Host part (name, address 127.0.0.1, the
// forwarded SSH port, user root, sudo_user, key, known_hosts and pinned host
// key) works as for a namespace host: SSHBlock, Config, InHost (a command as
// root through the machine's ssh client) and Command. The guest runs sshd,
// Docker, PostgreSQL 15 ("15 main") and Redis under systemd and reaches
// nothing outside: its services are reached through SSH, as the provider
// does.
type VM struct {
	Host
	// QMPSocket is qemu's QMP unix socket, for Partition and Heal.
	QMPSocket string `json:"qmp_socket"`
	// Netdev is the id of the VM's network backend (set_link's name).
	Netdev string `json:"netdev"`
	// PIDFile holds qemu's pid; it changes when Boot starts a new qemu.
	PIDFile string `json:"pid_file"`
	// SerialLog is the guest's console (kernel and systemd messages).
	SerialLog string `json:"serial_log"`
	// Overlay is the VM's own qcow2 disk over the shared read-only image.
	Overlay string `json:"overlay"`
	// BootCommand cold-boots the VM from its overlay (scripts/vm.sh boot).
	BootCommand []string `json:"boot_command"`
}

// VMsFile is where `scripts/vm.sh up` lists its VMs: MCPAI_SANDBOX_VMS, or
// .sandbox/vms.json at the repository root.
func VMsFile() string {
	if p := os.Getenv("MCPAI_SANDBOX_VMS"); p != "" {
		return p
	}
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", ".sandbox", "vms.json")
}

// VMs returns the VM hosts. Like Hosts, it skips the test unless TF_ACC is
// set, and then fails when no VMs are up.
func VMs(t testing.TB) []VM {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test against the VM hosts: set TF_ACC=1 (make test does)")
	}
	vms, err := ReadVMsFile(VMsFile())
	if err != nil {
		t.Fatalf("no VM hosts (%v): run `make vm` first, or `make test`, which starts them", err)
	}
	for _, v := range vms {
		v.resume(t)
	}
	return vms
}

// resume continues a VM that `scripts/vm.sh pause` stopped, and pauses it
// again when the test ends. `make test` keeps the VMs paused outside the
// tests that use them: an idle guest under software emulation takes most
// of one of the machine's cores (its timers and RCU), which the other
// tests need. The guest's clock stood still while paused: it is set to the
// machine's, as after `vm.sh up`.
func (v VM) resume(t testing.TB) {
	t.Helper()
	status, err := v.QMP("query-status", nil)
	if err != nil {
		return // powered off, or no monitor: the test's own checks report it
	}
	var st struct {
		Status string `json:"status"`
	}
	if json.Unmarshal(status, &st) != nil || st.Status != "paused" {
		return
	}
	if _, err := v.QMP("cont", nil); err != nil {
		t.Fatalf("%s: resuming the paused VM: %v", v.Name, err)
	}
	t.Cleanup(func() {
		// The qemu this test ends with (a power cut starts another).
		if _, err := v.QMP("stop", nil); err != nil {
			t.Logf("%s: pausing the VM again: %v", v.Name, err)
		}
	})
	if out, err := v.Try(30*time.Second, fmt.Sprintf("date -s @%d >/dev/null", time.Now().Unix())); err != nil {
		t.Fatalf("%s: setting the clock after resuming: %v: %s", v.Name, err, out)
	}
}

// ReadVMsFile reads a vms.json that `scripts/vm.sh up` wrote.
func ReadVMsFile(path string) ([]VM, error) {
	raw, err := os.ReadFile(filepath.Clean(path))
	if err != nil {
		return nil, err
	}
	var doc struct {
		VMs []VM `json:"vms"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("%s is not a VM list: %w", path, err)
	}
	if len(doc.VMs) == 0 {
		return nil, fmt.Errorf("%s lists no VMs", path)
	}
	return doc.VMs, nil
}

// VMAt returns the i-th VM (from 0), failing when fewer are up.
func VMAt(t testing.TB, i int) VM {
	t.Helper()
	vms := VMs(t)
	if i >= len(vms) {
		t.Fatalf("the test needs %d VMs, %s lists %d: run `scripts/vm.sh up %d`", i+1, VMsFile(), len(vms), i+1)
	}
	return vms[i]
}

// SudoHost is v as its sudo user (passwordless sudo, not root).
func (v VM) SudoHost() Host {
	h := v.Host
	h.User = v.SudoUser
	return h
}

// SudoSSHBlock is the provider's ssh object logging in as the sudo user with
// `sudo = true`, plus the given extra lines. v.SSHBlock logs in as root.
func (v VM) SudoSSHBlock(t testing.TB, extra ...string) string {
	return v.SudoHost().SSHBlock(t, append([]string{"sudo = true"}, extra...)...)
}

// Try runs cmd as root and gives up after timeout: for checks that may fail
// (a partitioned or powered-off VM). The whole SSH handshake counts, since
// qemu accepts TCP for a guest that does not answer.
func (v VM) Try(timeout time.Duration, cmd string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out, err := v.Command(ctx, cmd).CombinedOutput()
	if ctx.Err() != nil {
		return string(out), fmt.Errorf("%s: no answer within %s", v.Name, timeout)
	}
	if err != nil {
		return string(out), fmt.Errorf("%s: %s: %w: %s", v.Name, cmd, err, out)
	}
	return strings.TrimRight(string(out), "\n"), nil
}

// WaitSSH waits until v runs a command as root over SSH.
func (v VM) WaitSSH(t testing.TB, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		_, err := v.Try(15*time.Second, "true")
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no SSH after %s (%v); console: %s", v.Name, within, err, v.SerialLog)
		}
		time.Sleep(time.Second)
	}
}

func (v VM) pid(t testing.TB) int {
	t.Helper()
	raw, err := os.ReadFile(v.PIDFile)
	if err != nil {
		t.Fatalf("%s: qemu's pid: %v", v.Name, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		t.Fatalf("%s: %s: %v", v.Name, v.PIDFile, err)
	}
	return pid
}

// running tells whether pid is a live process (the machine's init may leave
// a killed qemu as a zombie).
func running(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	return len(fields) > 0 && fields[0] != "Z"
}

// PowerCut kills qemu with SIGKILL: the guest stops as on a power failure,
// with what its disk cache held lost.
func (v VM) PowerCut(t testing.TB) {
	t.Helper()
	pid := v.pid(t)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && running(pid) {
		t.Fatalf("%s: power cut: %v", v.Name, err)
	}
	for deadline := time.Now().Add(10 * time.Second); running(pid); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: qemu %d still runs after SIGKILL", v.Name, pid)
		}
	}
}

// Boot starts a powered-off VM from its own disk (a cold boot, no saved
// state) and waits for sshd: about 25 s under emulation.
func (v VM) Boot(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, v.BootCommand[0], v.BootCommand[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: boot: %v: %s", v.Name, err, out)
	}
}

// BootID is the guest kernel's boot id: it changes with every boot.
func (v VM) BootID(t testing.TB) string {
	t.Helper()
	return v.InHost(t, "cat /proc/sys/kernel/random/boot_id")
}

// Reboot runs `systemctl reboot` in the guest and waits until it answers
// SSH from a new boot (about 30 s under emulation).
func (v VM) Reboot(t testing.TB) {
	t.Helper()
	before := v.BootID(t)
	// sshd may close the session before it reports: the new boot id tells.
	_, _ = v.Try(20*time.Second, "systemctl reboot")
	deadline := time.Now().Add(5 * time.Minute)
	for {
		id, err := v.Try(15*time.Second, "cat /proc/sys/kernel/random/boot_id")
		if err == nil && id != before {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not back from reboot after 5 min (%v); console: %s", v.Name, err, v.SerialLog)
		}
		time.Sleep(time.Second)
	}
}

// Partition cuts the VM's network link (QMP set_link): connections to it
// stall as behind a broken network, until Heal.
func (v VM) Partition(t testing.TB) { v.setLink(t, false) }

// Heal restores the link that Partition cut.
func (v VM) Heal(t testing.TB) { v.setLink(t, true) }

func (v VM) setLink(t testing.TB, up bool) {
	t.Helper()
	if _, err := v.QMP("set_link", map[string]any{"name": v.Netdev, "up": up}); err != nil {
		t.Fatalf("%s: set_link up=%t: %v", v.Name, up, err)
	}
}

// QMP runs one command on the VM's qemu monitor and returns its "return"
// value.
func (v VM) QMP(command string, args map[string]any) (json.RawMessage, error) {
	conn, err := net.DialTimeout("unix", v.QMPSocket, 5*time.Second)
	if err != nil {
		return nil, err
	}
	defer func() { _ = conn.Close() }()
	if err := conn.SetDeadline(time.Now().Add(30 * time.Second)); err != nil {
		return nil, err
	}
	r := bufio.NewReader(conn)
	if _, err := r.ReadBytes('\n'); err != nil { // the greeting
		return nil, err
	}
	call := func(cmd string, args map[string]any) (json.RawMessage, error) {
		msg := map[string]any{"execute": cmd}
		if args != nil {
			msg["arguments"] = args
		}
		req, err := json.Marshal(msg)
		if err != nil {
			return nil, err
		}
		if _, err := conn.Write(append(req, '\n')); err != nil {
			return nil, err
		}
		for {
			line, err := r.ReadBytes('\n')
			if err != nil {
				return nil, err
			}
			var msg struct {
				Return json.RawMessage `json:"return"`
				Error  *struct {
					Class string `json:"class"`
					Desc  string `json:"desc"`
				} `json:"error"`
			}
			if err := json.Unmarshal(line, &msg); err != nil {
				return nil, fmt.Errorf("QMP answered %q: %w", line, err)
			}
			switch {
			case msg.Error != nil:
				return nil, fmt.Errorf("QMP %s: %s: %s", cmd, msg.Error.Class, msg.Error.Desc)
			case msg.Return != nil:
				return msg.Return, nil
			} // an event: read on
		}
	}
	if _, err := call("qmp_capabilities", nil); err != nil {
		return nil, err
	}
	return call(command, args)
}
