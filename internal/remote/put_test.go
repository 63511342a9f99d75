package remote_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mcpai/terraform-provider-mcpai/internal/acctest"
	"github.com/mcpai/terraform-provider-mcpai/internal/remote"
)

// putDir is a folder of the host's own (/etc/mcpai is private to each
// sandbox host) for these tests.
const putDir = "/etc/mcpai/put-test"

func putFixture(t *testing.T, h acctest.Host) string {
	t.Helper()
	h.InHost(t, "rm -rf "+putDir+" && mkdir -p "+putDir+" && printf 'old content\\n' > "+putDir+"/f")
	t.Cleanup(func() { h.InHost(t, "rm -rf "+putDir) })
	return putDir + "/f"
}

// putArgv is the command line the client runs to write data to p, claiming
// size and sum.
func putArgv(p string, size int, sum string) []string {
	return []string{"sh", "-c", remote.PutFileScript, "sh", p, "0644", "", "", "yes", "no", strconv.Itoa(size), sum, "--"}
}

// folderState is the folder's listing with each file's content: the old
// file, and no temp file.
func folderState(t *testing.T, h acctest.Host) string {
	return h.InHost(t, "cd "+putDir+" && for f in $(ls -A); do echo \"$f: $(cat $f)\"; done")
}

// Content that does not match the length and SHA-256 sent with it never
// replaces the file, and leaves no temp file.
func TestPutFileChecksLengthAndHash(t *testing.T) {
	h := acctest.FirstHost(t)
	p := putFixture(t, h)
	_, c := newClient(t, h.Config(t))
	data := []byte("new content\n")
	for name, argv := range map[string][]string{
		"length": putArgv(p, len(data)+1, remote.SHA256Hex(data)),
		"hash":   putArgv(p, len(data), remote.SHA256Hex([]byte("other content"))),
	} {
		out, err := c.Output(ctxT(t), argv, data)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(out), "short ") {
			t.Fatalf("%s mismatch: the script said %q", name, out)
		}
		if got := folderState(t, h); got != "f: old content" {
			t.Fatalf("%s mismatch: the folder holds %q", name, got)
		}
	}
	// The client's own write still lands.
	if _, err := c.WriteFileAtomic(ctxT(t), p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if got := folderState(t, h); got != "f: new content" {
		t.Fatalf("the folder holds %q", got)
	}
}

// A connection cut in the middle of an upload leaves the old file and no
// temp file: the host sees the input end early, and the length check
// refuses what arrived.
func TestPutFileCutMidUpload(t *testing.T) {
	h := acctest.FirstHost(t)
	p := putFixture(t, h)
	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := h.Command(ctx, remote.QuoteArgs(putArgv(p, len(data), remote.SHA256Hex(data))))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if _, err := stdin.Write(data[:len(data)/3]); err != nil {
		t.Fatal(err)
	}
	// Wait until the temp file has some of it, then cut.
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(h.InHost(t, "ls -A "+putDir), ".mcpai.") {
		if time.Now().After(deadline) {
			t.Fatal("no temp file appeared")
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	// The host notices the cut and cleans up shortly after.
	for {
		got := folderState(t, h)
		if got == "f: old content" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the cut the folder holds %q", got)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Paths that pass through a link or a folder another user controls are
// refused for reads, writes and removals as root, before anything happens.
func TestPutFileRefusesUnsafePaths(t *testing.T) {
	h := acctest.FirstHost(t)
	u := h.NoprivUser
	dir := "/etc/mcpai/unsafe-test"
	h.InHost(t, fmt.Sprintf(`rm -rf %[1]s && mkdir -p %[1]s/owned %[1]s/ww %[1]s/target && chown %[2]s %[1]s/owned && chmod 777 %[1]s/ww &&
ln -s %[1]s/target %[1]s/userlink && chown -h %[2]s %[1]s/userlink && ln -s %[1]s/target %[1]s/rootlink && echo secret > %[1]s/target/x`, dir, u))
	t.Cleanup(func() { h.InHost(t, "rm -rf "+dir) })
	_, c := newClient(t, h.Config(t))
	for _, tc := range []struct{ path, want string }{
		{dir + "/userlink/x", dir + "/userlink is a symbolic link that " + u + " owns, not root"},
		{dir + "/owned/x", dir + "/owned belongs to " + u + ", not root, and " + u + " could point the path elsewhere"},
		{dir + "/ww/x", dir + "/ww may be written by every user"},
		{dir + "//target/x", "not in its clean form"},
		{dir + "/./target/x", "not in its clean form"},
	} {
		var unsafe *remote.UnsafePathError
		_, err := c.WriteFileAtomic(ctxT(t), tc.path, []byte("x"), 0o644)
		if !errors.As(err, &unsafe) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("write %s: %v, want an unsafe path error saying %q", tc.path, err, tc.want)
		}
		if _, err := c.ReadFileMeta(ctxT(t), tc.path); !errors.As(err, &unsafe) {
			t.Errorf("read %s: %v, want an unsafe path error", tc.path, err)
		}
		if strings.HasSuffix(tc.path, "userlink/x") {
			if _, err := c.ReadFiles(ctxT(t), tc.path); !errors.As(err, &unsafe) {
				t.Errorf("batch read %s: %v, want an unsafe path error", tc.path, err)
			}
		}
		if err := c.RemoveFile(ctxT(t), tc.path); !errors.As(err, &unsafe) {
			t.Errorf("remove %s: %v, want an unsafe path error", tc.path, err)
		}
	}
	if got := h.InHost(t, "cat "+dir+"/target/x; ls -A "+dir+"/owned "+dir+"/ww"); got != "secret\n"+dir+"/owned:\n\n"+dir+"/ww:" {
		t.Errorf("the folders changed: %q", got)
	}
	// The same with the user's folder as the file's own: the file itself a
	// link they planted is still refused.
	h.InHost(t, fmt.Sprintf("ln -s %[1]s/target/x %[1]s/owned/planted && chown -h %[2]s %[1]s/owned/planted", dir, u))
	if _, err := c.WriteFileOwned(ctxT(t), dir+"/owned/planted", []byte("x"), remote.Ownership{Mode: 0o600, Owner: u}, nil); err == nil {
		t.Errorf("a planted link was written through")
	}
	if got := h.InHost(t, "cat "+dir+"/target/x"); got != "secret" {
		t.Errorf("through a planted link: %q", got)
	}
	// Nor are folders made or removed through them.
	var unsafe *remote.UnsafePathError
	if _, err := c.MakeParentDirs(ctxT(t), dir+"/userlink/new/x"); !errors.As(err, &unsafe) {
		t.Errorf("making folders through a user's link: %v", err)
	}
	h.InHost(t, "mkdir "+dir+"/target/empty")
	if _, err := c.RemoveEmptyDirs(ctxT(t), []string{dir + "/userlink/empty"}); err == nil {
		t.Errorf("removing a folder through a user's link worked")
	}
	if got := h.InHost(t, "ls -A "+dir+"/target"); got != "empty\nx" {
		t.Errorf("the link's target changed: %q", got)
	}
	// A folder of the file's own owner is worked in as that owner: the
	// write lands, owned by them, and cannot reach beyond their rights.
	if _, err := c.WriteFileOwned(ctxT(t), dir+"/owned/x", []byte("mine\n"), remote.Ownership{Mode: 0o600, Owner: u}, nil); err != nil {
		t.Errorf("write in the owner's folder: %v", err)
	}
	if got := h.InHost(t, "stat -c '%U %a' "+dir+"/owned/x; cat "+dir+"/owned/x"); got != u+" 600\nmine" {
		t.Errorf("in the owner's folder: %q", got)
	}
	if f, err := c.ReadFileMeta(ctxT(t), dir+"/owned/x"); err != nil || string(f.Data) != "mine\n" {
		t.Errorf("read in the owner's folder: %+v %v", f, err)
	}
	if f, err := c.ReadFiles(ctxT(t), dir+"/owned/x"); err != nil || string(f[0].Data) != "mine\n" {
		t.Errorf("batch read in the owner's folder: %+v %v", f, err)
	}
	if err := c.RemoveFile(ctxT(t), dir+"/owned/x"); err != nil {
		t.Errorf("remove in the owner's folder: %v", err)
	}
	// A link root owns (as Debian's /lib -> usr/lib) is followed.
	if _, err := c.WriteFileAtomic(ctxT(t), dir+"/rootlink/y", []byte("y"), 0o644); err != nil {
		t.Errorf("write through root's link: %v", err)
	}
	if got := h.InHost(t, "cat "+dir+"/target/y"); got != "y" {
		t.Errorf("through root's link: %q", got)
	}
}
