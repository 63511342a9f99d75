package provider

import (
	"context"
	"fmt"
	"maps"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/float64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/mcpai/terraform-provider-mcpai/internal/modelrunner"
)

// The schema of mcpai_gpu_model_runner, and its model: the shared
// container attributes and the GPU and inference ones.

type modelRunnerModel struct {
	containerModel
	GPUs              types.Dynamic `tfsdk:"gpus"`
	GPUDriver         types.String  `tfsdk:"gpu_driver"`
	Server            types.String  `tfsdk:"server"`
	GPUMemoryFraction types.Float64 `tfsdk:"gpu_memory_fraction"`
	AllowTF32         types.Bool    `tfsdk:"allow_tf32"`
	Dtype             types.String  `tfsdk:"dtype"`
	Quantization      types.String  `tfsdk:"quantization"`
	MaxBatchSize      types.Int64   `tfsdk:"max_batch_size"`
	TensorParallel    types.Int64   `tfsdk:"tensor_parallel"`
	TorchCompileMode  types.String  `tfsdk:"torch_compile_mode"`
	CUDAAllocConf     types.String  `tfsdk:"cuda_alloc_conf"`
	PythonMalloc      types.String  `tfsdk:"python_malloc"`
	MallocArenaMax    types.Int64   `tfsdk:"malloc_arena_max"`
	GPUIDs            types.List    `tfsdk:"gpu_ids"`
}

// modelRunnerDocs describe the shared attributes in a model runner's terms.
var modelRunnerDocs = map[string]string{
	"image": "The image, e.g. `vllm/vllm-openai:v0.6.3`. Pulled, with progress in the log, when the host does not have it.",
	"command": "Arguments after the entrypoint (e.g. vLLM's `[\"--model\", \"meta-llama/Llama-3.1-8B-Instruct\"]`). The tuning attributes' flags are appended; " +
		"when `command` is unset they follow the image's CMD. A flag that a tuning attribute also sets is refused.",
	"env":           "Environment variables. A variable that a tuning attribute also sets is refused.",
	"sensitive_env": "Environment variables holding secrets (e.g. `HF_TOKEN`): passed like `env`, but hidden in plans and logs. They are still in the state, as every value Terraform manages, and in `docker inspect` on the host.",
	"volumes":       "Mounts: a host path (absolute `source`) or a named volume, e.g. the model cache. Named volumes are kept when the container is replaced or destroyed.",
	"labels": "Container labels. The resource adds `" + modelrunner.LabelManagedBy + "` and `" + modelrunner.LabelServer + "`; labels of those names with other values, " +
		"and `" + modelrunner.LabelKind + "` (a general container's), are refused.",
	"memory":             "Memory limit, e.g. `64g` (units b, k, m, g, t: powers of 1024). Changes in place (swap follows at twice the limit).",
	"memory_reservation": "Memory soft limit, e.g. `48g`. Changes in place.",
	"cpuset":             "CPUs to pin the container to, e.g. `0-15` (the GPU's NUMA node). Changes in place.",
	"shm_size":           "Size of /dev/shm, e.g. `16g` (PyTorch's data loaders and NCCL need more than the 64m default). Unset: the engine's default.",
	"runtime":            "OCI runtime, e.g. `nvidia` when the toolkit registered one. Unset: the daemon's default. GPUs do not need it: `gpus` asks the engine's device driver.",
	"ulimits":            "Resource limits of the container's processes, e.g. `memlock` = -1 and `stack` = 67108864 as NVIDIA recommends for PyTorch.",
	"health_path":        "HTTP path that answers 2xx when the server is ready. Default: the server kind's. With `custom` and none, readiness is the image's HEALTHCHECK, or else the container running.",
	"health_port":        "Container port of `health_path`. Default: the server kind's (8000 for custom).",
}

func modelRunnerSchema(ctx context.Context) schema.Schema {
	var contract strings.Builder
	for _, v := range modelrunner.CustomContract() {
		fmt.Fprintf(&contract, "`%s` (from `%s`: %s); ", v.Name, v.Attr, v.Meaning)
	}
	attrs := containerAttributes(ctx, modelRunnerDocs)
	maps.Copy(attrs, map[string]schema.Attribute{
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
		"gpu_ids": schema.ListAttribute{
			MarkdownDescription: "The GPUs the engine hands the container: the ids given, `all`, or for a count indexes 0 to count-1.",
			Computed:            true,
			ElementType:         types.StringType,
		},
	})
	return schema.Schema{
		MarkdownDescription: "An inference server (vLLM, TGI, Triton, Ollama or your own) as a GPU container, created through the Docker Engine API " +
			"(over an SSH tunnel to the host's socket, or `docker_host`). The guide's tuning attributes become the server's own flags or environment. " +
			"Create and every update wait until the server answers its readiness endpoint (or the image's HEALTHCHECK), and stop waiting at once, " +
			"with the container's last log lines, when it exits or turns unhealthy. A failed start leaves nothing behind: a new container is removed, " +
			"a replaced one is put back. Resources and the restart policy change in place; anything else replaces the container.",
		Attributes: attrs,
	}
}
