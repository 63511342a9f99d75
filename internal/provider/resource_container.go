package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"

	"github.com/mcpai/terraform-provider-mcpai/internal/modelrunner"
)

// mcpai_container: a general long-running container (an API service, a
// reverse proxy), with the operations both container resources share
// (resource_container_ops.go) and no server kind, tuning attributes or
// GPUs. Its model is the shared containerModel.

func (*containerModel) schema(ctx context.Context) schema.Schema {
	return schema.Schema{
		MarkdownDescription: "A long-running container (an API service, a reverse proxy such as Traefik), created through the Docker Engine API " +
			"(over an SSH tunnel to the host's socket, or `docker_host`). Create and every update wait until the container is ready: " +
			"`health_path` answers 2xx, else the image's HEALTHCHECK turns healthy, else it is still running " + generalSettle.String() +
			" after it starts; the wait stops at once, with the container's last log lines, when it exits or turns unhealthy. " +
			"A failed start leaves nothing behind: a new container is removed, a replaced one is put back. " +
			"Resources and the restart policy change in place; anything else replaces the container.",
		Attributes: containerAttributes(ctx, nil),
	}
}

func (m *containerModel) validate(ctx context.Context, config tfsdk.Config, diags *diag.Diagnostics) {
	validateContainer(ctx, config, m, diags)
}

func newContainerResource() resource.Resource {
	return &containerResource[containerModel, *containerModel]{owner: modelrunner.General}
}
