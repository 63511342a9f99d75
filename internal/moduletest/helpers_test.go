package moduletest

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/mcpai/terraform-provider-mcpai/internal/acctest"
)

// modulesDir is the repository's modules/ folder.
func modulesDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "modules")
}

// moduleSource is modules/<name>, for a module block's source: modules are
// tested through the terraform CLI with the provider binary, as users run
// them, and `terraform get` installs the module from this tree.
func moduleSource(name string) string {
	return filepath.Join(modulesDir(), name)
}

// callModule is a workspace that calls modules/<name> as module "m" with
// args (HCL lines) and passes each named output of it on, for `terraform
// output -json <name>`.
func callModule(t *testing.T, name, args string, outputs ...string) *acctest.Workspace {
	t.Helper()
	w := acctest.NewWorkspace(t, moduleConfig(t, name, args, outputs...))
	w.Run([]int{0}, "get")
	return w
}

// recallModule changes the module call of w's configuration.
func recallModule(t *testing.T, w *acctest.Workspace, name, args string, outputs ...string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(w.Dir, "main.tf"), []byte(moduleConfig(t, name, args, outputs...)), 0o600); err != nil {
		t.Fatal(err)
	}
}

func moduleConfig(t *testing.T, name, args string, outputs ...string) string {
	var config strings.Builder
	config.WriteString(acctest.ProviderBlock(t))
	fmt.Fprintf(&config, "\nmodule \"m\" {\n  source = %q\n%s\n}\n", moduleSource(name), args)
	for _, o := range outputs {
		fmt.Fprintf(&config, "output %q { value = module.m.%s }\n", o, o)
	}
	return config.String()
}

// hostsArg is the hosts argument of a module for the given sandbox hosts.
func hostsArg(hosts ...acctest.Host) string {
	addrs := make([]string, len(hosts))
	for i, h := range hosts {
		addrs[i] = fmt.Sprintf("%q", h.Address)
	}
	return "  hosts = [" + strings.Join(addrs, ", ") + "]\n"
}

// planFails runs `terraform plan` on w, which must fail with want (words
// separated by any whitespace, as Terraform wraps its messages).
func planFails(t *testing.T, w *acctest.Workspace, want string) {
	t.Helper()
	_, out := w.Run([]int{1}, "plan")
	re := regexp.MustCompile(strings.ReplaceAll(regexp.QuoteMeta(want), " ", `\s+`))
	if !re.MatchString(out) {
		t.Errorf("plan output lacks %q:\n%s", want, out)
	}
}

// planRefused is planFails without a login to h: bad input is refused
// before any host is touched.
func planRefused(t *testing.T, w *acctest.Workspace, h acctest.Host, want string) {
	t.Helper()
	logins := h.AcceptedLogins(t)
	planFails(t, w, want)
	if n := h.AcceptedLogins(t); n != logins {
		t.Errorf("the plan logged in to %s over SSH %d times", h.Name, n-logins)
	}
}
