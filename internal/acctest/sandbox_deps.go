//go:build mcpai_sandbox_deps

package acctest

import (
	// The sandbox's programs under testdata/ (built by scripts/sandbox.sh for
	// its images) import these packages: the registry (RegistryImage) the
	// first, the demo stand-ins for Traefik and uvicorn (DemoTraefikImage,
	// DemoAPIImage) the others. The go command ignores testdata folders, so
	// without these imports `go mod tidy` would drop the modules (or mark
	// them indirect) and the sandbox could no longer build the programs. (`go
	// mod tidy` reads files whatever their build tags; nothing builds this
	// one.)
	_ "github.com/google/go-containerregistry/pkg/registry"
	_ "golang.org/x/sys/unix"
	_ "gopkg.in/yaml.v3"
)
