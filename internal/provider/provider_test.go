package provider

import (
	"os"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
)

// testAccProviders runs the provider in-process for terraform-plugin-testing.
var testAccProviders = map[string]func() (tfprotov6.ProviderServer, error){
	"mcpai": providerserver.NewProtocol6WithError(New("test")()),
}

func TestMain(m *testing.M) {
	// Terraform cannot download anything here: use the installed CLI.
	if os.Getenv("TF_ACC_TERRAFORM_PATH") == "" {
		if _, err := os.Stat("/usr/local/bin/terraform"); err == nil {
			_ = os.Setenv("TF_ACC_TERRAFORM_PATH", "/usr/local/bin/terraform")
		}
	}
	// Serve the provider under its registry address, mcpai/mcpai, as
	// configurations and modules name it.
	if os.Getenv("TF_ACC_PROVIDER_NAMESPACE") == "" {
		_ = os.Setenv("TF_ACC_PROVIDER_NAMESPACE", "mcpai")
	}
	os.Exit(m.Run())
}
