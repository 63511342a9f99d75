//go:build mcpai_sandbox_deps

package acctest

import (
	// The sandbox's registry program (testdata/registry, built by
	// scripts/sandbox.sh for the image RegistryImage) imports this package.
	// The go command ignores testdata folders, so without this import `go
	// mod tidy` would drop the module and the sandbox could no longer build
	// the program. (`go mod tidy` reads files whatever their build tags;
	// nothing builds this one.)
	_ "github.com/google/go-containerregistry/pkg/registry"
)
