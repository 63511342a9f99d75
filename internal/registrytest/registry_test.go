package registrytest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

const (
	moduleAddress   = "mcpai/stack/mcpai"
	providerAddress = "mcpai/mcpai"
	manifestFile    = "terraform-registry-manifest.json"
)

// The stack's call as its README publishes it.
var stackSnippet = regexp.MustCompile(`module "stack" \{\n  source  = "` + moduleAddress + `"\n  version = "~> ([0-9]+\.[0-9]+)"\n`)

// TestAccRegistryInstall installs the provider and the modules as a user
// does, from the snippets the docs publish, with `terraform init` against a
// registry: one served here on loopback over HTTPS, speaking the module and
// provider registry protocols, which Terraform reaches at the user's
// addresses (registry.terraform.io) through a CLI configuration's host
// block. It serves the module package tools/modulepackage writes, and the
// provider's release as .goreleaser.yml names it, signed with a key made
// here. Then it validates the package's own snippet, plans the stack for
// one host (a plan that reads nothing from the host, which is a loopback
// listener that must see no connection), inits a layer's snippet, and
// refuses a release whose signature does not match.
//
// The release is built here in Go rather than by goreleaser: installing
// goreleaser (v2.16, the newest that builds with this repository's Go) did
// not finish in five minutes on the two-core test machine, and it would
// build the six platforms where Terraform installs one. The names, build
// flags and files come from .goreleaser.yml.
//
// Any HTTP request to another address would go through a proxy that fails
// the test: Go sends loopback requests directly, everything else through
// HTTPS_PROXY.
func TestAccRegistryInstall(t *testing.T) {
	if os.Getenv("TF_ACC") == "" {
		t.Skip("builds a release and runs terraform init against it: set TF_ACC=1 (make test does)")
	}
	if _, err := exec.LookPath("terraform"); err != nil {
		t.Fatal("terraform is not on PATH")
	}
	start := time.Now()
	root := repoRoot(t)
	stackReadme := readFile(t, filepath.Join(root, "modules", "mcpai-stack", "README.md"))
	m := stackSnippet.FindStringSubmatch(stackReadme)
	if m == nil {
		t.Fatalf("modules/mcpai-stack/README.md has no call of %s with a version ~> X.Y", moduleAddress)
	}
	constraint, version := "~> "+m[1], m[1]+".0"

	release := buildRelease(t, root, version)
	pkgDir, pkg := buildModulePackage(t, root, version)
	reg := startRegistry(t, version, release, pkg)
	trap := startProxyTrap(t)
	t.Logf("release %s built and served in %s", version, time.Since(start).Round(time.Second))

	t.Run("the proxy sees every other address", func(t *testing.T) {
		w := newWorkdir(t, reg, trap, "terraform {\n  required_providers {\n    x = { source = \"registry.example.invalid/x/x\" }\n  }\n}\n")
		w.run(t, 1, "init")
		if seen := trap.take(); !slices.Contains(seen, "CONNECT registry.example.invalid:443") {
			t.Errorf("the proxy saw %q, want the CONNECT for registry.example.invalid", seen)
		}
	})

	t.Run("the package's own snippet", func(t *testing.T) {
		snippet := firstHCLBlock(t, readFile(t, filepath.Join(pkgDir, "README.md")))
		w := newWorkdir(t, reg, trap, snippet)
		w.run(t, 0, "init")
		w.checkLock(t, release)
		w.run(t, 0, "validate")
	})

	t.Run("the stack planned", func(t *testing.T) {
		// One host with no role gets the host layer, whose plan reads
		// nothing from the host: its SSH port is a listener that counts
		// connections, and must count none.
		sshd := startConnectionCounter(t)
		privateKey, hostKey := sshKeys(t)
		address := "127.0.0.1"
		config := fmt.Sprintf(`terraform {
  required_providers {
    mcpai = {
      source  = %q
      version = %q
    }
  }
}

module "stack" {
  source  = %q
  version = %q

  hosts = {
    h1 = {
      address       = %q
      roles         = []
      shared_kernel = true
      ssh           = { user = "root", port = %d, private_key = %q, host_key = %q }
    }
  }
}
`, providerAddress, constraint, moduleAddress, constraint, address, sshd.port(), privateKey, hostKey)
		w := newWorkdir(t, reg, trap, config)
		out := w.run(t, 0, "init")
		for _, want := range []string{
			"Downloading registry.terraform.io/" + moduleAddress + " " + version + " for stack...",
			"Installed " + providerAddress + " v" + version + " (self-signed, key ID " + release.key.PrimaryKey.KeyIdString() + ")",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("init's output lacks %q:\n%s", want, out)
			}
		}
		w.checkLock(t, release)
		w.checkModules(t, map[string]string{"stack": "registry.terraform.io/" + moduleAddress, "stack.host_tuning": "./modules/host-tuning"})
		w.run(t, 0, "plan", "-out=tfplan")
		var plan struct {
			ResourceChanges []struct {
				Address string `json:"address"`
				Change  struct {
					Actions []string       `json:"actions"`
					After   map[string]any `json:"after"`
				} `json:"change"`
			} `json:"resource_changes"`
		}
		if err := json.Unmarshal([]byte(w.run(t, 0, "show", "-json", "tfplan")), &plan); err != nil {
			t.Fatal(err)
		}
		created := map[string]map[string]any{}
		for _, rc := range plan.ResourceChanges {
			if slices.Equal(rc.Change.Actions, []string{"create"}) {
				created[rc.Address] = rc.Change.After
			}
		}
		t.Logf("the plan creates %v", slices.Sorted(maps.Keys(created)))
		for _, addr := range []string{
			`module.stack.module.host_tuning["h1"].mcpai_host_sysctl.tuning["` + address + `"]`,
			`module.stack.module.host_tuning["h1"].mcpai_host_kernel.tuning["` + address + `"]`,
		} {
			after, ok := created[addr]
			if !ok {
				t.Errorf("the plan does not create %s; it creates %v", addr, slices.Sorted(maps.Keys(created)))
				continue
			}
			if ssh, _ := after["ssh"].(map[string]any); ssh["host"] != address {
				t.Errorf("%s: ssh %v, want host %s", addr, after["ssh"], address)
			}
		}
		settings, _ := created[`module.stack.module.host_tuning["h1"].mcpai_host_sysctl.tuning["`+address+`"]`]["settings"].(map[string]any)
		if settings["net.core.somaxconn"] != "65535" {
			t.Errorf("planned sysctls %v: want the guide's net.core.somaxconn = 65535", settings)
		}
		// shared_kernel: the machine's kernel-wide settings are not the
		// stack's to change.
		if _, ok := settings["vm.swappiness"]; ok {
			t.Errorf("planned sysctls %v: vm.swappiness on a host with shared_kernel", settings)
		}
		if n := sshd.count(); n != 0 {
			t.Errorf("the plan connected to the host %d times", n)
		}
	})

	t.Run("a layer alone", func(t *testing.T) {
		snippet := firstHCLBlock(t, readFile(t, filepath.Join(root, "modules", "redis", "README.md")))
		if !regexp.MustCompile(`source\s*= "` + moduleAddress + `//modules/redis"`).MatchString(snippet) {
			t.Fatalf("the redis README's example does not call %s//modules/redis:\n%s", moduleAddress, snippet)
		}
		w := newWorkdir(t, reg, trap, snippet+"\nvariable \"redis_password\" {\n  sensitive = true\n}\n")
		w.run(t, 0, "init")
		w.checkLock(t, release)
		w.checkModules(t, map[string]string{"cache": "registry.terraform.io/" + moduleAddress + "//modules/redis"})
		w.run(t, 0, "validate")
	})

	t.Run("a signature that does not match", func(t *testing.T) {
		reg.setFile(release.signature, release.signatureOf(t, []byte("not the SHA256SUMS file\n")))
		defer reg.setFile(release.signature, release.files[release.signature])
		w := newWorkdir(t, reg, trap, fmt.Sprintf("terraform {\n  required_providers {\n    mcpai = {\n      source  = %q\n      version = %q\n    }\n  }\n}\n", providerAddress, constraint))
		out := w.run(t, 1, "init")
		t.Logf("init refused the release:\n%s", out)
		for _, want := range []string{"Failed to install provider", providerAddress + " v" + version, "signature"} {
			if !strings.Contains(out, want) {
				t.Errorf("init's error lacks %q:\n%s", want, out)
			}
		}
		if _, err := os.Stat(filepath.Join(w.dir, ".terraform.lock.hcl")); !os.IsNotExist(err) {
			t.Errorf("a provider whose signature failed is in the lock file (%v)", err)
		}
	})

	requests := reg.log()
	t.Logf("registry requests: %d; %s in all", len(requests), time.Since(start).Round(time.Second))
	for _, want := range []string{
		"GET /v1/modules/" + moduleAddress + "/versions",
		"GET /v1/modules/" + moduleAddress + "/" + version + "/download",
		"GET /v1/providers/" + providerAddress + "/" + version + "/download/" + runtime.GOOS + "/" + runtime.GOARCH,
		"GET /files/" + release.signature,
	} {
		if !slices.Contains(requests, want) {
			t.Errorf("the registry was not asked %q; it was asked %q", want, requests)
		}
	}
	for _, r := range requests {
		// The registry lists a later major version too: the constraint
		// must keep it out.
		if strings.Contains(r, "/"+laterVersion+"/") || strings.HasPrefix(r, "unknown ") {
			t.Errorf("the registry was asked %q", r)
		}
	}
	if seen := trap.take(); len(seen) > 0 {
		t.Errorf("terraform reached beyond loopback: %q", seen)
	}
}

// workdir is a user's configuration directory with a CLI configuration
// that sends registry.terraform.io's module and provider requests to the
// registry and installs providers directly from it: no dev_overrides, no
// mirror, no plugin cache.
type workdir struct {
	dir string
	env []string
}

func newWorkdir(t *testing.T, reg *registry, trap *proxyTrap, config string) *workdir {
	t.Helper()
	w := &workdir{dir: t.TempDir()}
	home := t.TempDir()
	// Snippets read ~/.ssh/id_ed25519 and known_hosts: empty ones will do
	// for init and validate.
	if err := os.MkdirAll(filepath.Join(home, ".ssh"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"id_ed25519", "known_hosts"} {
		if err := os.WriteFile(filepath.Join(home, ".ssh", f), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	rc := filepath.Join(home, "terraformrc")
	cli := fmt.Sprintf(`host "registry.terraform.io" {
  services = {
    "modules.v1"   = "%[1]s/v1/modules/"
    "providers.v1" = "%[1]s/v1/providers/"
  }
}

provider_installation {
  direct {}
}
`, reg.server.URL)
	if err := os.WriteFile(rc, []byte(cli), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(w.dir, "main.tf"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	// Only what these runs need: nothing of the caller's Terraform
	// settings (TF_PLUGIN_CACHE_DIR, TF_CLI_CONFIG_FILE, proxies).
	w.env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"TMPDIR=" + t.TempDir(),
		"TF_CLI_CONFIG_FILE=" + rc,
		"TF_IN_AUTOMATION=1",
		"CHECKPOINT_DISABLE=1",
		"SSL_CERT_FILE=" + reg.caFile,
		"HTTPS_PROXY=" + trap.server.URL,
		"HTTP_PROXY=" + trap.server.URL,
	}
	return w
}

// run runs terraform with args, wants exit code want, and returns its
// output.
func (w *workdir) run(t *testing.T, want int, args ...string) string {
	t.Helper()
	args = append(args, "-no-color")
	if args[0] == "init" || args[0] == "plan" {
		args = append(args, "-input=false")
	}
	cmd := exec.Command("terraform", args...)
	cmd.Dir, cmd.Env = w.dir, w.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if code != want {
		t.Fatalf("terraform %s exited %d, want %d:\n%s%s", strings.Join(args, " "), code, want, stdout.String(), stderr.String())
	}
	if want != 0 {
		return stdout.String() + stderr.String()
	}
	return stdout.String()
}

// checkLock checks that the lock file records the release's provider with
// the hash of its zip from the signed SHA256SUMS.
func (w *workdir) checkLock(t *testing.T, r *release) {
	t.Helper()
	lock := readFile(t, filepath.Join(w.dir, ".terraform.lock.hcl"))
	for _, want := range []string{
		`provider "registry.terraform.io/` + providerAddress + `" {`,
		`version     = "` + r.version + `"`,
		`"zh:` + r.zipSHA256 + `"`,
	} {
		if !strings.Contains(lock, want) {
			t.Errorf("the lock file lacks %s:\n%s", want, lock)
		}
	}
}

// checkModules checks where init installed modules (key to source) from
// .terraform/modules/modules.json.
func (w *workdir) checkModules(t *testing.T, want map[string]string) {
	t.Helper()
	var doc struct {
		Modules []struct{ Key, Source, Dir string }
	}
	if err := json.Unmarshal([]byte(readFile(t, filepath.Join(w.dir, ".terraform", "modules", "modules.json"))), &doc); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, m := range doc.Modules {
		got[m.Key] = m.Source
		if _, err := os.Stat(filepath.Join(w.dir, m.Dir)); m.Key != "" && err != nil {
			t.Errorf("module %s: %v", m.Key, err)
		}
	}
	for key, source := range want {
		if got[key] != source {
			t.Errorf("module %s installed from %q, want %q (all: %v)", key, got[key], source, got)
		}
	}
}

var hclBlock = regexp.MustCompile("(?s)```hcl\n(.*?)```")

func firstHCLBlock(t *testing.T, page string) string {
	t.Helper()
	m := hclBlock.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no hcl example")
	}
	return m[1]
}

func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	root, err := filepath.Abs(filepath.Join(filepath.Dir(file), "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
