package registrytest

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
)

// release is the provider's release for this host's platform, named as
// .goreleaser.yml names it.
type release struct {
	version, os, arch     string
	zip, sums, signature  string
	files                 map[string][]byte
	key                   *openpgp.Entity
	protocols             []string
	zipSHA256, armoredKey string
}

func buildRelease(t *testing.T, root, version string) *release {
	t.Helper()
	c, err := ReadGoreleaserConfig(filepath.Join(root, ".goreleaser.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Builds) != 1 || len(c.Archives) != 1 {
		t.Fatalf(".goreleaser.yml: %d builds and %d archives, want 1 of each", len(c.Builds), len(c.Archives))
	}
	a := Artifact{ProjectName: c.ProjectName, Version: version, Os: runtime.GOOS, Arch: runtime.GOARCH}
	r := &release{version: version, os: a.Os, arch: a.Arch, files: map[string][]byte{}}
	binary := mustName(t, a, c.Builds[0].Binary)
	archive := mustName(t, a, c.Archives[0].NameTemplate)
	r.zip = archive + ".zip"
	r.sums = mustName(t, a, c.Checksum.NameTemplate)
	r.signature = r.sums + ".sig"

	// The release's own build: its flags, ldflags and environment.
	var ldflags []string
	for _, l := range c.Builds[0].Ldflags {
		ldflags = append(ldflags, mustName(t, a, l))
	}
	out := filepath.Join(t.TempDir(), binary)
	args := append(append([]string{"build"}, c.Builds[0].Flags...), "-ldflags", strings.Join(ldflags, " "), "-o", out, ".")
	cmd := exec.Command("go", args...)
	cmd.Dir, cmd.Env = root, append(os.Environ(), c.Builds[0].Env...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, b)
	}
	var zipped bytes.Buffer
	zw := zip.NewWriter(&zipped)
	h := &zip.FileHeader{Name: binary, Method: zip.Deflate}
	h.SetMode(0o755)
	fw, err := zw.CreateHeader(h)
	if err != nil {
		t.Fatal(err)
	}
	bin, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fw.Write(bin); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	r.files[r.zip] = zipped.Bytes()

	// The checksum file covers the archives and the extra files.
	for _, extra := range c.Checksum.ExtraFiles {
		r.files[mustName(t, a, extra.NameTemplate)] = []byte(readFile(t, filepath.Join(root, extra.Glob)))
	}
	if c.Checksum.Algorithm != "sha256" {
		t.Fatalf(".goreleaser.yml: checksum algorithm %q, the registry wants sha256", c.Checksum.Algorithm)
	}
	var sums strings.Builder
	for _, name := range slices.Sorted(maps.Keys(r.files)) {
		sum := sha256.Sum256(r.files[name])
		fmt.Fprintf(&sums, "%x  %s\n", sum, name)
	}
	r.files[r.sums] = []byte(sums.String())
	zipSum := sha256.Sum256(r.files[r.zip])
	r.zipSHA256 = hex.EncodeToString(zipSum[:])

	var manifest struct {
		Metadata struct {
			ProtocolVersions []string `json:"protocol_versions"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal([]byte(readFile(t, filepath.Join(root, manifestFile))), &manifest); err != nil {
		t.Fatal(err)
	}
	r.protocols = manifest.Metadata.ProtocolVersions

	if r.key, err = openpgp.NewEntity("mcpai release test", "", "release-test@mcpai.invalid", nil); err != nil {
		t.Fatal(err)
	}
	var armored bytes.Buffer
	aw, err := armor.Encode(&armored, openpgp.PublicKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.key.Serialize(aw); err != nil {
		t.Fatal(err)
	}
	if err := aw.Close(); err != nil {
		t.Fatal(err)
	}
	r.armoredKey = armored.String()
	r.files[r.signature] = r.signatureOf(t, r.files[r.sums])
	return r
}

// signatureOf is a detached signature of data by the release's key, as
// goreleaser's `gpg --detach-sign` makes it.
func (r *release) signatureOf(t *testing.T, data []byte) []byte {
	t.Helper()
	var sig bytes.Buffer
	if err := openpgp.DetachSign(&sig, r.key, bytes.NewReader(data), nil); err != nil {
		t.Fatal(err)
	}
	return sig.Bytes()
}

func mustName(t *testing.T, a Artifact, nameTemplate string) string {
	t.Helper()
	name, err := a.Name(nameTemplate)
	if err != nil {
		t.Fatal(err)
	}
	return name
}

// buildModulePackage runs the release step, tools/modulepackage, and
// returns its directory and the package as the tar.gz a registry serves.
func buildModulePackage(t *testing.T, root, version string) (string, []byte) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "package")
	cmd := exec.Command("go", "run", "./tools/modulepackage", "-version", version, "-out", dir)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tools/modulepackage: %v\n%s", err, out)
	}
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	if err := tw.AddFS(os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return dir, buf.Bytes()
}
