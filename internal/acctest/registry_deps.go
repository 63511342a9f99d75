//go:build tools

package acctest

// The sandbox's registry program (testdata/registry, built by
// scripts/sandbox.sh for the image RegistryImage) imports this package. The
// go command ignores testdata folders, so without this import `go mod tidy`
// would drop the module and the sandbox could no longer build the program.
import _ "github.com/google/go-containerregistry/pkg/registry"
