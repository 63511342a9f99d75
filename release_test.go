package main

import (
	"encoding/json"
	"os"
	"slices"
	"testing"

	"github.com/mcpai/terraform-provider-mcpai/internal/registrytest"
)

const manifestFile = "terraform-registry-manifest.json"

// TestReleaseConfig checks what the registry needs of a release, which CI
// does not build: `goreleaser release --snapshot --clean --skip=sign` does
// (see the README).
func TestReleaseConfig(t *testing.T) {
	c, err := registrytest.ReadGoreleaserConfig(".goreleaser.yml")
	if err != nil {
		t.Fatal(err)
	}
	if c.ProjectName != "terraform-provider-mcpai" {
		t.Errorf("project_name %q: the registry reads the provider's name from the archive names", c.ProjectName)
	}
	if len(c.Builds) != 1 {
		t.Fatalf("%d builds, want 1", len(c.Builds))
	}
	b := c.Builds[0]
	if want := []string{"linux", "darwin", "windows"}; !slices.Equal(b.Goos, want) {
		t.Errorf("goos %v, want %v", b.Goos, want)
	}
	if want := []string{"amd64", "arm64"}; !slices.Equal(b.Goarch, want) {
		t.Errorf("goarch %v, want %v", b.Goarch, want)
	}
	if b.Binary != "{{ .ProjectName }}_v{{ .Version }}" {
		t.Errorf("binary %q: Terraform looks for terraform-provider-<name>_v<version>", b.Binary)
	}
	if !slices.Contains(b.Env, "CGO_ENABLED=0") {
		t.Errorf("env %v: the binaries must be static (CGO_ENABLED=0)", b.Env)
	}
	if len(c.Archives) != 1 || !slices.Equal(c.Archives[0].Formats, []string{"zip"}) || c.Archives[0].NameTemplate != "{{ .ProjectName }}_{{ .Version }}_{{ .Os }}_{{ .Arch }}" {
		t.Errorf("archives %+v: the registry wants <project>_<version>_<os>_<arch>.zip", c.Archives)
	}
	if c.Checksum.NameTemplate != "{{ .ProjectName }}_{{ .Version }}_SHA256SUMS" || c.Checksum.Algorithm != "sha256" {
		t.Errorf("checksum %q (%s): the registry wants <project>_<version>_SHA256SUMS (sha256)", c.Checksum.NameTemplate, c.Checksum.Algorithm)
	}
	manifest := registrytest.ExtraFile{Glob: manifestFile, NameTemplate: "{{ .ProjectName }}_{{ .Version }}_manifest.json"}
	if !slices.Contains(c.Checksum.ExtraFiles, manifest) {
		t.Errorf("checksum.extra_files %+v: the manifest must be in SHA256SUMS as %s", c.Checksum.ExtraFiles, manifest.NameTemplate)
	}
	if !slices.Contains(c.Release.ExtraFiles, manifest) {
		t.Errorf("release.extra_files %+v: the manifest must be released as %s", c.Release.ExtraFiles, manifest.NameTemplate)
	}
	if len(c.Signs) != 1 || c.Signs[0].Artifacts != "checksum" {
		t.Errorf("signs %+v: the registry wants SHA256SUMS signed", c.Signs)
	}

	data, err := os.ReadFile(manifestFile)
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Version  int `json:"version"`
		Metadata struct {
			ProtocolVersions []string `json:"protocol_versions"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	if m.Version != 1 || !slices.Equal(m.Metadata.ProtocolVersions, []string{"6.0"}) {
		t.Errorf("%s: version %d, protocols %v; want 1 and [6.0] (main.go serves protocol 6)", manifestFile, m.Version, m.Metadata.ProtocolVersions)
	}
}
