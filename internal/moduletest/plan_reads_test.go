package moduletest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mcpai/terraform-provider-mcpai/internal/acctest"
)

// The modules that size from the host read its facts when planning, even
// when an input comes from a resource with changes pending (a VM being
// resized, say). A depends_on on the read would postpone it to apply time
// and leave every sized value unknown in the plan.
func TestAccModules_factsReadWhenPlanning(t *testing.T) {
	if testing.Short() {
		t.Skip("drives the terraform CLI")
	}
	h := serviceHost(t)
	for name, tc := range map[string]struct{ module, args string }{
		"postgres":    {"postgres", postgresModuleArgs(h, pgVersionArg+"  connections = terraform_data.upstream.input\n")},
		"redis":       {"redis", redisArgs(h) + "  tcp_keepalive = terraform_data.upstream.input\n"},
		"api-service": {"api-service", fmt.Sprintf("  host = %q\n  image = %q\n  backlog = terraform_data.upstream.input\n", h.Address, acctest.DemoAPIImage)},
	} {
		t.Run(name, func(t *testing.T) {
			w := callModule(t, tc.module, tc.args)
			upstream := "\nvariable \"rev\" {\n  type    = number\n  default = 50\n}\n\nresource \"terraform_data\" \"upstream\" {\n  input = var.rev\n}\n"
			p := filepath.Join(w.Dir, "main.tf")
			config, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, append(config, upstream...), 0o600); err != nil {
				t.Fatal(err)
			}
			w.Run([]int{0}, "apply", "-auto-approve", "-target=terraform_data.upstream")
			// The upstream resource changes; the module is only planned.
			_, out := w.Run([]int{0}, "plan", "-var", "rev=60")
			if strings.Contains(out, "will be read during apply") || !strings.Contains(out, "data.mcpai_host_facts") {
				t.Errorf("the host facts are not read when planning:\n%s", out)
			}
			w.Run([]int{0}, "destroy", "-auto-approve", "-target=terraform_data.upstream")
		})
	}
}
