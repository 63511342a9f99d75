package main

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/mcpai/terraform-provider-mcpai/internal/engine"
)

// contextTar is the build context of files and folders named in dir:
// paths relative to dir, each folder with everything in it.
func contextTar(dir string, names ...string) (*bytes.Buffer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, name := range names {
		err := filepath.WalkDir(filepath.Join(dir, name), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			if !fi.IsDir() && !fi.Mode().IsRegular() {
				return fmt.Errorf("%s: only folders and regular files may be in a build context", p)
			}
			hdr, err := tar.FileInfoHeader(fi, "")
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(dir, p)
			if err != nil {
				return err
			}
			hdr.Name = filepath.ToSlash(rel)
			if fi.IsDir() {
				hdr.Name += "/"
			}
			hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "", ""
			if err := tw.WriteHeader(hdr); err != nil {
				return err
			}
			if fi.IsDir() {
				return nil
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			_, err = tw.Write(data)
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	return &buf, tw.Close()
}

// builder ensures images in one host's engine.
type builder struct {
	eng  *engine.Engine
	dir  string // the sandbox folder, which holds the build contexts
	host string // for messages, e.g. "h1"
}

// build builds ref from the context folder ctx with its dockerfile and the
// program it copies, and returns what the engine then has of ref.
func (b builder) build(ctx context.Context, ref, ctxDir, dockerfile, prog string) (engine.Image, error) {
	buildContext, err := contextTar(filepath.Join(b.dir, ctxDir), dockerfile, prog)
	if err != nil {
		return engine.Image{}, fmt.Errorf("%s: the build context of %s: %w", b.host, ref, err)
	}
	if err := b.eng.Build(ctx, buildContext, ref, dockerfile); err != nil {
		return engine.Image{}, fmt.Errorf("%s: %w", b.host, err)
	}
	img, found, err := b.eng.InspectImage(ctx, ref)
	if err != nil {
		return engine.Image{}, fmt.Errorf("%s: inspecting %s after its build: %w", b.host, ref, err)
	}
	if !found {
		return engine.Image{}, fmt.Errorf("%s: %s is missing after its build", b.host, ref)
	}
	return img, nil
}

// ensureSleeper builds the test image unless the engine has it (tests may
// have removed it).
func (b builder) ensureSleeper(ctx context.Context) error {
	if _, found, err := b.eng.InspectImage(ctx, sleeperImage); err != nil || found {
		return err
	}
	_, err := b.build(ctx, sleeperImage, "image", "Dockerfile", "sleeper")
	return err
}

// ensureLabelled builds img unless the engine has it with the source label
// of its current context (tests may have removed it, or its program
// changed). The image it replaces is removed, with its untagged parents
// (an older Debian base under the FastAPI image), unless a container uses
// it. It reports whether it built.
func (b builder) ensureLabelled(ctx context.Context, img labelledImage) (bool, error) {
	want, err := dockerfileLabel(filepath.Join(b.dir, img.Context, img.Dockerfile))
	if err != nil {
		return false, fmt.Errorf("%s: %s: %w", b.host, img.Ref, err)
	}
	old, found, err := b.eng.InspectImage(ctx, img.Ref)
	if err != nil {
		return false, fmt.Errorf("%s: inspecting %s: %w", b.host, img.Ref, err)
	}
	if found && old.Labels[sourceLabel] == want {
		return false, nil
	}
	built, err := b.build(ctx, img.Ref, img.Context, img.Dockerfile, img.Program)
	if err != nil {
		return true, err
	}
	if have := built.Labels[sourceLabel]; have != want {
		return true, fmt.Errorf("%s: %s has %s %q after its build, expected %q", b.host, img.Ref, sourceLabel, have, want)
	}
	if found && old.ID != built.ID {
		// Best effort: a container of the old image keeps it.
		_ = b.eng.RemoveImage(ctx, old.ID)
	}
	return true, nil
}

// dockerfileLabel is the source label a context's Dockerfile ends with.
func dockerfileLabel(p string) (string, error) {
	data, err := os.ReadFile(p)
	if err != nil {
		return "", err
	}
	prefix := "LABEL " + sourceLabel + "="
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(strings.TrimSuffix(line, "\n"), prefix); ok && v != "" {
			return v, nil
		}
	}
	return "", fmt.Errorf("%s has no %s label", p, sourceLabel)
}

// ensureImages ensures the images of set in the engine (the test image
// with the scratch set), logging each it builds. Their labels come from
// the Dockerfiles in the contexts (written by `contexts`), so the recipe is
// not needed here.
func (b builder) ensureImages(ctx context.Context, set Set, logf func(string, ...any)) error {
	if set == scratchSet {
		if err := b.ensureSleeper(ctx); err != nil {
			return err
		}
	}
	for _, img := range labelledImages("") {
		if img.set() != set {
			continue
		}
		built, err := b.ensureLabelled(ctx, img)
		if err != nil {
			return err
		}
		if built {
			logf("%s: built %s", b.host, img.Ref)
		}
	}
	return nil
}
