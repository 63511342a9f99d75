package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/mcpai/terraform-provider-mcpai/internal/modelrunner"
)

// The attributes both container resources have (mcpai_container's whole
// schema), and their model.

const (
	strategyRecreate   = "recreate"
	strategyStartFirst = "start_first"
	defaultDockerSock  = "/var/run/docker.sock"
	defaultHealthPort  = 8000
)

type containerModel struct {
	ID                types.String   `tfsdk:"id"`
	SSH               types.Object   `tfsdk:"ssh"`
	DockerHost        types.String   `tfsdk:"docker_host"`
	DockerSocket      types.String   `tfsdk:"docker_socket"`
	Name              types.String   `tfsdk:"name"`
	Image             types.String   `tfsdk:"image"`
	RegistryAuth      types.Object   `tfsdk:"registry_auth"`
	Entrypoint        types.List     `tfsdk:"entrypoint"`
	Command           types.List     `tfsdk:"command"`
	Env               types.Map      `tfsdk:"env"`
	SensitiveEnv      types.Map      `tfsdk:"sensitive_env"`
	Ports             types.List     `tfsdk:"ports"`
	Volumes           types.List     `tfsdk:"volumes"`
	NetworkMode       types.String   `tfsdk:"network_mode"`
	Networks          types.List     `tfsdk:"networks"`
	Labels            types.Map      `tfsdk:"labels"`
	RestartPolicy     types.String   `tfsdk:"restart_policy"`
	MaxRetryCount     types.Int64    `tfsdk:"max_retry_count"`
	LogDriver         types.String   `tfsdk:"log_driver"`
	LogOpts           types.Map      `tfsdk:"log_opts"`
	Memory            types.String   `tfsdk:"memory"`
	MemoryReservation types.String   `tfsdk:"memory_reservation"`
	CPUs              types.String   `tfsdk:"cpus"`
	Cpuset            types.String   `tfsdk:"cpuset"`
	ShmSize           types.String   `tfsdk:"shm_size"`
	IpcMode           types.String   `tfsdk:"ipc_mode"`
	Runtime           types.String   `tfsdk:"runtime"`
	Ulimits           types.List     `tfsdk:"ulimits"`
	HealthPath        types.String   `tfsdk:"health_path"`
	HealthPort        types.Int64    `tfsdk:"health_port"`
	UpdateStrategy    types.String   `tfsdk:"update_strategy"`
	State             types.String   `tfsdk:"state"`
	Health            types.String   `tfsdk:"health"`
	ImageID           types.String   `tfsdk:"image_id"`
	ImageDigest       types.String   `tfsdk:"image_digest"`
	Timeouts          timeouts.Value `tfsdk:"timeouts"`
}

func (m *containerModel) timeoutsBlock() timeouts.Value { return m.Timeouts }

type portModel struct {
	ContainerPort types.Int64  `tfsdk:"container_port"`
	HostPort      types.Int64  `tfsdk:"host_port"`
	HostIP        types.String `tfsdk:"host_ip"`
	Protocol      types.String `tfsdk:"protocol"`
}

type volumeModel struct {
	Source   types.String `tfsdk:"source"`
	Target   types.String `tfsdk:"target"`
	ReadOnly types.Bool   `tfsdk:"read_only"`
}

type ulimitModel struct {
	Name types.String `tfsdk:"name"`
	Soft types.Int64  `tfsdk:"soft"`
	Hard types.Int64  `tfsdk:"hard"`
}

type registryAuthModel struct {
	Username      types.String `tfsdk:"username"`
	Password      types.String `tfsdk:"password"`
	ServerAddress types.String `tfsdk:"server_address"`
}

var (
	portAttrTypes   = map[string]attr.Type{"container_port": types.Int64Type, "host_port": types.Int64Type, "host_ip": types.StringType, "protocol": types.StringType}
	volumeAttrTypes = map[string]attr.Type{"source": types.StringType, "target": types.StringType, "read_only": types.BoolType}
	ulimitAttrTypes = map[string]attr.Type{"name": types.StringType, "soft": types.Int64Type, "hard": types.Int64Type}
)

// engineDefaulted: the engine picks a value when the configuration has
// none; that value is kept from state rather than shown as a change.
func engineDefaulted(desc string, validators ...validator.String) schema.StringAttribute {
	return schema.StringAttribute{
		MarkdownDescription: desc + " Removing it from the configuration keeps the container's value until the container is next replaced, which then gets the engine's default.",
		Optional:            true,
		Computed:            true,
		PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
		Validators:          validators,
	}
}

func knobString(desc string, validators ...validator.String) schema.StringAttribute {
	return schema.StringAttribute{MarkdownDescription: desc, Optional: true, Validators: validators}
}

// containerAttributes are the shared attributes; docs replaces the
// descriptions of those a resource describes in its own terms.
func containerAttributes(ctx context.Context, docs map[string]string) map[string]schema.Attribute {
	doc := func(name, generic string) string {
		if d, ok := docs[name]; ok {
			return d
		}
		return generic
	}
	strList := func(name, desc string) schema.ListAttribute {
		return schema.ListAttribute{
			MarkdownDescription: doc(name, desc), Optional: true, ElementType: types.StringType,
			Validators: []validator.List{listvalidator.SizeAtLeast(1)},
		}
	}
	computed := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{MarkdownDescription: desc, Computed: true}
	}
	size := sizeValidator{}
	return map[string]schema.Attribute{
		"id": schema.StringAttribute{
			MarkdownDescription: "The container's id. It changes when the container is replaced.",
			Computed:            true,
		},
		"ssh": optionalSSHAttribute("The Docker host over SSH: the Engine API is reached through a tunnel to `docker_socket`, and readiness probes go through the same connection. Exactly one of `ssh` and `docker_host`."),
		"docker_host": schema.StringAttribute{
			MarkdownDescription: "Instead of `ssh`: the engine's URL, `unix:///var/run/docker.sock` or `tcp://host:port`, reached from where Terraform runs. Readiness probes then dial the container's address directly, so Terraform must run where the container network is reachable (usually on the Docker host).",
			Optional:            true,
			Validators:          []validator.String{stringCheck{"Invalid Docker Host", "must be unix:///path or tcp://host:port", checkDockerHost}},
			PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
		},
		"docker_socket": schema.StringAttribute{
			MarkdownDescription: "With `ssh`: the engine's socket on the host. Default `" + defaultDockerSock + "`.",
			Optional:            true,
			Computed:            true,
			Default:             stringdefault.StaticString(defaultDockerSock),
			Validators:          []validator.String{stringvalidator.RegexMatches(absPathRE, "must be an absolute path")},
		},
		"name": schema.StringAttribute{
			MarkdownDescription: "The container's name. Changing it replaces the container.",
			Required:            true,
			Validators:          []validator.String{stringvalidator.RegexMatches(containerNameRE, "must start with a letter or digit and hold only letters, digits, _ . -")},
			PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
		},
		"image": schema.StringAttribute{
			MarkdownDescription: doc("image", "The image, e.g. `traefik:v3.1`. Pulled, with progress in the log, when the host does not have it."),
			Required:            true,
			Validators:          []validator.String{stringvalidator.LengthAtLeast(1)},
		},
		"registry_auth": schema.SingleNestedAttribute{
			MarkdownDescription: "Credentials for pulling `image` from a private registry. Sent to the engine only for the pull; never logged.",
			Optional:            true,
			Sensitive:           true,
			Attributes: map[string]schema.Attribute{
				"username":       schema.StringAttribute{MarkdownDescription: "Registry user.", Required: true},
				"password":       schema.StringAttribute{MarkdownDescription: "Registry password or token.", Required: true, Sensitive: true},
				"server_address": schema.StringAttribute{MarkdownDescription: "Registry address; default: the image's registry.", Optional: true},
			},
		},
		"entrypoint": schema.ListAttribute{
			MarkdownDescription: doc("entrypoint", "Overrides the image's entrypoint, as arguments: the first is the program."), Optional: true, ElementType: types.StringType,
			Validators: []validator.List{listvalidator.SizeAtLeast(1), programValidator{}},
		},
		"command": strList("command", "Arguments after the entrypoint (e.g. `[\"uvicorn\", \"app.main:app\", \"--host\", \"0.0.0.0\"]`). Unset: the image's CMD."),
		"env": schema.MapAttribute{
			MarkdownDescription: doc("env", "Environment variables."),
			Optional:            true,
			ElementType:         types.StringType,
		},
		"sensitive_env": schema.MapAttribute{
			MarkdownDescription: doc("sensitive_env", "Environment variables holding secrets (e.g. a database password): passed like `env`, but hidden in plans and logs. They are still in the state, as every value Terraform manages, and in `docker inspect` on the host."),
			Optional:            true,
			Sensitive:           true,
			ElementType:         types.StringType,
		},
		"ports": schema.ListNestedAttribute{
			MarkdownDescription: "Published ports.",
			Optional:            true,
			NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
				"container_port": schema.Int64Attribute{MarkdownDescription: "Port in the container.", Required: true, Validators: []validator.Int64{int64validator.Between(1, 65535)}},
				"host_port":      schema.Int64Attribute{MarkdownDescription: "Port on the host; unset: the engine picks one.", Optional: true, Validators: []validator.Int64{int64validator.Between(1, 65535)}},
				"host_ip":        schema.StringAttribute{MarkdownDescription: "Host address to bind, e.g. `127.0.0.1`; unset: all.", Optional: true, Validators: []validator.String{stringCheck{"Invalid Address", "must be an IP address", checkIP}}},
				"protocol": schema.StringAttribute{MarkdownDescription: "`tcp` (default) or `udp`.", Optional: true, Computed: true, Default: stringdefault.StaticString("tcp"),
					Validators: []validator.String{stringvalidator.OneOf("tcp", "udp")}},
			}},
		},
		"volumes": schema.ListNestedAttribute{
			MarkdownDescription: doc("volumes", "Mounts: a host path (absolute `source`) or a named volume. Named volumes are kept when the container is replaced or destroyed."),
			Optional:            true,
			NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
				"source":    schema.StringAttribute{MarkdownDescription: "Host path or volume name.", Required: true, Validators: []validator.String{stringvalidator.RegexMatches(volumeSourceRE, "must be an absolute path without ':' or a volume name")}},
				"target":    schema.StringAttribute{MarkdownDescription: "Path in the container.", Required: true, Validators: []validator.String{stringvalidator.RegexMatches(volumeTargetRE, "must be an absolute path without ':' (Docker would read what follows as mount options)")}},
				"read_only": schema.BoolAttribute{MarkdownDescription: "Mount read-only. Default `false`.", Optional: true, Computed: true, Default: booldefault.StaticBool(false)},
			}},
		},
		"network_mode": engineDefaulted("`bridge`, `host`, `none` or a network's name. Unset: the engine's default (or the first of `networks`)."),
		"networks":     strList("networks", "User-defined networks to join (they must exist)."),
		"labels": schema.MapAttribute{
			MarkdownDescription: doc("labels", fmt.Sprintf("Container labels. The resource adds `%s` and `%s` = `%s`, which say that it made the container; "+
				"labels of those names, and `%s` (a model runner's), are refused.", modelrunner.LabelManagedBy, modelrunner.LabelKind, modelrunner.KindGeneral, modelrunner.LabelServer)),
			Optional:    true,
			ElementType: types.StringType,
		},
		"restart_policy": schema.StringAttribute{
			MarkdownDescription: "`no`, `always`, `unless-stopped` (default) or `on-failure`. Changes in place.",
			Optional:            true,
			Computed:            true,
			Default:             stringdefault.StaticString("unless-stopped"),
			Validators:          []validator.String{stringvalidator.OneOf("no", "always", "unless-stopped", "on-failure")},
		},
		"max_retry_count": schema.Int64Attribute{
			MarkdownDescription: "With `on-failure`: restarts before giving up. Default 0 (no limit).",
			Optional:            true,
			Computed:            true,
			Default:             int64default.StaticInt64(0),
			Validators:          []validator.Int64{int64validator.AtLeast(0)},
		},
		"log_driver": engineDefaulted("Logging driver; unset: the daemon's default."),
		"log_opts": schema.MapAttribute{
			MarkdownDescription: "Logging driver options, e.g. `max-size = \"100m\"`.",
			Optional:            true,
			ElementType:         types.StringType,
		},
		"memory":             knobString(doc("memory", "Memory limit, e.g. `2g` (units b, k, m, g, t: powers of 1024). Changes in place (swap follows at twice the limit)."), size),
		"memory_reservation": knobString(doc("memory_reservation", "Memory soft limit, e.g. `1g`. Changes in place."), size),
		"cpus":               knobString("CPUs the container may use, e.g. `8` or `7.5`. Changes in place.", stringCheck{"Invalid CPUs", "must be a positive number such as 8 or 7.5", checkCPUs}),
		"cpuset":             knobString(doc("cpuset", "CPUs to pin the container to, e.g. `0-3`. Changes in place."), stringCheck{"Invalid CPU Set", "must be a CPU list such as 0-7,16-23", checkCPUList}),
		"shm_size":           engineDefaulted(doc("shm_size", "Size of /dev/shm, e.g. `256m`. Unset: the engine's default."), size),
		"ipc_mode":           engineDefaulted("IPC namespace: `private`, `shareable` or `host` (an alternative to a large `shm_size`)."),
		"runtime":            engineDefaulted(doc("runtime", "OCI runtime, e.g. `runsc` where gVisor is registered. Unset: the daemon's default.")),
		"ulimits": schema.ListNestedAttribute{
			MarkdownDescription: doc("ulimits", "Resource limits of the container's processes, e.g. `nofile` = 65535 for a proxy holding many connections."),
			Optional:            true,
			NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
				"name": schema.StringAttribute{MarkdownDescription: "Limit name, e.g. `nofile`, `memlock`, `stack`.", Required: true, Validators: []validator.String{stringvalidator.OneOf(ulimitNames...)}},
				"soft": schema.Int64Attribute{MarkdownDescription: "Soft limit; -1 for unlimited.", Required: true, Validators: []validator.Int64{int64validator.AtLeast(-1)}},
				"hard": schema.Int64Attribute{MarkdownDescription: "Hard limit; -1 for unlimited.", Required: true, Validators: []validator.Int64{int64validator.AtLeast(-1)}},
			}},
		},
		"health_path": schema.StringAttribute{
			MarkdownDescription: doc("health_path", fmt.Sprintf("HTTP path that answers 2xx when the service is ready, e.g. the API's `/health` or Traefik's `/ping` (with `--ping`). "+
				"Unset: the image's HEALTHCHECK must turn healthy or, without one, the container must still be running %s after it starts.", generalSettle)),
			Optional:   true,
			Validators: []validator.String{stringvalidator.RegexMatches(httpPathRE, "must be a path starting with /")},
		},
		"health_port": schema.Int64Attribute{
			MarkdownDescription: doc("health_port", fmt.Sprintf("Container port of `health_path`. Default %d.", defaultHealthPort)),
			Optional:            true,
			Validators:          []validator.Int64{int64validator.Between(1, 65535)},
		},
		"update_strategy": schema.StringAttribute{
			MarkdownDescription: "How a change that needs a new container is made. `recreate` (default): the old one is stopped, the new one started; if it does not become ready, the old one is started again. " +
				"`start_first`: the new one starts (under a temporary name) and must be ready before the old one is removed, so the service never stops; " +
				"when the two would publish the same host port, it falls back to `recreate`, with a warning at plan time.",
			Optional:   true,
			Computed:   true,
			Default:    stringdefault.StaticString(strategyRecreate),
			Validators: []validator.String{stringvalidator.OneOf(strategyRecreate, strategyStartFirst)},
		},
		"state":        computed("The container's state as the engine reports it (`running`, `exited`, ...). Anything but `running` shows as a change that starts it."),
		"health":       computed("The image HEALTHCHECK's status (`healthy`, ...); empty without one."),
		"image_id":     computed("The id of the image the container runs."),
		"image_digest": computed("The repository digest of that image for `image`'s repository (`repo@sha256:...`); empty when the engine has none for it (an image built on a host with Docker's classic image store)."),
		"timeouts":     timeouts.Attributes(ctx, timeouts.Opts{Create: true, Read: true, Update: true, Delete: true}),
	}
}

// ulimitNames are the limits Docker accepts.
var ulimitNames = []string{"core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack"}
