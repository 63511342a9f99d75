// Package vmtest holds the acceptance tests that need a real init system:
// they run on the Debian 12 VMs of scripts/vm.sh (acctest.VMs), which
// `make vm` starts and `make test` uses after the namespace hosts' tests.
package vmtest

import (
	"os"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"

	"github.com/mcpai/terraform-provider-mcpai/internal/provider"
)

var providers = map[string]func() (tfprotov6.ProviderServer, error){
	"mcpai": providerserver.NewProtocol6WithError(provider.New("test")()),
}

func TestMain(m *testing.M) {
	// Terraform cannot download anything here: use the installed CLI, and
	// serve the provider under its registry address, mcpai/mcpai.
	if os.Getenv("TF_ACC_TERRAFORM_PATH") == "" {
		if _, err := os.Stat("/usr/local/bin/terraform"); err == nil {
			_ = os.Setenv("TF_ACC_TERRAFORM_PATH", "/usr/local/bin/terraform")
		}
	}
	if os.Getenv("TF_ACC_PROVIDER_NAMESPACE") == "" {
		_ = os.Setenv("TF_ACC_PROVIDER_NAMESPACE", "mcpai")
	}
	os.Exit(m.Run())
}
