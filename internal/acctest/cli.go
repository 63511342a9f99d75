package acctest

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

var (
	buildOnce   sync.Once
	builtDir    string
	buildErr    error
	buildOutput []byte
)

// ProviderDir is a folder holding the provider binary for the terraform
// CLI: MCPAI_PROVIDER_BIN's folder when set (make bench builds it), or a
// build made once per test process.
func ProviderDir(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("MCPAI_PROVIDER_BIN"); p != "" {
		abs, err := filepath.Abs(p)
		if err != nil {
			t.Fatal(err)
		}
		return filepath.Dir(abs)
	}
	buildOnce.Do(func() {
		// Shared by every test of the process, so not t.TempDir().
		builtDir, buildErr = os.MkdirTemp("", "mcpai-provider-") //nolint:usetesting // outlives any one test
		if buildErr != nil {
			return
		}
		_, file, _, _ := runtime.Caller(0)
		cmd := exec.Command("go", "build", "-o", filepath.Join(builtDir, "terraform-provider-mcpai"), ".")
		cmd.Dir = filepath.Join(filepath.Dir(file), "..", "..")
		buildOutput, buildErr = cmd.CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("building the provider: %v\n%s", buildErr, buildOutput)
	}
	return builtDir
}

// Workspace is a Terraform working directory that uses the local provider
// build through dev_overrides, the way `make demo` does: nothing is
// downloaded and no `terraform init` is needed (`terraform get` installs
// local modules).
type Workspace struct {
	t   testing.TB
	Dir string
	env []string
}

// NewWorkspace writes config (with the required_providers block added) into
// a fresh directory.
func NewWorkspace(t testing.TB, config string) *Workspace {
	t.Helper()
	dir := t.TempDir()
	rc := filepath.Join(dir, "terraformrc")
	overrides := fmt.Sprintf("provider_installation {\n  dev_overrides {\n    \"mcpai/mcpai\" = %q\n  }\n  direct {}\n}\n", ProviderDir(t))
	if err := os.WriteFile(rc, []byte(overrides), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	return &Workspace{t: t, Dir: dir, env: append(os.Environ(), "TF_CLI_CONFIG_FILE="+rc, "TF_IN_AUTOMATION=1")}
}

// Setenv sets an environment variable for the workspace's terraform runs.
func (w *Workspace) Setenv(key, value string) {
	w.env = append(w.env, key+"="+value)
}

// Run runs terraform with args and returns its exit code and output; an
// exit code not in ok fails the test.
func (w *Workspace) Run(ok []int, args ...string) (int, string) {
	w.t.Helper()
	flags := []string{"-no-color"}
	switch args[0] {
	case "plan", "apply", "destroy", "import", "refresh":
		flags = append(flags, "-input=false")
	}
	cmd := exec.Command("terraform", append(args, flags...)...)
	cmd.Dir, cmd.Env = w.Dir, w.env
	out, err := cmd.CombinedOutput()
	code := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		w.t.Fatal(err)
	}
	for _, c := range ok {
		if c == code {
			return code, string(out)
		}
	}
	w.t.Fatalf("terraform %s exited %d:\n%s", strings.Join(args, " "), code, out)
	return code, string(out)
}

// ModuleWorkspace is a workspace whose main.tf is config with every
// `source = "../../modules/<name>"` made relative to the workspace (the
// stack's modules call their siblings by relative paths, which Terraform
// allows only inside one local package, so an absolute source will not
// do), modules installed. examples/ use that source form.
func ModuleWorkspace(t testing.TB, config string) *Workspace {
	t.Helper()
	w := NewWorkspace(t, "")
	_, file, _, _ := runtime.Caller(0)
	modules, err := filepath.Abs(filepath.Join(filepath.Dir(file), "..", "..", "modules"))
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(w.Dir, modules)
	if err != nil {
		t.Fatal(err)
	}
	config = strings.ReplaceAll(config, `source = "../../modules/`, fmt.Sprintf(`source = "%s/`, filepath.ToSlash(rel)))
	if err := os.WriteFile(filepath.Join(w.Dir, "main.tf"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	w.Run([]int{0}, "get")
	return w
}

// ExampleWorkspace is examples/<name> as a user runs it (see
// ModuleWorkspace), reading the sandbox's hosts from HostsFile.
func ExampleWorkspace(t testing.TB, name string) *Workspace {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	example, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "..", "examples", name, "main.tf"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(example), `source = "../../modules/`) {
		t.Fatalf("examples/%s/main.tf calls no module of this repository", name)
	}
	w := ModuleWorkspace(t, string(example))
	w.Setenv("TF_VAR_hosts_file", HostsFile())
	if strings.Contains(string(example), `variable "vms_file"`) {
		VMs(t) // up, and resumed for this test if `make test` paused it
		w.Setenv("TF_VAR_vms_file", VMsFile())
	}
	return w
}

// OutputJSON decodes the workspace's output name into v.
func (w *Workspace) OutputJSON(name string, v any) {
	w.t.Helper()
	_, out := w.Run([]int{0}, "output", "-json", name)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		w.t.Fatalf("output %s: %v:\n%s", name, err, out)
	}
}

// PlanEmpty checks that a plan after apply has nothing to do: with
// -detailed-exitcode, 0 is no change and 2 a change.
func (w *Workspace) PlanEmpty() {
	w.t.Helper()
	if code, out := w.Run([]int{0, 2}, "plan", "-detailed-exitcode"); code != 0 {
		w.t.Errorf("the plan after apply is not empty:\n%s", out)
	}
}
