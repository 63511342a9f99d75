package registrytest

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestArtifactName renders .goreleaser.yml's names as goreleaser does for
// one platform: what Terraform and the registry look for.
func TestArtifactName(t *testing.T) {
	c, err := ReadGoreleaserConfig(filepath.Join("..", "..", ".goreleaser.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Builds) != 1 || len(c.Archives) != 1 || len(c.Checksum.ExtraFiles) != 1 {
		t.Fatalf("builds %d, archives %d, checksum extra files %d: want 1 of each", len(c.Builds), len(c.Archives), len(c.Checksum.ExtraFiles))
	}
	a := Artifact{ProjectName: c.ProjectName, Version: "1.2.3", Os: "linux", Arch: "arm64"}
	for tmpl, want := range map[string]string{
		c.Builds[0].Binary:                     "terraform-provider-mcpai_v1.2.3",
		c.Archives[0].NameTemplate:             "terraform-provider-mcpai_1.2.3_linux_arm64",
		c.Checksum.NameTemplate:                "terraform-provider-mcpai_1.2.3_SHA256SUMS",
		c.Checksum.ExtraFiles[0].NameTemplate:  "terraform-provider-mcpai_1.2.3_manifest.json",
		strings.Join(c.Builds[0].Ldflags, " "): "-s -w -X main.version=1.2.3",
	} {
		got, err := a.Name(tmpl)
		if err != nil || got != want {
			t.Errorf("Name(%q) = %q, %v; want %q", tmpl, got, err, want)
		}
	}
	for _, tmpl := range []string{"{{ .Env.GPG_FINGERPRINT }}", "{{ .Version"} {
		if got, err := a.Name(tmpl); err == nil {
			t.Errorf("Name(%q) = %q, want an error", tmpl, got)
		}
	}
}
