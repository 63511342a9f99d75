package remote_test

// These tests run the transport against the real sshd of a sandbox host
// (`make sandbox`); without one they skip.

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpai/terraform-provider-mcpai/internal/acctest"
	"github.com/mcpai/terraform-provider-mcpai/internal/remote"
)

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func newClient(t *testing.T, cfg remote.Config) (*remote.Pool, *remote.Client) {
	pool := remote.NewPool()
	t.Cleanup(pool.Close)
	return pool, pool.Client(cfg)
}

func TestRunQuotesArguments(t *testing.T) {
	h := acctest.FirstHost(t)
	_, c := newClient(t, h.Config(t))
	args := []string{"a b", "it's", "$(touch /tmp/pwned)", "`id`", "x;y", "\n", ""}
	out, err := c.Output(ctxT(t), append([]string{"printf", `%s\0`}, args...), nil)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(string(out), "\x00")
	if strings.Join(got[:len(got)-1], "|") != strings.Join(args, "|") {
		t.Fatalf("arguments came back as %q", got)
	}
	if h.InHost(t, "test -e /tmp/pwned && echo yes || echo no") != "no" {
		t.Fatal("an argument was run as a command")
	}
}

func TestRunReportsExitCodeAndStdin(t *testing.T) {
	h := acctest.FirstHost(t)
	_, c := newClient(t, h.Config(t))
	res, err := c.Run(ctxT(t), []string{"sh", "-c", "cat; echo oops >&2; exit 3"}, []byte("input"))
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 3 || string(res.Stdout) != "input" || string(res.Stderr) != "oops\n" {
		t.Fatalf("got %+v", res)
	}
	_, err = c.Output(ctxT(t), []string{"false"}, nil)
	var ce *remote.CommandError
	if !errors.As(err, &ce) || ce.ExitCode != 1 {
		t.Fatalf("Output of false: %v", err)
	}
}

func TestPoolSharesOneConnection(t *testing.T) {
	h := acctest.FirstHost(t)
	before := h.AcceptedLogins(t)
	pool, _ := newClient(t, h.Config(t))
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each caller resolves its own client from the pool, as
			// resources do.
			_, err := pool.Client(h.Config(t)).Output(ctxT(t), []string{"cat", "/proc/sys/net/core/somaxconn"}, nil)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if pool.Dials() != 1 {
		t.Errorf("40 concurrent commands dialled %d times, want 1", pool.Dials())
	}
	time.Sleep(100 * time.Millisecond) // sshd writes its log line asynchronously
	if got := h.AcceptedLogins(t) - before; got != 1 {
		t.Errorf("sshd accepted %d connections, want 1", got)
	}
}

func TestRedialsBrokenConnection(t *testing.T) {
	h := acctest.FirstHost(t)
	pool, c := newClient(t, h.Config(t))
	// The shell's parent is the sshd process serving this one connection:
	// killing it from the host's side drops the pooled connection.
	out, err := c.Output(ctxT(t), []string{"sh", "-c", "echo $PPID"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	h.InHost(t, "kill "+strings.TrimSpace(string(out)))
	time.Sleep(200 * time.Millisecond)
	if _, err := c.Output(ctxT(t), []string{"true"}, nil); err != nil {
		t.Fatalf("command after a dropped connection: %v", err)
	}
	if pool.Dials() != 2 {
		t.Errorf("dials = %d, want 2 (one redial)", pool.Dials())
	}
}

func TestFiles(t *testing.T) {
	h := acctest.FirstHost(t)
	_, c := newClient(t, h.Config(t))
	ctx := ctxT(t)
	dir := "/tmp/mcpai-remote-test"
	p := dir + "/it's a file.conf"
	t.Cleanup(func() { h.InHost(t, "rm -rf "+dir) })

	prev, err := c.WriteFileAtomic(ctx, p, []byte("one\n"), 0o640)
	if err != nil || prev.Exists {
		t.Fatalf("first write: %+v %v", prev, err)
	}
	if got := h.InHost(t, `stat -c %a "`+p+`"`); got != "640" {
		t.Errorf("new file mode %s, want 640", got)
	}
	h.InHost(t, `chmod 600 "`+p+`"`)
	prev, err = c.WriteFileAtomic(ctx, p, []byte("two\n"), 0o644)
	if err != nil || !prev.Exists || string(prev.Data) != "one\n" {
		t.Fatalf("second write: %+v %v", prev, err)
	}
	if got := h.InHost(t, `stat -c %a "`+p+`"; cat "`+p+`"; ls -A `+dir+` | wc -l`); got != "600\ntwo\n1" {
		t.Errorf("after replace: %q (mode kept, content new, no temp file left)", got)
	}
	files, err := c.ReadFiles(ctx, p, dir+"/missing", "/proc/sys/net/ipv4/tcp_rmem")
	if err != nil {
		t.Fatal(err)
	}
	if !files[0].Exists || string(files[0].Data) != "two\n" || files[1].Exists || !strings.Contains(string(files[2].Data), "\t") {
		t.Errorf("ReadFiles = %+v", files)
	}
	if err := c.SetFile(ctx, p, remote.FileState{}, 0o644); err != nil {
		t.Fatal(err)
	}
	if h.InHost(t, `test -e "`+p+`" && echo yes || echo no`) != "no" {
		t.Error("SetFile of a missing state left the file")
	}
	// A directory or a symbolic link at the path is refused, untouched.
	h.InHost(t, "mkdir -p "+dir+"/adir && ln -sf /etc/hostname "+dir+"/alink")
	for _, bad := range []string{dir + "/adir", dir + "/alink"} {
		if _, err := c.WriteFileAtomic(ctx, bad, []byte("x"), 0o644); err == nil || !strings.Contains(err.Error(), "is a symbolic link, a folder or a special file") {
			t.Errorf("writing over %s: %v", bad, err)
		}
	}
	if got := h.InHost(t, "ls -A "+dir+"/adir | wc -l; readlink "+dir+"/alink"); got != "0\n/etc/hostname" {
		t.Errorf("refused targets changed: %q", got)
	}
}

func TestWriteInPlace(t *testing.T) {
	h := acctest.FirstHost(t)
	_, c := newClient(t, h.Config(t))
	orig := h.InHost(t, "cat /proc/sys/net/ipv4/tcp_fin_timeout")
	t.Cleanup(func() { h.InHost(t, "echo "+orig+" > /proc/sys/net/ipv4/tcp_fin_timeout") })
	res, err := c.WriteInPlace(ctxT(t), []remote.PathValue{
		{Path: "/proc/sys/net/ipv4/tcp_fin_timeout", Value: "17"},
		{Path: "/proc/sys/net/core/rmem_max", Value: "212992"}, // refused in a network namespace
		{Path: "/proc/sys/net/ipv4/tcp_fin_timeout", Value: "18"},
	}, true)
	if err != nil {
		t.Fatal(err)
	}
	if !res[0].OK || strings.TrimSpace(res[0].ReadBack) != "17" || res[1].OK || !strings.Contains(res[1].Error, "rmem_max") || res[2].Attempted {
		t.Fatalf("results %+v", res)
	}
}

func TestDialThroughConnection(t *testing.T) {
	h := acctest.FirstHost(t)
	_, c := newClient(t, h.Config(t))
	ctx := ctxT(t)
	// The host's own sshd, reached through the tunnel: it greets first.
	conn, err := c.Dial(ctx, "tcp", h.Address+":22")
	if err != nil {
		t.Fatal(err)
	}
	banner := make([]byte, 8)
	if _, err := io.ReadFull(conn, banner); err != nil || string(banner) != "SSH-2.0-" {
		t.Fatalf("banner %q %v", banner, err)
	}
	_ = conn.Close()
	// A unix socket on the host: an echo server started for the test.
	sock := "/tmp/mcpai-echo.sock"
	go h.InHost(t, "rm -f "+sock+"; timeout 20 python3 -c 'import socket,os\ns=socket.socket(socket.AF_UNIX);s.bind(\""+sock+"\");s.listen(1)\nc,_=s.accept();c.sendall(c.recv(100))'")
	var uc net.Conn
	for i := 0; i < 50; i++ {
		if uc, err = c.Dial(ctx, "unix", sock); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = uc.Close() }()
	if _, err := uc.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 4)
	if _, err := io.ReadFull(uc, got); err != nil || string(got) != "ping" {
		t.Fatalf("unix socket echo %q %v", got, err)
	}
	if _, err := c.Dial(ctx, "tcp", h.Address+":1"); err == nil {
		t.Error("dialling a closed port through the tunnel succeeded")
	}
}

func TestLockExcludesOtherRuns(t *testing.T) {
	h := acctest.FirstHost(t)
	// Two pools stand for two Terraform runs.
	_, a := newClient(t, h.Config(t))
	_, b := newClient(t, h.Config(t))
	unlock, err := a.Lock(ctxT(t), remote.LockOptions{})
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if _, err := b.Lock(short, remote.LockOptions{}); err == nil {
		t.Fatal("a second run took the lock while the first held it")
	}
	unlock()
	unlockB, err := b.Lock(ctxT(t), remote.LockOptions{})
	if err != nil {
		t.Fatalf("lock not released: %v", err)
	}
	unlockB()
}

func TestHostKeyVerification(t *testing.T) {
	h := acctest.FirstHost(t)
	other := acctest.Hosts(t)[1].HostKey

	cfg := h.Config(t)
	cfg.KnownHosts = ""
	cfg.HostKey = other
	_, c := newClient(t, cfg)
	_, err := c.Output(ctxT(t), []string{"true"}, nil)
	var mismatch *remote.HostKeyMismatchError
	if !errors.As(err, &mismatch) || mismatch.Unknown || !strings.Contains(err.Error(), "SHA256:") {
		t.Fatalf("wrong pinned key: %v", err)
	}

	cfg.HostKey = ""
	cfg.KnownHosts = "10.0.0.99 " + other
	_, c = newClient(t, cfg)
	_, err = c.Output(ctxT(t), []string{"true"}, nil)
	if !errors.As(err, &mismatch) || !mismatch.Unknown {
		t.Fatalf("host missing from known_hosts: %v", err)
	}

	cfg.KnownHosts = ""
	_, c = newClient(t, cfg)
	if _, err = c.Output(ctxT(t), []string{"true"}, nil); !errors.Is(err, remote.ErrNoHostKey) {
		t.Fatalf("no key material: %v", err)
	}

	cfg.InsecureIgnoreHostKey = true
	_, c = newClient(t, cfg)
	if _, err = c.Output(ctxT(t), []string{"true"}, nil); err != nil {
		t.Fatalf("explicit opt-out: %v", err)
	}
}

func TestHostKeyRevoked(t *testing.T) {
	h := acctest.FirstHost(t)
	cfg := h.Config(t)
	// The host's own entry is still there; the @revoked line wins.
	cfg.HostKey, cfg.KnownHosts = "", h.Address+" "+h.HostKey+"\n@revoked * "+h.HostKey
	_, c := newClient(t, cfg)
	_, err := c.Output(ctxT(t), []string{"true"}, nil)
	var mismatch *remote.HostKeyMismatchError
	if !errors.As(err, &mismatch) || !mismatch.Revoked || !strings.Contains(err.Error(), "@revoked") {
		t.Fatalf("revoked key: %v", err)
	}
}

func TestCredentials(t *testing.T) {
	h := acctest.FirstHost(t)
	read := func(p string) string { b, _ := os.ReadFile(p); return string(b) }

	cfg := h.Config(t)
	cfg.PrivateKey = read(h.UnauthorizedKeyPath)
	_, c := newClient(t, cfg)
	_, err := c.Output(ctxT(t), []string{"true"}, nil)
	var auth *remote.AuthError
	if !errors.As(err, &auth) {
		t.Fatalf("unauthorised key: %v", err)
	}

	cfg.PrivateKey = read(h.EncryptedKeyPath)
	_, c = newClient(t, cfg)
	if _, err = c.Output(ctxT(t), []string{"true"}, nil); err == nil || !strings.Contains(err.Error(), "private_key_passphrase") {
		t.Fatalf("encrypted key without passphrase: %v", err)
	}
	cfg.PrivateKeyPassphrase = "wrong"
	_, c = newClient(t, cfg)
	if _, err = c.Output(ctxT(t), []string{"true"}, nil); err == nil || !strings.Contains(err.Error(), "does not decrypt") {
		t.Fatalf("wrong passphrase: %v", err)
	}
	cfg.PrivateKeyPassphrase = h.EncryptedKeyPassphrase
	_, c = newClient(t, cfg)
	if _, err = c.Output(ctxT(t), []string{"true"}, nil); err != nil {
		t.Fatalf("right passphrase: %v", err)
	}
	for _, s := range []string{"wrong", h.EncryptedKeyPassphrase, "BEGIN OPENSSH"} {
		if err != nil && strings.Contains(err.Error(), s) {
			t.Errorf("an error quotes secret material %q", s)
		}
	}

	pw := h.Config(t)
	pw.User, pw.PrivateKey, pw.Password = h.SudoUser, "", h.Password
	_, c = newClient(t, pw)
	out, err := c.Output(ctxT(t), []string{"id", "-un"}, nil)
	if err != nil || strings.TrimSpace(string(out)) != h.SudoUser {
		t.Fatalf("password login: %q %v", out, err)
	}
}

func TestSudo(t *testing.T) {
	h := acctest.FirstHost(t)
	cfg := h.Config(t)
	cfg.User, cfg.Sudo = h.SudoUser, true
	_, c := newClient(t, cfg)
	out, err := c.Output(ctxT(t), []string{"id", "-u"}, nil)
	if err != nil || strings.TrimSpace(string(out)) != "0" {
		t.Fatalf("sudo id -u = %q %v", out, err)
	}
	cfg.User = h.NoprivUser
	_, c = newClient(t, cfg)
	if _, err = c.Output(ctxT(t), []string{"id", "-u"}, nil); !errors.Is(err, remote.ErrSudoPassword) {
		t.Fatalf("sudo asking for a password: %v", err)
	}
}

func TestUnreachable(t *testing.T) {
	h := acctest.FirstHost(t)
	cfg := h.Config(t)
	cfg.Port = 1 // nothing listens there
	cfg.Timeout = 2 * time.Second
	_, c := newClient(t, cfg)
	_, err := c.Output(ctxT(t), []string{"true"}, nil)
	var dial *remote.DialError
	if !errors.As(err, &dial) || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("closed port: %v", err)
	}

	// A port that accepts and never speaks SSH: only the timeout ends it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			defer func() { _ = conn.Close() }()
		}
	}()
	silent := cfg
	silent.Host, silent.Port = "127.0.0.1", ln.Addr().(*net.TCPAddr).Port
	silent.Timeout = 500 * time.Millisecond
	_, c = newClient(t, silent)
	start := time.Now()
	_, err = c.Output(ctxT(t), []string{"true"}, nil)
	if err == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("silent server: %v after %v", err, time.Since(start))
	}
}

func TestCancelStopsCommand(t *testing.T) {
	h := acctest.FirstHost(t)
	_, c := newClient(t, h.Config(t))
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Run(ctx, []string{"sleep", "30"}, nil)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 3*time.Second {
		t.Fatalf("cancelled command: %v after %v", err, time.Since(start))
	}
	if _, err := c.Output(ctxT(t), []string{"true"}, nil); err != nil {
		t.Fatalf("connection unusable after a cancel: %v", err)
	}
}

func TestBastion(t *testing.T) {
	h := acctest.FirstHost(t)
	cfg := h.Config(t)
	// Hop through the host and connect from there to its own sshd.
	bastion := cfg.Endpoint
	cfg.Bastion = &bastion
	pool, c := newClient(t, cfg)
	out, err := c.Output(ctxT(t), []string{"sh", "-c", "echo $SSH_CLIENT"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(out), h.Address+" ") {
		t.Errorf("target saw the connection from %q, want the bastion %s", out, h.Address)
	}
	if pool.Dials() != 2 {
		t.Errorf("dials = %d, want 2 (bastion + target)", pool.Dials())
	}
}

func TestConcurrentReadsGetTheirOwnFiles(t *testing.T) {
	h := acctest.FirstHost(t)
	_, c := newClient(t, h.Config(t))
	h.InHost(t, "mkdir -p /tmp/mcpai-reads && for i in $(seq 0 29); do echo content-$i > /tmp/mcpai-reads/$i; done")
	t.Cleanup(func() { h.InHost(t, "rm -rf /tmp/mcpai-reads") })
	var wg sync.WaitGroup
	for i := 0; i < 30; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := fmt.Sprintf("/tmp/mcpai-reads/%d", i)
			files, err := c.ReadFiles(ctxT(t), p, "/tmp/mcpai-reads/none")
			if err != nil {
				t.Error(err)
				return
			}
			if len(files) != 2 || files[0].Path != p || string(files[0].Data) != fmt.Sprintf("content-%d\n", i) || files[1].Exists {
				t.Errorf("read %s got %+v", p, files)
			}
		}()
	}
	wg.Wait()
	// One caller's unreadable file fails that caller only.
	nobody := h.Config(t)
	nobody.User, nobody.PrivateKey, nobody.Password = h.NoprivUser, "", h.Password
	_, np := newClient(t, nobody)
	if _, err := np.ReadFiles(ctxT(t), "/etc/shadow"); err == nil || !strings.Contains(err.Error(), "cannot be read") {
		t.Errorf("unreadable file: %v", err)
	}
}

// agent = true authenticates with the keys of the agent at SSH_AUTH_SOCK.
func TestAgentAuth(t *testing.T) {
	h := acctest.FirstHost(t)
	sock := filepath.Join(t.TempDir(), "agent.sock")
	agentCmd := exec.Command("ssh-agent", "-D", "-a", sock)
	if err := agentCmd.Start(); err != nil {
		t.Skipf("no ssh-agent: %v", err)
	}
	t.Cleanup(func() { _ = agentCmd.Process.Kill(); _ = agentCmd.Wait() })
	for i := 0; i < 50; i++ {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	add := exec.Command("ssh-add", h.PrivateKeyPath)
	add.Env = append(os.Environ(), "SSH_AUTH_SOCK="+sock)
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("ssh-add: %v %s", err, out)
	}
	t.Setenv("SSH_AUTH_SOCK", sock)
	cfg := h.Config(t)
	cfg.PrivateKey, cfg.Agent = "", true
	_, c := newClient(t, cfg)
	if _, err := c.Output(ctxT(t), []string{"true"}, nil); err != nil {
		t.Fatalf("agent login: %v", err)
	}
	t.Setenv("SSH_AUTH_SOCK", "")
	_, c = newClient(t, cfg)
	if _, err := c.Output(ctxT(t), []string{"true"}, nil); err == nil || !strings.Contains(err.Error(), "SSH_AUTH_SOCK is not set") {
		t.Fatalf("agent without a socket: %v", err)
	}
}

// Files come back byte for byte: kernel values with tabs, lines with
// backslashes and trailing blanks, several lines, no final newline.
func TestReadFilesIsExact(t *testing.T) {
	h := acctest.FirstHost(t)
	_, c := newClient(t, h.Config(t))
	h.InHost(t, `mkdir -p /tmp/mcpai-exact && printf 'a\tb  \\\\n \n' > /tmp/mcpai-exact/one && printf 'x\ny\n' > /tmp/mcpai-exact/two && printf 'no-newline' > /tmp/mcpai-exact/three`)
	t.Cleanup(func() { h.InHost(t, "rm -rf /tmp/mcpai-exact") })
	paths := []string{"/proc/sys/net/ipv4/tcp_rmem", "/proc/sys/net/ipv4/tcp_fin_timeout",
		"/proc/sys/../../tmp/mcpai-exact/one", "/proc/sys/../../tmp/mcpai-exact/two", "/proc/sys/../../tmp/mcpai-exact/three"}
	files, err := c.ReadFiles(ctxT(t), paths...)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range paths {
		want := h.InHost(t, "base64 -w0 < "+p)
		if got := base64.StdEncoding.EncodeToString(files[i].Data); got != want {
			t.Errorf("%s: read %q, the host has %q", p, files[i].Data, want)
		}
	}
}

// If the connection holding the host lock breaks, nothing more is sent
// until the holder unlocks: the change must not go on unlocked.
func TestLockLostStopsChanges(t *testing.T) {
	h := acctest.FirstHost(t)
	pool, c := newClient(t, h.Config(t))
	unlock, err := c.Lock(ctxT(t), remote.LockOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.Output(ctxT(t), []string{"sh", "-c", "echo $PPID"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	h.InHost(t, "kill "+strings.TrimSpace(string(out)))
	time.Sleep(200 * time.Millisecond)
	if _, err := c.Output(ctxT(t), []string{"true"}, nil); !errors.Is(err, remote.ErrLockLost) {
		t.Fatalf("command after the lock's connection broke: %v", err)
	}
	unlock()
	if _, err := c.Output(ctxT(t), []string{"true"}, nil); err != nil {
		t.Fatalf("after unlock the client should redial: %v", err)
	}
	if pool.Dials() != 2 {
		t.Errorf("dials = %d, want 2", pool.Dials())
	}
}
