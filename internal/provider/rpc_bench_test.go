package provider

import (
	"context"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	pschemapkg "github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/mcpai/terraform-provider-mcpai/internal/acctest"
	"github.com/mcpai/terraform-provider-mcpai/internal/sysctl"
)

// BenchmarkRefreshAndPlanRPCs measures the provider's own cost of one
// resource in a no-op plan: the RPCs Terraform sends for it (validate twice,
// upgrade, read, plan), in process, against a sandbox host.
func BenchmarkRefreshAndPlanRPCs(b *testing.B) {
	ctx := context.Background()
	h := acctest.Hosts(b)[len(acctest.Hosts(b))-1]
	server, err := providerserver.NewProtocol6WithError(New("bench")())()
	if err != nil {
		b.Fatal(err)
	}
	if _, err := server.GetProviderSchema(ctx, &tfprotov6.GetProviderSchemaRequest{}); err != nil {
		b.Fatal(err)
	}
	// Provider configuration: the sandbox key and known_hosts as defaults.
	pschema := providerSchema(ctx)
	pcfg := tfsdk.State{Schema: pschema}
	opts := map[string]attr.Value{}
	for name, t := range endpointAttrTypes() {
		opts[name] = nullOf(t)
	}
	opts["user"] = types.StringValue("root")
	opts["private_key"] = types.StringValue(h.PrivateKey(b))
	opts["known_hosts"] = types.StringValue(h.KnownHosts(b))
	opts["bastion"] = types.ObjectNull(bastionAttrTypes())
	opts["sudo"] = types.BoolNull()
	opts["timeout"] = types.StringNull()
	optTypes := endpointAttrTypes()
	optTypes["bastion"] = types.ObjectType{AttrTypes: bastionAttrTypes()}
	optTypes["sudo"] = types.BoolType
	optTypes["timeout"] = types.StringType
	pcfg.Raw = tftypes.NewValue(pschema.Type().TerraformType(ctx), nil)
	if d := pcfg.Set(ctx, &providerModel{SSH: types.ObjectValueMust(optTypes, opts)}); d.HasError() {
		b.Fatal(d)
	}
	pdv, _ := tfprotov6.NewDynamicValue(pschema.Type().TerraformType(ctx), pcfg.Raw)
	if resp, err := server.ConfigureProvider(ctx, &tfprotov6.ConfigureProviderRequest{Config: &pdv}); err != nil || len(resp.Diagnostics) > 0 {
		b.Fatal(err, resp.Diagnostics)
	}

	// A resource as state and config hold it after an apply.
	r := newHostSysctlResource()
	var sresp resource.SchemaResponse
	r.Schema(ctx, resource.SchemaRequest{}, &sresp)
	rtype := sresp.Schema.Type().TerraformType(ctx)
	sshVals := map[string]attr.Value{}
	for name, t := range sshAttrTypes() {
		sshVals[name] = nullOf(t)
	}
	sshVals["host"] = types.StringValue(h.Address)
	live := acctest.Hosts(b)[len(acctest.Hosts(b))-1].InHost(b, "cat /proc/sys/net/ipv4/tcp_syn_retries")
	settings := map[string]string{"net.ipv4.tcp_syn_retries": live}
	file := "/etc/sysctl.d/92-rpc-bench.conf"
	h.InHost(b, "printf '%s' '"+string(sysctl.Render(settings))+"' > "+file)
	b.Cleanup(func() { h.InHost(b, "rm -f "+file) })
	model := hostSysctlModel{
		ID:                  types.StringValue(h.Address + ":" + file),
		SSH:                 types.ObjectValueMust(sshAttrTypes(), sshVals),
		Settings:            types.MapValueMust(types.StringType, map[string]attr.Value{"net.ipv4.tcp_syn_retries": types.StringValue(live)}),
		File:                types.StringValue(file),
		Content:             types.StringValue(string(sysctl.Render(settings))),
		PreviousValues:      types.MapValueMust(types.StringType, map[string]attr.Value{"net.ipv4.tcp_syn_retries": types.StringValue(live)}),
		PreviousFileContent: types.StringNull(),
		Timeouts:            timeouts.Value{Object: types.ObjectNull(map[string]attr.Type{"create": types.StringType, "read": types.StringType, "update": types.StringType, "delete": types.StringType})},
	}
	state := tfsdk.State{Schema: sresp.Schema, Raw: tftypes.NewValue(rtype, nil)}
	if d := state.Set(ctx, &model); d.HasError() {
		b.Fatal(d)
	}
	dv, _ := tfprotov6.NewDynamicValue(rtype, state.Raw)
	cfgModel := model
	cfgModel.ID, cfgModel.Content, cfgModel.PreviousFileContent = types.StringNull(), types.StringNull(), types.StringNull()
	cfgModel.PreviousValues = types.MapNull(types.StringType)
	config := tfsdk.State{Schema: sresp.Schema, Raw: tftypes.NewValue(rtype, nil)}
	if d := config.Set(ctx, &cfgModel); d.HasError() {
		b.Fatal(d)
	}
	cdv, _ := tfprotov6.NewDynamicValue(rtype, config.Raw)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j := 0; j < 2; j++ {
			v, err := server.ValidateResourceConfig(ctx, &tfprotov6.ValidateResourceConfigRequest{TypeName: "mcpai_host_sysctl", Config: &cdv})
			if err != nil || len(v.Diagnostics) > 0 {
				for _, d := range v.Diagnostics {
					b.Log(d.Summary, d.Detail, d.Attribute)
				}
				b.Fatal(err)
			}
		}
		read, err := server.ReadResource(ctx, &tfprotov6.ReadResourceRequest{TypeName: "mcpai_host_sysctl", CurrentState: &dv})
		if err != nil || len(read.Diagnostics) > 0 {
			b.Fatal(err, read.Diagnostics)
		}
		plan, err := server.PlanResourceChange(ctx, &tfprotov6.PlanResourceChangeRequest{TypeName: "mcpai_host_sysctl", PriorState: read.NewState, ProposedNewState: read.NewState, Config: &cdv})
		if err != nil || len(plan.Diagnostics) > 0 {
			b.Fatal(err, plan.Diagnostics)
		}
	}
}

func nullOf(t attr.Type) attr.Value {
	switch t {
	case types.StringType:
		return types.StringNull()
	case types.Int64Type:
		return types.Int64Null()
	case types.BoolType:
		return types.BoolNull()
	}
	return types.ObjectNull(t.(types.ObjectType).AttrTypes)
}

func providerSchema(ctx context.Context) pschemaT {
	var resp providerSchemaResponse
	(&mcpaiProvider{}).Schema(ctx, providerSchemaRequest{}, &resp)
	return resp.Schema
}

type (
	pschemaT               = pschemapkg.Schema
	providerSchemaResponse = provider.SchemaResponse
	providerSchemaRequest  = provider.SchemaRequest
)
