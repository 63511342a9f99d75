package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// sourceLabel is the label that holds a hash of what an image was built
// from: `up` rebuilds an image whose label differs from its context's.
// scripts/debian-images.sh labels its images with the same key.
const sourceLabel = "org.mcpai.sandbox.source"

// Image names. hosts.json names them too (see hostsJSON).
const (
	sleeperImage     = "mcpai-sleeper:test"
	modelRepo        = "mcpai-model"
	registryImage    = "mcpai-registry:test"
	demoAPIImage     = "mcpai-demo-api:latest"
	demoModelImage   = "mcpai-demo-model:latest"
	demoTraefikImage = "mcpai-demo-traefik:latest"
	demoFastAPIImage = "mcpai-demo-fastapi:latest"
	// The Traefik image holds a stand-in, not Traefik (see CONTRIBUTING.md).
	demoTraefikKind = "stand-in"
	// Made by scripts/debian-images.sh (names fixed there).
	locustImage      = "mcpai-locust:latest"
	debianStackImage = "mcpai-debian-stack:latest"
)

// testdata holds the sandbox's Go programs and the FastAPI app.
const testdata = "internal/acctest/testdata"

// program is a static Go program of testdata built into a build context.
type program struct {
	Name string // its folder in testdata
	Out  string // its path under the sandbox folder
}

var programs = []program{
	{"sleeper", "image/sleeper"},
	{"modelserver", "model-image/modelserver"},
	{"registry", "registry-image/registry"},
	{"demoapi", "demo-api-image/uvicorn"},
	{"demotraefik", "demo-traefik-image/traefik"},
	// Not an image: write_host_files installs it in h2's /usr/sbin overlay.
	{"nvidiahook", "gpu-mock/nvidia-container-runtime-hook"},
}

// labelledImage is an image built from a context folder of the sandbox
// with a Dockerfile that ends with its source label.
type labelledImage struct {
	Ref        string // name:tag
	Context    string // folder under the sandbox folder
	Dockerfile string // file in Context
	Program    string // the file or folder in Context that it copies
	Body       string // the Dockerfile above its label
}

// Set names the group of images an `images` run ensures.
type Set string

const (
	// scratchSet: built FROM scratch, ready before the Debian images.
	scratchSet Set = "scratch"
	// debianSet: built FROM scripts/debian-images.sh's images, after them.
	debianSet Set = "debian"
)

const usrPath = "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// modelBody is the Dockerfile of mcpai-model:<tag> above its label.
func modelBody(env string, healthcheck bool) string {
	b := "FROM scratch\nCOPY modelserver /modelserver\nENV " + env + "\nEXPOSE 8000"
	if healthcheck {
		b += "\nHEALTHCHECK --interval=1s --timeout=1s --retries=2 CMD [\"/modelserver\",\"-probe\"]"
	}
	return b + "\nENTRYPOINT [\"/modelserver\"]"
}

// labelledImages are every labelled image, in the order they are built;
// recipe is scripts/debian-images.sh's recipe hash, which the FastAPI
// image's Dockerfile holds (a new recipe rebuilds it).
func labelledImages(recipe string) []labelledImage {
	const ready = "MODELSERVER_MODE=ready MODELSERVER_READY_AFTER=2s"
	model := func(tag, body string) labelledImage {
		return labelledImage{modelRepo + ":" + tag, "model-image", "Dockerfile." + tag, "modelserver", body}
	}
	return []labelledImage{
		model("ready", modelBody(ready, false)),
		model("never", modelBody("MODELSERVER_MODE=never", false)),
		model("exits", modelBody("MODELSERVER_MODE=exit MODELSERVER_EXIT_AFTER=1s MODELSERVER_EXIT_CODE=3", false)),
		model("healthcheck", modelBody(ready, true)),
		{registryImage, "registry-image", "Dockerfile", "registry", `FROM scratch
COPY registry /registry
EXPOSE 5000
ENTRYPOINT ["/registry"]`},
		{demoModelImage, "model-image", "Dockerfile.demo", "modelserver", `FROM scratch
COPY modelserver /modelserver
ENV ` + ready + `
EXPOSE 8000
LABEL io.mcpai.demo=workload
LABEL org.opencontainers.image.title="mcpai demo model runner"
LABEL org.opencontainers.image.description="Demo model runner: the mcpai imitation inference server (internal/acctest/testdata/modelserver), a Go program that loads no model and needs no GPU; every path answers 503 loading for 2 s, then 200 ok, on port 8000"
ENTRYPOINT ["/modelserver"]`},
		{demoAPIImage, "demo-api-image", "Dockerfile", "uvicorn", `FROM scratch
COPY uvicorn /usr/local/bin/uvicorn
` + usrPath + `
EXPOSE 8000
LABEL io.mcpai.demo=workload
LABEL org.opencontainers.image.title="mcpai demo API"
LABEL org.opencontainers.image.description="Demo stand-in for a FastAPI app served by uvicorn: a Go program of the mcpai project (internal/acctest/testdata/demoapi) at /usr/local/bin/uvicorn that takes uvicorn's command line; not uvicorn, no Python"
CMD ["uvicorn", "main:app", "--host", "0.0.0.0", "--port", "8000"]`},
		{demoTraefikImage, "demo-traefik-image", "Dockerfile", "traefik", `FROM scratch
COPY traefik /usr/local/bin/traefik
` + usrPath + `
EXPOSE 80 8080
LABEL io.mcpai.demo=` + demoTraefikKind + `
LABEL org.opencontainers.image.title="mcpai Traefik stand-in"
LABEL org.opencontainers.image.description="NOT Traefik: a stand-in, a Go program of the mcpai project (internal/acctest/testdata/demotraefik) at /usr/local/bin/traefik that takes the Traefik v3 flags and file-provider routers and load-balancer services the api-service module uses; Traefik itself cannot be built here (see scripts/sandbox.sh)"
ENTRYPOINT ["/usr/local/bin/traefik"]`},
		// The real API: the app and its uvicorn command (a folder, app/).
		{demoFastAPIImage, "demo-fastapi-image", "Dockerfile", "app", `FROM ` + debianStackImage + `
COPY app/main.py /app/main.py
COPY app/uvicorn /usr/local/bin/uvicorn
ENV PROMETHEUS_MULTIPROC_DIR=/tmp/mcpai-prometheus PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /app
USER nobody
EXPOSE 8000
LABEL io.mcpai.demo=workload org.mcpai.debian.recipe=` + recipe + ` org.opencontainers.image.title="mcpai demo API (FastAPI)" org.opencontainers.image.description="Demo API: a real FastAPI app served by the real uvicorn, from Debian bookworm's packages (python3-fastapi 0.92, python3-uvicorn 0.17.6 with uvloop and httptools, asyncpg, redis, prometheus_client); the app is internal/acctest/testdata/fastapi/main.py of the mcpai project"
CMD ["uvicorn", "main:app", "--host", "0.0.0.0", "--port", "8000"]`},
	}
}

// set is the group an image belongs to.
func (img labelledImage) set() Set {
	if strings.HasPrefix(img.Body, "FROM scratch\n") {
		return scratchSet
	}
	return debianSet
}

// sleeperDockerfile is the test image's Dockerfile (unlabelled: `up`
// builds it only where it is missing).
const sleeperDockerfile = "FROM scratch\nCOPY sleeper /sleeper\nENTRYPOINT [\"/sleeper\"]\n"

// fastAPIApp is what the FastAPI image's app/ folder holds, from
// testdata/fastapi, with each file's mode.
var fastAPIApp = []struct {
	Name string
	Mode fs.FileMode
}{{"main.py", 0o644}, {"uvicorn", 0o755}}

// labelValue is the source label of an image whose Dockerfile is body
// and which copies a program whose content hash is sum.
func labelValue(sum, body string) string {
	h := sha256.Sum256([]byte(sum + "\n" + body + "\n"))
	return hex.EncodeToString(h[:])
}

// labelledDockerfile is body plus its last line, the source label.
func labelledDockerfile(sum, body string) string {
	return body + "\nLABEL " + sourceLabel + "=" + labelValue(sum, body) + "\n"
}

// programSum is the content hash of a program: of the file, or of a
// folder's files' names, modes and contents (see folderTar).
func programSum(p string) (string, error) {
	h := sha256.New()
	fi, err := os.Stat(p)
	if err != nil {
		return "", err
	}
	if fi.IsDir() {
		err = folderTar(h, p)
	} else {
		var f *os.File
		if f, err = os.Open(p); err == nil {
			_, err = io.Copy(h, f)
			_ = f.Close()
		}
	}
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// writeIfChanged writes data to p unless p holds it already, so that its
// time changes only with its content.
func writeIfChanged(p string, data []byte, mode fs.FileMode) error {
	if old, err := os.ReadFile(p); err == nil && bytes.Equal(old, data) {
		return nil
	}
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return err
	}
	if err := os.Chmod(tmp, mode); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

// writeContexts builds the programs and writes every build context under
// dir (the sandbox folder) from the repository at repo.
func writeContexts(ctx context.Context, repo, dir, recipe string) error {
	for _, p := range programs {
		if err := buildProgram(ctx, repo, p.Name, filepath.Join(dir, p.Out)); err != nil {
			return err
		}
	}
	if err := writeIfChanged(filepath.Join(dir, "image", "Dockerfile"), []byte(sleeperDockerfile), 0o644); err != nil {
		return err
	}
	// The app folder is made anew: a file removed from testdata goes too.
	app := filepath.Join(dir, "demo-fastapi-image", "app")
	if err := os.RemoveAll(app); err != nil {
		return err
	}
	if err := os.MkdirAll(app, 0o755); err != nil {
		return err
	}
	if err := os.Chmod(app, 0o755); err != nil { // its mode is in the label
		return err
	}
	for _, f := range fastAPIApp {
		data, err := os.ReadFile(filepath.Join(repo, testdata, "fastapi", f.Name))
		if err != nil {
			return err
		}
		if err := writeIfChanged(filepath.Join(app, f.Name), data, f.Mode); err != nil {
			return err
		}
	}
	for _, img := range labelledImages(recipe) {
		ctxDir := filepath.Join(dir, img.Context)
		sum, err := programSum(filepath.Join(ctxDir, img.Program))
		if err != nil {
			return fmt.Errorf("%s: %w", img.Ref, err)
		}
		if err := writeIfChanged(filepath.Join(ctxDir, img.Dockerfile), []byte(labelledDockerfile(sum, img.Body)), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// buildProgram builds testdata/<name> static into out, again when a Go
// file under testdata (the programs share packages there), go.mod or
// go.sum is newer than out. The builds are reproducible (-trimpath, no VCS
// stamp): a rebuild that gives the same bytes leaves out as it was (only
// its time changes), so neither the images' labels nor h2's mock hook see
// a change.
func buildProgram(ctx context.Context, repo, name, out string) error {
	fresh, err := upToDate(repo, out)
	if err != nil || fresh {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	tmp := out + ".new"
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", tmp, "./"+testdata+"/"+name)
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-buildvcs=false")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("building %s/%s/%s: %w", repo, testdata, name, err)
	}
	same, err := sameFile(tmp, out)
	if err != nil {
		return err
	}
	if same {
		now := time.Now()
		if err := os.Remove(tmp); err != nil {
			return err
		}
		return os.Chtimes(out, now, now)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	return os.Rename(tmp, out)
}

// upToDate reports whether out exists, is executable, and is newer than
// go.mod, go.sum and every Go file under testdata.
func upToDate(repo, out string) (bool, error) {
	fi, err := os.Stat(out)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if fi.Mode()&0o111 == 0 {
		return false, nil
	}
	built := fi.ModTime()
	for _, f := range []string{"go.mod", "go.sum"} {
		if st, err := os.Stat(filepath.Join(repo, f)); err != nil || st.ModTime().After(built) {
			return false, err
		}
	}
	newer := errors.New("newer")
	err = filepath.WalkDir(filepath.Join(repo, testdata), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") {
			return err
		}
		st, err := d.Info()
		if err != nil {
			return err
		}
		if st.ModTime().After(built) {
			return newer
		}
		return nil
	})
	if errors.Is(err, newer) {
		return false, nil
	}
	return err == nil, err
}

// sameFile reports whether a and b hold the same bytes (false when b is
// missing).
func sameFile(a, b string) (bool, error) {
	da, err := os.ReadFile(a)
	if err != nil {
		return false, err
	}
	db, err := os.ReadFile(b)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return bytes.Equal(da, db), err
}
