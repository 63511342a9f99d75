// Package provider is the Terraform layer: schemas, plan and state. It
// orchestrates the transport (internal/remote) and the pure logic of each
// managed layer; it holds no host logic of its own.
package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/function"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/mcpai/terraform-provider-mcpai/internal/remote"
)

var (
	_ provider.Provider                   = (*mcpaiProvider)(nil)
	_ provider.ProviderWithFunctions      = (*mcpaiProvider)(nil)
	_ provider.ProviderWithValidateConfig = (*mcpaiProvider)(nil)
)

type mcpaiProvider struct {
	version string
	// pool lives as long as the provider process, so every resource and
	// data source of a run shares one connection per host.
	pool *remote.Pool
}

// New returns a provider factory for the given version.
func New(version string) func() provider.Provider {
	return func() provider.Provider {
		return &mcpaiProvider{version: version, pool: remote.NewPool()}
	}
}

type providerModel struct {
	SSH types.Object `tfsdk:"ssh"`
}

// providerData is what resources and data sources receive in Configure.
type providerData struct {
	pool     *remote.Pool
	defaults sshOptionsModel
}

func (p *mcpaiProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "mcpai"
	resp.Version = p.version
}

func (p *mcpaiProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Applies the MCPAI performance guide to hosts over SSH: kernel settings, the Docker daemon, PostgreSQL and Redis. `terraform apply` sets the tuning, `terraform plan` shows drift, `terraform destroy` restores what was there. Pure Go: no ssh binary is needed, so it runs in Terraform Cloud.",
		Attributes: map[string]schema.Attribute{
			"ssh": providerSSHAttribute(),
		},
	}
}

func (p *mcpaiProvider) ValidateConfig(ctx context.Context, req provider.ValidateConfigRequest, resp *provider.ValidateConfigResponse) {
	resp.Diagnostics.Append(insecureWarning(ctx, req.Config, path.Root("ssh"))...)
}

func (p *mcpaiProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	var m providerModel
	if resp.Diagnostics.Append(req.Config.Get(ctx, &m)...); resp.Diagnostics.HasError() {
		return
	}
	defaults, diags := providerDefaults(ctx, m.SSH)
	if resp.Diagnostics.Append(diags...); resp.Diagnostics.HasError() {
		return
	}
	data := &providerData{pool: p.pool, defaults: defaults}
	resp.DataSourceData = data
	resp.ResourceData = data
}

// providerDefaults reads the provider's ssh block, filling what it leaves
// unset from the environment.
func providerDefaults(ctx context.Context, obj types.Object) (sshOptionsModel, diag.Diagnostics) {
	var diags diag.Diagnostics
	d := sshOptionsModel{Bastion: types.ObjectNull(bastionAttrTypes())}
	if !obj.IsNull() && !obj.IsUnknown() {
		diags.Append(obj.As(ctx, &d, asObject)...)
	}
	fromConfig := !d.InsecureIgnoreHostKey.IsNull()
	diags.Append(d.applyEnv(osGetenv)...)
	if !fromConfig && d.InsecureIgnoreHostKey.ValueBool() {
		diags.AddWarning("Host Key Verification Disabled",
			"MCPAI_SSH_INSECURE_IGNORE_HOST_KEY turns off host key checking for every host this provider reaches, so a machine in the middle can read the credentials and change what is applied. Set known_hosts or host_key instead.")
	}
	return d, diags
}

func (p *mcpaiProvider) Resources(context.Context) []func() resource.Resource {
	return []func() resource.Resource{
		newHostSysctlResource,
		newHostKernelResource,
		newLoadTestResource,
		newDockerDaemonConfigResource,
		newPostgresTuningResource,
		newPostgresIndexResource,
		newRedisConfigResource,
		newModelRunnerResource,
		newContainerResource,
		newHostFileResource,
	}
}

func (p *mcpaiProvider) DataSources(context.Context) []func() datasource.DataSource {
	return []func() datasource.DataSource{
		newHostFactsDataSource,
	}
}

func (p *mcpaiProvider) Functions(context.Context) []func() function.Function {
	return []func() function.Function{
		newPgtuneFunction,
	}
}
