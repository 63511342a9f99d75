package remote_test

import (
	"errors"
	"testing"

	"github.com/mcpai/terraform-provider-mcpai/internal/acctest"
	"github.com/mcpai/terraform-provider-mcpai/internal/remote"
)

// TestWriteFileOwned: mode and owner are set as asked, the previous file
// (content, mode, owner) comes back for a rollback, a validate command
// that refuses leaves the file untouched, and RestoreFile puts it back.
func TestWriteFileOwned(t *testing.T) {
	h := acctest.FirstHost(t)
	_, c := newClient(t, h.Config(t))
	ctx := ctxT(t)
	dir := "/tmp/mcpai-owned-test"
	p := dir + "/rules it's.yml"
	t.Cleanup(func() { h.InHost(t, "rm -rf "+dir) })

	var missing *remote.MissingFolderError
	if _, err := c.WriteFileOwned(ctx, p, []byte("x"), remote.Ownership{Mode: 0o644}, nil); !errors.As(err, &missing) || missing.Folder != dir || err.Error() != "the folder "+dir+" does not exist" {
		t.Fatalf("missing folder: %v", err)
	}
	h.InHost(t, "mkdir -p "+dir)
	if m, err := c.ReadFileMeta(ctx, p); err != nil || m.Exists {
		t.Fatalf("ReadFileMeta of a missing file: %+v %v", m, err)
	}
	prev, err := c.WriteFileOwned(ctx, p, []byte("one\n"), remote.Ownership{Mode: 0o640, Owner: "mcpai", Group: "root"}, nil)
	if err != nil || prev.Exists {
		t.Fatalf("first write: %+v %v", prev, err)
	}
	m, err := c.ReadFileMeta(ctx, p)
	if err != nil || !m.Exists || string(m.Data) != "one\n" || m.Mode != 0o640 || m.Owner != "mcpai" || m.Group != "root" {
		t.Fatalf("after the first write: %+v %v", m, err)
	}
	// A validate command sees the new content under {} and can refuse it.
	_, err = c.WriteFileOwned(ctx, p, []byte("bad\n"), remote.Ownership{Mode: 0o600}, []string{"grep", "-q", "^good", "{}"})
	var ve *remote.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("refused content: %v", err)
	}
	if got := h.InHost(t, `cat "`+p+`"; stat -c '%a %U' "`+p+`"; ls -A `+dir+` | wc -l`); got != "one\n640 mcpai\n1" {
		t.Fatalf("a refused write changed the file or left a temp file: %q", got)
	}
	prev, err = c.WriteFileOwned(ctx, p, []byte("good\n"), remote.Ownership{Mode: 0o600, Owner: "root", Group: "root"}, []string{"grep", "-q", "^good", "{}"})
	if err != nil || !prev.Exists || string(prev.Data) != "one\n" || prev.Mode != 0o640 || prev.Owner != "mcpai" {
		t.Fatalf("validated write: %+v %v", prev, err)
	}
	if got := h.InHost(t, `cat "`+p+`"; stat -c '%a %U' "`+p+`"`); got != "good\n600 root" {
		t.Fatalf("after the validated write: %q", got)
	}
	if err := c.RestoreFile(ctx, p, prev); err != nil {
		t.Fatal(err)
	}
	if got := h.InHost(t, `cat "`+p+`"; stat -c '%a %U %G' "`+p+`"`); got != "one\n640 mcpai root" {
		t.Fatalf("after RestoreFile: %q", got)
	}
	if err := c.RestoreFile(ctx, p, remote.FileMeta{}); err != nil {
		t.Fatal(err)
	}
	if h.InHost(t, `test -e "`+p+`" && echo yes || echo no`) != "no" {
		t.Error("restoring an absent file left it")
	}
	// An unknown owner fails before the file is replaced.
	if _, err := c.WriteFileOwned(ctx, p, []byte("x"), remote.Ownership{Mode: 0o644, Owner: "no-such-user"}, nil); err == nil {
		t.Error("an unknown owner was accepted")
	}
	if h.InHost(t, `test -e "`+p+`" && echo yes || echo no; ls -A `+dir+` | wc -l`) != "no\n0" {
		t.Error("a refused owner left a file")
	}
	h.InHost(t, "mkdir -p "+dir+"/adir")
	if _, err := c.ReadFileMeta(ctx, dir+"/adir"); err == nil {
		t.Error("ReadFileMeta of a directory gave no error")
	}
}
