package provider

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/float64validator"
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

// The schema of mcpai_gpu_model_runner, and its model.

const (
	strategyRecreate   = "recreate"
	strategyStartFirst = "start_first"
	defaultDockerSock  = "/var/run/docker.sock"
)

type modelRunnerModel struct {
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
	GPUs              types.Dynamic  `tfsdk:"gpus"`
	GPUDriver         types.String   `tfsdk:"gpu_driver"`
	Server            types.String   `tfsdk:"server"`
	GPUMemoryFraction types.Float64  `tfsdk:"gpu_memory_fraction"`
	AllowTF32         types.Bool     `tfsdk:"allow_tf32"`
	Dtype             types.String   `tfsdk:"dtype"`
	Quantization      types.String   `tfsdk:"quantization"`
	MaxBatchSize      types.Int64    `tfsdk:"max_batch_size"`
	TensorParallel    types.Int64    `tfsdk:"tensor_parallel"`
	TorchCompileMode  types.String   `tfsdk:"torch_compile_mode"`
	CUDAAllocConf     types.String   `tfsdk:"cuda_alloc_conf"`
	PythonMalloc      types.String   `tfsdk:"python_malloc"`
	MallocArenaMax    types.Int64    `tfsdk:"malloc_arena_max"`
	HealthPath        types.String   `tfsdk:"health_path"`
	HealthPort        types.Int64    `tfsdk:"health_port"`
	UpdateStrategy    types.String   `tfsdk:"update_strategy"`
	State             types.String   `tfsdk:"state"`
	Health            types.String   `tfsdk:"health"`
	ImageID           types.String   `tfsdk:"image_id"`
	ImageDigest       types.String   `tfsdk:"image_digest"`
	GPUIDs            types.List     `tfsdk:"gpu_ids"`
	Timeouts          timeouts.Value `tfsdk:"timeouts"`
}

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

func modelRunnerSchema(ctx context.Context) schema.Schema {
	strList := func(desc string) schema.ListAttribute {
		return schema.ListAttribute{
			MarkdownDescription: desc, Optional: true, ElementType: types.StringType,
			Validators: []validator.List{listvalidator.SizeAtLeast(1)},
		}
	}
	computed := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{MarkdownDescription: desc, Computed: true}
	}
	size := sizeValidator{}
	var contract strings.Builder
	for _, v := range modelrunner.CustomContract() {
		fmt.Fprintf(&contract, "`%s` (from `%s`: %s); ", v.Name, v.Attr, v.Meaning)
	}
	return schema.Schema{
		MarkdownDescription: "An inference server (vLLM, TGI, Triton, Ollama or your own) as a GPU container, created through the Docker Engine API " +
			"(over an SSH tunnel to the host's socket, or `docker_host`). The guide's tuning attributes become the server's own flags or environment. " +
			"Create and every update wait until the server answers its readiness endpoint (or the image's HEALTHCHECK), and stop waiting at once, " +
			"with the container's last log lines, when it exits or turns unhealthy. A failed start leaves nothing behind: a new container is removed, " +
			"a replaced one is put back. Resources and the restart policy change in place; anything else replaces the container.",
		Attributes: map[string]schema.Attribute{
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
				MarkdownDescription: "The image, e.g. `vllm/vllm-openai:v0.6.3`. Pulled, with progress in the log, when the host does not have it.",
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
			"entrypoint": strList("Overrides the image's entrypoint, as arguments."),
			"command":    strList("Arguments after the entrypoint (e.g. vLLM's `[\"--model\", \"meta-llama/Llama-3.1-8B-Instruct\"]`). The tuning attributes' flags are appended; when `command` is unset they follow the image's CMD. A flag that a tuning attribute also sets is refused."),
			"env": schema.MapAttribute{
				MarkdownDescription: "Environment variables. A variable that a tuning attribute also sets is refused.",
				Optional:            true,
				ElementType:         types.StringType,
			},
			"sensitive_env": schema.MapAttribute{
				MarkdownDescription: "Environment variables holding secrets (e.g. `HF_TOKEN`): passed like `env`, but hidden in plans and logs. They are still in the state, as every value Terraform manages, and in `docker inspect` on the host.",
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
				MarkdownDescription: "Mounts: a host path (absolute `source`) or a named volume, e.g. the model cache. Named volumes are kept when the container is replaced or destroyed.",
				Optional:            true,
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"source":    schema.StringAttribute{MarkdownDescription: "Host path or volume name.", Required: true, Validators: []validator.String{stringvalidator.RegexMatches(volumeSourceRE, "must be an absolute path or a volume name")}},
					"target":    schema.StringAttribute{MarkdownDescription: "Path in the container.", Required: true, Validators: []validator.String{stringvalidator.RegexMatches(absPathRE, "must be an absolute path")}},
					"read_only": schema.BoolAttribute{MarkdownDescription: "Mount read-only. Default `false`.", Optional: true, Computed: true, Default: booldefault.StaticBool(false)},
				}},
			},
			"network_mode": engineDefaulted("`bridge`, `host`, `none` or a network's name. Unset: the engine's default (or the first of `networks`)."),
			"networks":     strList("User-defined networks to join (they must exist)."),
			"labels": schema.MapAttribute{
				MarkdownDescription: "Container labels. The resource adds `" + modelrunner.LabelManagedBy + "` and `" + modelrunner.LabelServer + "`.",
				Optional:            true,
				ElementType:         types.StringType,
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
			"memory":             knobString("Memory limit, e.g. `64g` (units b, k, m, g, t: powers of 1024). Changes in place (swap follows at twice the limit).", size),
			"memory_reservation": knobString("Memory soft limit, e.g. `48g`. Changes in place.", size),
			"cpus":               knobString("CPUs the container may use, e.g. `8` or `7.5`. Changes in place.", stringCheck{"Invalid CPUs", "must be a positive number such as 8 or 7.5", checkCPUs}),
			"cpuset":             knobString("CPUs to pin the container to, e.g. `0-15` (the GPU's NUMA node). Changes in place.", stringCheck{"Invalid CPU Set", "must be a CPU list such as 0-7,16-23", checkCPUList}),
			"shm_size":           engineDefaulted("Size of /dev/shm, e.g. `16g` (PyTorch's data loaders and NCCL need more than the 64m default). Unset: the engine's default.", size),
			"ipc_mode":           engineDefaulted("IPC namespace: `private`, `shareable` or `host` (an alternative to a large `shm_size`)."),
			"runtime":            engineDefaulted("OCI runtime, e.g. `nvidia` when the toolkit registered one. Unset: the daemon's default. GPUs do not need it: `gpus` asks the engine's device driver."),
			"ulimits": schema.ListNestedAttribute{
				MarkdownDescription: "Resource limits of the container's processes, e.g. `memlock` = -1 and `stack` = 67108864 as NVIDIA recommends for PyTorch.",
				Optional:            true,
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"name": schema.StringAttribute{MarkdownDescription: "Limit name, e.g. `nofile`, `memlock`, `stack`.", Required: true, Validators: []validator.String{stringvalidator.OneOf(ulimitNames...)}},
					"soft": schema.Int64Attribute{MarkdownDescription: "Soft limit; -1 for unlimited.", Required: true, Validators: []validator.Int64{int64validator.AtLeast(-1)}},
					"hard": schema.Int64Attribute{MarkdownDescription: "Hard limit; -1 for unlimited.", Required: true, Validators: []validator.Int64{int64validator.AtLeast(-1)}},
				}},
			},
			"gpus": schema.DynamicAttribute{
				MarkdownDescription: "GPUs for the container: `\"all\"`, a count (`2`: Docker hands out GPUs 0 and 1; it does not schedule, so two containers asking for 1 both get GPU 0), " +
					"or a list of device ids (`[\"0\", \"2\"]`, or UUIDs `[\"GPU-4f...\"]`). Becomes a `DeviceRequest` for the nvidia driver with the `gpu` capability, as `docker run --gpus`. " +
					"Before anything is created, the engine must report an NVIDIA runtime or CDI GPU devices.",
				Optional: true,
			},
			"gpu_driver": schema.StringAttribute{
				MarkdownDescription: "`nvidia` (default: the NVIDIA Container Toolkit, as `--gpus`) or `cdi` (CDI device names, as `--device nvidia.com/gpu=0`; bare ids get the `nvidia.com/gpu=` prefix; needs Docker 25+ with CDI on).",
				Optional:            true,
				Computed:            true,
				Default:             stringdefault.StaticString(modelrunner.DriverNVIDIA),
				Validators:          []validator.String{stringvalidator.OneOf(modelrunner.DriverNVIDIA, modelrunner.DriverCDI)},
			},
			"server": schema.StringAttribute{
				MarkdownDescription: "The server kind: `vllm`, `tgi`, `triton`, `ollama` or `custom`. Decides what the tuning attributes become and the default readiness endpoint " +
					"(vLLM `/health` on 8000, TGI `/health` on 80, Triton `/v2/health/ready` on 8000, Ollama `/` on 11434). A tuning attribute the kind cannot honour is an error at plan time. " +
					"`custom` passes them as environment variables for your image to read: " + strings.TrimSuffix(contract.String(), "; ") + ".",
				Required:   true,
				Validators: []validator.String{stringvalidator.OneOf(modelrunner.Servers()...)},
			},
			modelrunner.AttrGPUMemoryFraction: schema.Float64Attribute{
				MarkdownDescription: "Fraction of GPU memory the server may use, in (0, 1]: vLLM `--gpu-memory-utilization`, TGI `--cuda-memory-fraction`.",
				Optional:            true,
				Validators:          []validator.Float64{float64validator.Between(0.01, 1)},
			},
			modelrunner.AttrAllowTF32: schema.BoolAttribute{
				MarkdownDescription: "TF32 matmuls. `false`: `NVIDIA_TF32_OVERRIDE=0` (honoured by cuBLAS and cuDNN in any CUDA program). `true`: `TORCH_ALLOW_TF32_CUBLAS_OVERRIDE=1` (PyTorch servers only).",
				Optional:            true,
			},
			modelrunner.AttrDtype:        knobString("Precision (the guide's mixed precision): vLLM `--dtype` (auto, half, float16, bfloat16, float, float32), TGI `--dtype` (float16, bfloat16)."),
			modelrunner.AttrQuantization: knobString("Quantization method: vLLM `--quantization`, TGI `--quantize` (e.g. awq, gptq, fp8, bitsandbytes)."),
			modelrunner.AttrMaxBatchSize: schema.Int64Attribute{
				MarkdownDescription: "Batched inference: vLLM `--max-num-seqs`, TGI `--max-batch-size`, Ollama `OLLAMA_NUM_PARALLEL`.",
				Optional:            true,
				Validators:          []validator.Int64{int64validator.AtLeast(1)},
			},
			modelrunner.AttrTensorParallel: schema.Int64Attribute{
				MarkdownDescription: "GPUs one model is split across: vLLM `--tensor-parallel-size`, TGI `--num-shard`.",
				Optional:            true,
				Validators:          []validator.Int64{int64validator.AtLeast(1)},
			},
			modelrunner.AttrTorchCompileMode: knobString("torch.compile mode (`custom` only: `MCPAI_TORCH_COMPILE_MODE`): default, reduce-overhead, max-autotune, max-autotune-no-cudagraphs."),
			modelrunner.AttrCUDAAllocConf:    knobString("PyTorch's CUDA allocator settings, `PYTORCH_CUDA_ALLOC_CONF`, e.g. `expandable_segments:True`."),
			modelrunner.AttrPythonMalloc:     knobString("CPython's allocator, `PYTHONMALLOC` (e.g. `malloc`, so that `MALLOC_ARENA_MAX` governs it)."),
			modelrunner.AttrMallocArenaMax: schema.Int64Attribute{
				MarkdownDescription: "glibc malloc arenas, `MALLOC_ARENA_MAX` (e.g. 2 to curb resident memory growth in many-threaded servers).",
				Optional:            true,
				Validators:          []validator.Int64{int64validator.AtLeast(1)},
			},
			"health_path": schema.StringAttribute{
				MarkdownDescription: "HTTP path that answers 2xx when the server is ready. Default: the server kind's. With `custom` and none, readiness is the image's HEALTHCHECK, or else the container running.",
				Optional:            true,
				Validators:          []validator.String{stringvalidator.RegexMatches(httpPathRE, "must be a path starting with /")},
			},
			"health_port": schema.Int64Attribute{
				MarkdownDescription: "Container port of `health_path`. Default: the server kind's (8000 for custom).",
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
			"gpu_ids": schema.ListAttribute{
				MarkdownDescription: "The GPUs the engine hands the container: the ids given, `all`, or for a count indexes 0 to count-1.",
				Computed:            true,
				ElementType:         types.StringType,
			},
			"timeouts": timeouts.Attributes(ctx, timeouts.Opts{Create: true, Read: true, Update: true, Delete: true}),
		},
	}
}

// ulimitNames are the limits Docker accepts.
var ulimitNames = []string{"core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack"}
