package main

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func mustStat(t *testing.T, p string) os.FileInfo {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi
}

// The label is sha256 of "<program sum>\n<body>\n", as scripts/sandbox.sh
// computed it with `printf '%s\n%s\n' "$sum" "$body" | sha256sum`: the value
// below is that command's output, so images built by the script keep their
// labels.
func TestLabelValue(t *testing.T) {
	got := labelValue("abc", "FROM scratch\nCOPY x /x")
	if want := "f763ac765aae0070dd67a4a5aece21c8fc6164956acf20d6d3483426cb5167b8"; got != want {
		t.Errorf("labelValue = %s, want %s", got, want)
	}
	df := labelledDockerfile("abc", "FROM scratch\nCOPY x /x")
	if want := "FROM scratch\nCOPY x /x\nLABEL org.mcpai.sandbox.source=" + got + "\n"; df != want {
		t.Errorf("labelledDockerfile = %q, want %q", df, want)
	}
}

func TestProgramSumOfFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "prog")
	if err := os.WriteFile(p, []byte("hello\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := programSum(p)
	if err != nil {
		t.Fatal(err)
	}
	// sha256sum of "hello\n".
	if want := "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"; got != want {
		t.Errorf("programSum = %s, want %s", got, want)
	}
}

// appFolder is a folder like the FastAPI image's app/, with a subfolder
// and a file whose size is a multiple of 512.
func appFolder(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "app")
	files := map[string]struct {
		data string
		mode os.FileMode
	}{
		"main.py":     {"print('hi')\n", 0o644},
		"uvicorn":     {"#!/bin/sh\nexec python3 -m uvicorn \"$@\"\n", 0o755},
		"sub/a.txt":   {strings.Repeat("x", 512), 0o600},
		"sub/z/b.txt": {"", 0o644},
	}
	for name, f := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f.data), f.mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, f.mode); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{dir, filepath.Join(dir, "sub"), filepath.Join(dir, "sub", "z")} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// folderTar gives GNU tar's bytes, so a folder program's label is what
// scripts/sandbox.sh computed with tar.
func TestFolderTarIsGNUTar(t *testing.T) {
	dir := appFolder(t)
	var got bytes.Buffer
	if err := folderTar(&got, dir); err != nil {
		t.Fatal(err)
	}
	if v, err := exec.Command("tar", "--version").Output(); err != nil || !strings.Contains(string(v), "GNU tar") {
		t.Skip("GNU tar is not installed")
	}
	want, err := exec.Command("tar", "-C", dir, "--sort=name", "--mtime=@0", "--owner=0", "--group=0",
		"--numeric-owner", "-cf", "-", ".").Output()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		for i := range min(got.Len(), len(want)) {
			if got.Bytes()[i] != want[i] {
				t.Fatalf("folderTar differs from GNU tar at byte %d (block %d); lengths %d and %d", i, i/512, got.Len(), len(want))
			}
		}
		t.Fatalf("folderTar is %d bytes, GNU tar %d", got.Len(), len(want))
	}
}

// folderTar's stream is a valid tar in name order, whatever tar is here.
func TestFolderTarReads(t *testing.T) {
	var buf bytes.Buffer
	if err := folderTar(&buf, appFolder(t)); err != nil {
		t.Fatal(err)
	}
	if buf.Len()%10240 != 0 {
		t.Errorf("length %d is not a multiple of 10240", buf.Len())
	}
	var names []string
	tr := tar.NewReader(&buf)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		if h.Name == "./uvicorn" && h.Mode != 0o755 {
			t.Errorf("./uvicorn mode %o", h.Mode)
		}
		if h.Name == "./sub/a.txt" {
			data, _ := io.ReadAll(tr)
			if len(data) != 512 {
				t.Errorf("./sub/a.txt has %d bytes", len(data))
			}
		}
	}
	want := []string{"./", "./main.py", "./sub/", "./sub/a.txt", "./sub/z/", "./sub/z/b.txt", "./uvicorn"}
	if !slices.Equal(names, want) {
		t.Errorf("entries %q, want %q", names, want)
	}
}

func TestFolderTarRefusesLinks(t *testing.T) {
	dir := appFolder(t)
	if err := os.Symlink("main.py", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if err := folderTar(io.Discard, dir); err == nil {
		t.Error("folderTar took a symbolic link")
	}
}

func TestContextTar(t *testing.T) {
	dir := filepath.Dir(appFolder(t))
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile.other"), []byte("not sent\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	buf, err := contextTar(dir, "Dockerfile", "app")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	tr := tar.NewReader(buf)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(tr)
		got[h.Name] = string(data)
		if h.Uid != 0 || h.Gid != 0 || h.Uname != "" {
			t.Errorf("%s: owner %d/%d %q", h.Name, h.Uid, h.Gid, h.Uname)
		}
	}
	if got["Dockerfile"] != "FROM scratch\n" || got["app/main.py"] != "print('hi')\n" {
		t.Errorf("context %v", got)
	}
	for _, name := range []string{"app/", "app/sub/", "app/sub/z/b.txt", "app/uvicorn"} {
		if _, ok := got[name]; !ok {
			t.Errorf("context lacks %s: %v", name, slices.Sorted(func(yield func(string) bool) {
				for k := range got {
					if !yield(k) {
						return
					}
				}
			}))
		}
	}
	if _, ok := got["Dockerfile.other"]; ok {
		t.Error("context holds a file it does not need")
	}
}

func TestDockerfileLabel(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "Dockerfile")
	sum := sha256.Sum256([]byte("x"))
	df := labelledDockerfile(hex.EncodeToString(sum[:]), "FROM scratch\nLABEL io.mcpai.demo=workload")
	if err := os.WriteFile(p, []byte(df), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := dockerfileLabel(p)
	if err != nil {
		t.Fatal(err)
	}
	if want := labelValue(hex.EncodeToString(sum[:]), "FROM scratch\nLABEL io.mcpai.demo=workload"); got != want {
		t.Errorf("dockerfileLabel = %q, want %q", got, want)
	}
	if err := os.WriteFile(p, []byte("FROM scratch\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := dockerfileLabel(p); err == nil {
		t.Error("dockerfileLabel of an unlabelled Dockerfile succeeded")
	}
}

func TestLabelledImages(t *testing.T) {
	imgs := labelledImages("RECIPE")
	refs := map[string]Set{}
	for _, img := range imgs {
		if _, dup := refs[img.Ref]; dup {
			t.Errorf("%s twice", img.Ref)
		}
		refs[img.Ref] = img.set()
		if strings.HasSuffix(img.Body, "\n") || strings.Contains(img.Body, sourceLabel) {
			t.Errorf("%s: the body must end without a newline and hold no source label: %q", img.Ref, img.Body)
		}
		if !strings.Contains(img.Body, "COPY "+img.Program) {
			t.Errorf("%s: its Dockerfile does not copy its program %s", img.Ref, img.Program)
		}
	}
	want := map[string]Set{
		"mcpai-model:ready": scratchSet, "mcpai-model:never": scratchSet, "mcpai-model:exits": scratchSet,
		"mcpai-model:healthcheck": scratchSet, registryImage: scratchSet, demoModelImage: scratchSet,
		demoAPIImage: scratchSet, demoTraefikImage: scratchSet, demoFastAPIImage: debianSet,
	}
	for ref, set := range want {
		if refs[ref] != set {
			t.Errorf("%s: set %q, want %q", ref, refs[ref], set)
		}
	}
	if len(refs) != len(want) {
		t.Errorf("images %v", refs)
	}
	fastapi := imgs[len(imgs)-1]
	if !strings.Contains(fastapi.Body, "org.mcpai.debian.recipe=RECIPE ") {
		t.Errorf("the FastAPI image's Dockerfile does not hold the recipe: %q", fastapi.Body)
	}
	if !strings.Contains(imgs[3].Body, "HEALTHCHECK") || strings.Contains(imgs[0].Body, "HEALTHCHECK") {
		t.Error("only mcpai-model:healthcheck has a HEALTHCHECK")
	}
}

func TestWriteIfChangedKeepsTime(t *testing.T) {
	p := filepath.Join(t.TempDir(), "Dockerfile")
	if err := writeIfChanged(p, []byte("a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := mustStat(t, p).ModTime().Add(-time.Hour)
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
	if err := writeIfChanged(p, []byte("a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if !mustStat(t, p).ModTime().Equal(old) {
		t.Error("an unchanged file was rewritten")
	}
	if err := writeIfChanged(p, []byte("b\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(p); string(data) != "b\n" {
		t.Errorf("file holds %q", data)
	}
}

func TestCheckEngineVersion(t *testing.T) {
	for _, c := range []struct {
		kind, version string
		ok            bool
	}{
		{"current", "library-import", true},
		{"current", "20.10.24+dfsg1", false},
		{"distribution", "20.10.24+dfsg1", true},
		{"distribution", "library-import", false},
		{"distribution", "20.1", false},
		{"other", "20.10.24", false},
	} {
		if err := checkEngineVersion(c.kind, c.version); (err == nil) != c.ok {
			t.Errorf("checkEngineVersion(%q, %q) = %v", c.kind, c.version, err)
		}
	}
}
