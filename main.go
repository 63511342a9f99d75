// Command terraform-provider-mcpai serves the mcpai Terraform provider.
package main

import (
	"context"
	"flag"
	"log"
	"os"
	rtdebug "runtime/debug"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"

	"github.com/mcpai/terraform-provider-mcpai/internal/provider"
)

// Run "go generate" to format example files and regenerate the docs: the
// modules' README tables and guide templates first, then docs/ from the
// templates and the schema.
//go:generate terraform fmt -recursive ./examples/
//go:generate go run ./tools/moduledocs
//go:generate go tool tfplugindocs generate --provider-name mcpai

// version is set by goreleaser.
var version = "dev"

func main() {
	var debug bool
	flag.BoolVar(&debug, "debug", false, "run the provider with support for debuggers such as delve")
	flag.Parse()
	quietSDKLogs()
	if os.Getenv("GOGC") == "" {
		// The provider's heap stays at a few megabytes, so the default
		// GOGC=100 collects over and over for nothing while Terraform waits;
		// a user's GOGC still wins.
		rtdebug.SetGCPercent(400)
	}
	err := providerserver.Serve(context.Background(), provider.New(version), providerserver.ServeOpts{
		Address: "registry.terraform.io/mcpai/mcpai",
		Debug:   debug,
	})
	if err != nil {
		log.Fatal(err.Error())
	}
}

// quietSDKLogs turns off the SDK's own trace logs when Terraform will throw
// them away (no TF_LOG or TF_LOG_PROVIDER reached us): producing them took
// about an eighth of the provider's CPU in a plan. Variables the user set are
// left alone.
func quietSDKLogs() {
	if os.Getenv("TF_LOG") != "" || os.Getenv("TF_LOG_PROVIDER") != "" {
		return
	}
	for _, v := range []string{"TF_LOG_SDK", "TF_LOG_SDK_PROTO", "TF_LOG_SDK_FRAMEWORK"} {
		if _, set := os.LookupEnv(v); !set {
			_ = os.Setenv(v, "off")
		}
	}
}
