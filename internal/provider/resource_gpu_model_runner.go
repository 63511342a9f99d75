package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"

	"github.com/mcpai/terraform-provider-mcpai/internal/modelrunner"
)

// mcpai_gpu_model_runner: the shared container operations
// (resource_container_ops.go) over the model runner's model, whose schema
// (resource_gpu_model_runner_schema.go) adds the GPU and inference attributes.

func newModelRunnerResource() resource.Resource {
	return &containerResource[modelRunnerModel, *modelRunnerModel]{owner: modelrunner.ModelRunner}
}

func (*modelRunnerModel) schema(ctx context.Context) schema.Schema { return modelRunnerSchema(ctx) }

// validate adds the server kind's checks: knobs it cannot honour, flags
// and variables the knobs also set, the GPU request.
func (m *modelRunnerModel) validate(ctx context.Context, config tfsdk.Config, diags *diag.Diagnostics) {
	command, env, known := validateContainer(ctx, config, &m.containerModel, diags)
	if m.Server.IsUnknown() {
		return
	}
	knobs := m.knobs(&known)
	server := modelrunner.Server(m.Server.ValueString())
	rendered, probs := modelrunner.Render(server, knobs)
	if known && len(probs) == 0 {
		probs = modelrunner.Conflicts(rendered, command, env)
	}
	for _, p := range probs {
		diags.AddAttributeError(problemPath(p), p.Summary, p.Detail)
	}
	if !m.GPUDriver.IsUnknown() {
		if _, _, err := gpusFromDynamic(m.GPUs, m.GPUDriver.ValueString()); err != nil {
			diags.AddAttributeError(path.Root("gpus"), "Invalid GPU Request", err.Error()+".")
		}
	}
	if server == modelrunner.Custom && m.HealthPath.IsNull() {
		diags.AddAttributeWarning(path.Root("health_path"), "No Readiness Endpoint",
			"server = \"custom\" has no known readiness endpoint: readiness is the image's HEALTHCHECK or, without one, the container running. "+
				"Set health_path (and health_port) to wait until your server answers.")
	}
}
