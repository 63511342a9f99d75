package remote_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/mcpai/terraform-provider-mcpai/internal/acctest"
	"github.com/mcpai/terraform-provider-mcpai/internal/remote"
)

func TestParentDirs(t *testing.T) {
	for p, want := range map[string][]string{
		"/f":                {},
		"/etc/f.yml":        {"/etc"},
		"/etc/a/b/f.yml":    {"/etc", "/etc/a", "/etc/a/b"},
		"/etc/a b/it's/x y": {"/etc", "/etc/a b", "/etc/a b/it's"},
	} {
		if got := remote.ParentDirs(p); !slices.Equal(got, want) {
			t.Errorf("ParentDirs(%q) = %q, want %q", p, got, want)
		}
	}
}

// TestMakeParentDirs: the missing folders are created (0755) and listed,
// outermost first; existing ones are not listed; RemoveEmptyDirs removes
// them innermost first, leaving (and naming) those that hold something
// else; a folder that cannot be created undoes those created before it; a
// file in the way and a user without the right are refused with the
// host's answer.
func TestMakeParentDirs(t *testing.T) {
	h := acctest.FirstHost(t)
	_, c := newClient(t, h.Config(t))
	ctx := ctxT(t)
	base := "/tmp/mcpai-dirs-test"
	h.InHost(t, "rm -rf "+base+" && mkdir "+base)
	t.Cleanup(func() { h.InHost(t, "rm -rf "+base) })
	a, b := base+"/a dir", base+"/a dir/it's"

	made, err := c.MakeParentDirs(ctx, b+"/f.yml")
	if err != nil || !slices.Equal(made, []string{a, b}) {
		t.Fatalf("MakeParentDirs = %q, %v; want %q", made, err, []string{a, b})
	}
	if got := h.InHost(t, `stat -c '%a %U:%G %F' "`+a+`" "`+b+`"`); got != "755 root:root directory\n755 root:root directory" {
		t.Fatalf("the created folders: %q", got)
	}
	if made, err := c.MakeParentDirs(ctx, b+"/f.yml"); err != nil || len(made) != 0 {
		t.Fatalf("with every folder there: %q, %v", made, err)
	}

	h.InHost(t, `echo foreign >"`+b+`/other.txt"`)
	kept, err := c.RemoveEmptyDirs(ctx, []string{a, b})
	want := []remote.KeptDir{{Path: b, Reason: "it is not empty"}, {Path: a, Reason: "it is not empty"}}
	if err != nil || !slices.Equal(kept, want) {
		t.Fatalf("RemoveEmptyDirs over a foreign file = %+v, %v; want %+v", kept, err, want)
	}
	if got := h.InHost(t, `cat "`+b+`/other.txt"`); got != "foreign" {
		t.Fatalf("the foreign file: %q", got)
	}
	h.InHost(t, `rm "`+b+`/other.txt"`)
	if kept, err := c.RemoveEmptyDirs(ctx, []string{a, b}); err != nil || len(kept) != 0 {
		t.Fatalf("RemoveEmptyDirs = %+v, %v", kept, err)
	}
	if got := h.InHost(t, "ls -A "+base+" | wc -l"); got != "0" {
		t.Fatalf("folders left: %s", got)
	}
	if kept, err := c.RemoveEmptyDirs(ctx, []string{a, b}); err != nil || len(kept) != 0 {
		t.Fatalf("RemoveEmptyDirs of folders already gone = %+v, %v", kept, err)
	}

	// The second folder's name is too long for the file system: the first,
	// just created, is removed again.
	long := base + "/made/" + strings.Repeat("x", 300)
	if made, err := c.MakeParentDirs(ctx, long+"/f.yml"); err == nil || !strings.Contains(err.Error(), "creating "+long) || !strings.Contains(err.Error(), "File name too long") {
		t.Fatalf("a folder that cannot be created: %q, %v", made, err)
	}
	if got := h.InHost(t, "ls -A "+base+" | wc -l"); got != "0" {
		t.Fatalf("a failed MakeParentDirs left %s folders", got)
	}

	h.InHost(t, "echo x >"+base+"/file")
	if _, err := c.MakeParentDirs(ctx, base+"/file/sub/f.yml"); err == nil || !strings.Contains(err.Error(), base+"/file exists on") || !strings.Contains(err.Error(), "is not a folder") {
		t.Fatalf("a file in the way: %v", err)
	}
	if kept, err := c.RemoveEmptyDirs(ctx, []string{base + "/file"}); err != nil || !slices.Equal(kept, []remote.KeptDir{{Path: base + "/file", Reason: "it is no longer a folder"}}) {
		t.Fatalf("RemoveEmptyDirs of a file: %+v, %v", kept, err)
	}

	cfg := h.Config(t)
	cfg.User = h.NoprivUser
	_, nopriv := newClient(t, cfg)
	if _, err := nopriv.MakeParentDirs(ctx, base+"/denied/f.yml"); err == nil || !strings.Contains(err.Error(), "Permission denied") {
		t.Fatalf("a user who may not create the folder: %v", err)
	}
}
