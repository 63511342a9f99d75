// Package registrytest installs this repository's release the way users
// consume it: `terraform init` of the snippets the docs publish, against a
// registry served on loopback (registry_test.go). This file reads what the
// release is named, from .goreleaser.yml, for that test and for the root
// package's TestReleaseConfig.
package registrytest

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"text/template"

	"gopkg.in/yaml.v3"
)

// GoreleaserConfig is the part of .goreleaser.yml the Terraform registry
// depends on.
type GoreleaserConfig struct {
	ProjectName string `yaml:"project_name"`
	Builds      []struct {
		Goos    []string `yaml:"goos"`
		Goarch  []string `yaml:"goarch"`
		Binary  string   `yaml:"binary"`
		Env     []string `yaml:"env"`
		Flags   []string `yaml:"flags"`
		Ldflags []string `yaml:"ldflags"`
	} `yaml:"builds"`
	Archives []struct {
		Formats      []string `yaml:"formats"`
		NameTemplate string   `yaml:"name_template"`
	} `yaml:"archives"`
	Checksum struct {
		NameTemplate string      `yaml:"name_template"`
		Algorithm    string      `yaml:"algorithm"`
		ExtraFiles   []ExtraFile `yaml:"extra_files"`
	} `yaml:"checksum"`
	Signs []struct {
		Artifacts string `yaml:"artifacts"`
	} `yaml:"signs"`
	Release struct {
		ExtraFiles []ExtraFile `yaml:"extra_files"`
	} `yaml:"release"`
}

// ExtraFile is a file released beside the archives, under a name of its own.
type ExtraFile struct {
	Glob         string `yaml:"glob"`
	NameTemplate string `yaml:"name_template"`
}

// ReadGoreleaserConfig reads a goreleaser configuration.
func ReadGoreleaserConfig(path string) (GoreleaserConfig, error) {
	var c GoreleaserConfig
	data, err := os.ReadFile(filepath.Clean(path))
	if err != nil {
		return c, err
	}
	if err := yaml.Unmarshal(data, &c); err != nil {
		return c, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Artifact is what goreleaser's name templates see of one artifact.
type Artifact struct {
	ProjectName, Version, Os, Arch string
}

// Name renders one of the configuration's name templates for a. Goreleaser's
// templates are Go templates; the ones the release names use need only
// these fields.
func (a Artifact) Name(nameTemplate string) (string, error) {
	t, err := template.New("name").Parse(nameTemplate)
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	if err := t.Execute(&b, a); err != nil {
		return "", fmt.Errorf("%q: %w", nameTemplate, err)
	}
	return b.String(), nil
}
