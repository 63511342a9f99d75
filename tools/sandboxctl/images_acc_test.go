package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/moby/moby/client"

	"github.com/mcpai/terraform-provider-mcpai/internal/acctest"
	"github.com/mcpai/terraform-provider-mcpai/internal/engine"
)

// testImage is the tag the acceptance test builds; it never names an
// image the sandbox or other tests use.
const testImage = "mcpai-sandboxctl-test:latest"

// On every full sandbox host: the labelled images are up to date (a run
// of `images` builds nothing), and an image built under a test tag from
// the sandbox's context of mcpai-model:ready carries its label, is not
// rebuilt a second time, and goes away by its tag alone.
func TestAccImagesOnSandboxEngines(t *testing.T) {
	dir := filepath.Dir(acctest.HostsFile())
	for _, h := range acctest.Hosts(t) {
		t.Run(h.Name, func(t *testing.T) {
			eng, err := engineFor(h.DockerSocket)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(eng.Close) // after the cleanup below
			ctx := t.Context()
			b := builder{eng: eng, dir: dir, host: h.Name}
			for _, set := range []Set{scratchSet, debianSet} {
				var built []string
				if err := b.ensureImages(ctx, set, func(f string, a ...any) { built = append(built, fmt.Sprintf(f, a...)) }); err != nil {
					t.Fatalf("images %s: %v", set, err)
				}
				if len(built) > 0 {
					t.Errorf("images %s on an up-to-date host: %q", set, built)
				}
			}

			ready, found, err := eng.InspectImage(ctx, "mcpai-model:ready")
			if err != nil || !found {
				t.Fatalf("mcpai-model:ready: found %v, %v", found, err)
			}
			img := labelledImages("")[0]
			if img.Ref != "mcpai-model:ready" {
				t.Fatalf("the first labelled image is %s", img.Ref)
			}
			img.Ref = testImage
			t.Cleanup(func() { // t.Context() is done by now
				if err := eng.RemoveImage(context.Background(), testImage); err != nil && !engine.IsNotFound(err) {
					t.Errorf("removing %s: %v", testImage, err)
				}
			})
			_ = eng.RemoveImage(ctx, testImage)
			built, err := b.ensureLabelled(ctx, img)
			if err != nil || !built {
				t.Fatalf("ensureLabelled(%s) = %v, %v; want a build", testImage, built, err)
			}
			got, found, err := eng.InspectImage(ctx, testImage)
			if err != nil || !found {
				t.Fatalf("%s after its build: found %v, %v", testImage, found, err)
			}
			if got.Labels[sourceLabel] != ready.Labels[sourceLabel] || got.Labels[sourceLabel] == "" {
				t.Errorf("%s has label %q, mcpai-model:ready %q", testImage, got.Labels[sourceLabel], ready.Labels[sourceLabel])
			}
			if built, err := b.ensureLabelled(ctx, img); err != nil || built {
				t.Errorf("second ensureLabelled(%s) = %v, %v; want nothing to do", testImage, built, err)
			}
			if err := eng.RemoveImage(ctx, testImage); err != nil {
				t.Fatalf("removing %s by its tag: %v", testImage, err)
			}
			if after, found, err := eng.InspectImage(ctx, "mcpai-model:ready"); err != nil || !found || after.ID != ready.ID {
				t.Errorf("mcpai-model:ready changed: found %v, id %s -> %s, %v", found, ready.ID, after.ID, err)
			}

			// A changed Dockerfile builds a new image under the tag, and the
			// one it replaces goes away.
			t.Cleanup(func() { removeTestImages(t, h.DockerSocket) })
			tb := builder{eng: eng, dir: t.TempDir(), host: h.Name}
			img.Context = "ctx"
			var ids []string
			for n := range 2 {
				writeTestContext(t, filepath.Join(dir, "model-image", "modelserver"), filepath.Join(tb.dir, img.Context), img, n)
				if built, err := tb.ensureLabelled(ctx, img); err != nil || !built {
					t.Fatalf("build %d: ensureLabelled = %v, %v; want a build", n, built, err)
				}
				got, found, err := eng.InspectImage(ctx, testImage)
				if err != nil || !found || got.Labels["org.mcpai.sandboxctl.test"] != strconv.Itoa(n) {
					t.Fatalf("build %d: %s found %v, labels %v, %v", n, testImage, found, got.Labels, err)
				}
				ids = append(ids, got.ID)
			}
			if ids[0] == ids[1] {
				t.Fatalf("both builds gave image %s", ids[0])
			}
			if _, found, err := eng.InspectImage(ctx, ids[0]); err != nil || found {
				t.Errorf("the replaced image %s: found %v, %v; want it removed", ids[0], found, err)
			}
		})
	}
}

// writeTestContext writes a build context for img into ctx: the program
// and its Dockerfile, which carries one more label, org.mcpai.sandboxctl.test=n.
func writeTestContext(t *testing.T, program, ctx string, img labelledImage, n int) {
	t.Helper()
	data, err := os.ReadFile(program)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(ctx, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ctx, img.Program), data, 0o755); err != nil {
		t.Fatal(err)
	}
	sum, err := programSum(filepath.Join(ctx, img.Program))
	if err != nil {
		t.Fatal(err)
	}
	body := img.Body + "\nLABEL org.mcpai.sandboxctl.test=" + strconv.Itoa(n)
	if err := os.WriteFile(filepath.Join(ctx, img.Dockerfile), []byte(labelledDockerfile(sum, body)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// removeTestImages removes every image with the label
// org.mcpai.sandboxctl.test, intermediate ones too: the current engine
// keeps a build's intermediate image when the image is removed.
func removeTestImages(t *testing.T, sock string) {
	api, err := client.New(client.WithHost("unix://" + sock))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = api.Close() }()
	ctx := context.Background()
	list, err := api.ImageList(ctx, client.ImageListOptions{All: true, Filters: make(client.Filters).Add("label", "org.mcpai.sandboxctl.test")})
	if err != nil {
		t.Fatal(err)
	}
	// Children first: an image with a child cannot go.
	for len(list.Items) > 0 {
		parents := map[string]bool{}
		for _, img := range list.Items {
			parents[img.ParentID] = true
		}
		var rest = list.Items[:0]
		for _, img := range list.Items {
			if parents[img.ID] {
				rest = append(rest, img)
				continue
			}
			if _, err := api.ImageRemove(ctx, img.ID, client.ImageRemoveOptions{Force: true, PruneChildren: true}); err != nil && !engine.IsNotFound(err) {
				t.Errorf("removing test image %s: %v", img.ID, err)
				return
			}
		}
		list.Items = rest
	}
}
