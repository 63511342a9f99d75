# Where it runs.

variable "host" {
  description = "Address (IP or DNS name) of the Docker host. Its Engine API is reached through an SSH tunnel with `ssh`, then the mcpai provider's ssh block."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9.:_-]+$", var.host))
    error_message = "host must be an IP address or DNS name."
  }
}

variable "ssh" {
  description = "How to reach the host(s) over SSH: the provider's `ssh` attributes except `host` (`user`, `port`, `private_key`, `private_key_passphrase`, `password`, `agent`, `known_hosts`, `host_key`, `insecure_ignore_host_key`, `sudo`, `timeout`, `bastion`). Unset attributes fall back to the provider block's `ssh`. Secrets in it are sensitive in the resources' plans."
  type = object({
    port                     = optional(number)
    user                     = optional(string)
    private_key              = optional(string)
    private_key_passphrase   = optional(string)
    password                 = optional(string)
    agent                    = optional(bool)
    known_hosts              = optional(string)
    host_key                 = optional(string)
    insecure_ignore_host_key = optional(bool)
    sudo                     = optional(bool)
    timeout                  = optional(string)
    bastion = optional(object({
      host                     = string
      port                     = optional(number)
      user                     = optional(string)
      private_key              = optional(string)
      private_key_passphrase   = optional(string)
      password                 = optional(string)
      agent                    = optional(bool)
      known_hosts              = optional(string)
      host_key                 = optional(string)
      insecure_ignore_host_key = optional(bool)
    }))
  })
  default  = {}
  nullable = false
}

variable "name" {
  description = "The container's name. Changing it replaces the container."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$", var.name))
    error_message = "name must start with a letter or digit and hold only letters, digits, _ . - (at most 128)."
  }
}

# What it runs.

variable "image" {
  description = "The server's image, e.g. vllm/vllm-openai:v0.6.3; pulled when the host does not have it."
  type        = string

  validation {
    condition     = length(var.image) > 0
    error_message = "image must not be empty."
  }
}

variable "server" {
  description = "The server kind: vllm, tgi, triton, ollama or custom. It decides what the tuning inputs become (the server's flags or environment; MCPAI_* variables for custom) and the readiness endpoint."
  type        = string

  validation {
    condition     = contains(["vllm", "tgi", "triton", "ollama", "custom"], var.server)
    error_message = "server must be one of vllm, tgi, triton, ollama or custom."
  }
}

variable "command" {
  description = "Arguments after the image's entrypoint, e.g. [\"--model\", \"meta-llama/Llama-3.1-8B-Instruct\"]; the tuning flags are appended. Empty: the image's CMD."
  type        = list(string)
  nullable    = false
  default     = []
}

variable "env" {
  description = "Environment variables. One that a tuning input also sets is refused."
  type        = map(string)
  nullable    = false
  default     = {}
}

variable "sensitive_env" {
  description = "Environment variables holding secrets (e.g. HF_TOKEN), hidden in plans and logs."
  type        = map(string)
  nullable    = false
  default     = {}
  sensitive   = true
}

variable "ports" {
  description = "Published ports: container_port, and optionally host_port (unset: the engine picks one), host_ip (e.g. 127.0.0.1) and protocol (tcp or udp)."
  type = list(object({
    container_port = number
    host_port      = optional(number)
    host_ip        = optional(string)
    protocol       = optional(string)
  }))
  nullable = false
  default  = []

  validation {
    condition = alltrue([for p in var.ports :
      p.container_port >= 1 && p.container_port <= 65535 && floor(p.container_port) == p.container_port &&
      (p.host_port == null ? true : p.host_port >= 1 && p.host_port <= 65535 && floor(p.host_port) == p.host_port) &&
      contains(["tcp", "udp"], coalesce(p.protocol, "tcp"))
    ])
    error_message = "ports must be whole numbers from 1 to 65535, with protocol tcp or udp."
  }
}

variable "volumes" {
  description = "Mounts, e.g. the model cache: source (an absolute host path or a named volume, which is kept when the container goes), target (path in the container) and read_only."
  type = list(object({
    source    = string
    target    = string
    read_only = optional(bool)
  }))
  nullable = false
  default  = []

  validation {
    condition     = alltrue([for v in var.volumes : can(regex("^(/[^:]*|[a-zA-Z0-9][a-zA-Z0-9_.-]*)$", v.source)) && startswith(v.target, "/")])
    error_message = "Each volume's source must be an absolute path or a volume name, and its target an absolute path."
  }
}

variable "gpus" {
  description = "GPUs for the container: \"all\", a count (Docker hands out GPUs 0 to count-1), or a list of device ids ([\"0\", \"2\"]); null for none."
  type        = any
  default     = "all"

  validation {
    condition = var.gpus == null ? true : (
      try(var.gpus == "all", false) ||
      try(tonumber(var.gpus) >= 1 && floor(tonumber(var.gpus)) == tonumber(var.gpus), false) ||
      try(length(var.gpus) > 0 && alltrue([for g in var.gpus : length(tostring(g)) > 0]), false)
    )
    error_message = "gpus must be \"all\", a whole number of 1 or more, or a non-empty list of device ids."
  }
}

variable "gpu_driver" {
  description = "nvidia (the NVIDIA Container Toolkit, as docker run --gpus) or cdi (CDI device names; Docker 25+)."
  type        = string
  default     = "nvidia"

  validation {
    condition     = contains(["nvidia", "cdi"], var.gpu_driver)
    error_message = "gpu_driver must be nvidia or cdi."
  }
}

variable "health_path" {
  description = "HTTP path that answers 2xx once the server is ready; null: the server kind's (vLLM and TGI /health, Triton /v2/health/ready, Ollama /). With custom and none, the image's HEALTHCHECK."
  type        = string
  default     = null

  validation {
    condition     = var.health_path == null ? true : can(regex("^/[\\x21-\\x7e]*$", var.health_path))
    error_message = "health_path must be a path starting with /."
  }
}

variable "health_port" {
  description = "Container port of health_path; null: the server kind's (vLLM, Triton and custom 8000, TGI 80, Ollama 11434)."
  type        = number
  default     = null

  validation {
    condition     = var.health_port == null ? true : var.health_port >= 1 && var.health_port <= 65535 && floor(var.health_port) == var.health_port
    error_message = "health_port must be a whole number from 1 to 65535."
  }
}

# The guide's container settings.

variable "shm_size" {
  description = "Size of /dev/shm (PyTorch's data loaders and NCCL need more than Docker's 64m), units b, k, m, g (powers of 1024)."
  type        = string
  default     = "16g"

  validation {
    condition     = can(regex("^[0-9]+(\\.[0-9]+)? ?[kKmMgGtTpP]?[iI]?[bB]?$", var.shm_size)) && can(regex("[1-9]", var.shm_size))
    error_message = "shm_size must be a size above 0, such as 16g or 512m."
  }
}

variable "ulimits" {
  description = "Limits of the container's processes; the guide's (as NVIDIA recommends for PyTorch): memlock unlimited, stack 64 MiB. -1 means unlimited."
  type = list(object({
    name = string
    soft = number
    hard = number
  }))
  nullable = false
  default = [
    { name = "memlock", soft = -1, hard = -1 },
    { name = "stack", soft = 67108864, hard = 67108864 },
  ]

  validation {
    condition = alltrue([for u in var.ulimits :
      contains(["core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack"], u.name) &&
      u.soft >= -1 && u.hard >= -1
    ])
    error_message = "ulimits names must be ones Docker knows (memlock, stack, nofile, ...), with soft and hard limits of -1 (unlimited) or more."
  }
}

variable "restart_policy" {
  description = "no, always, unless-stopped or on-failure."
  type        = string
  default     = "unless-stopped"

  validation {
    condition     = contains(["no", "always", "unless-stopped", "on-failure"], var.restart_policy)
    error_message = "restart_policy must be one of no, always, unless-stopped or on-failure."
  }
}

variable "log_driver" {
  description = "Logging driver; null: the daemon's default (then log_opts must suit it)."
  type        = string
  default     = "json-file"
}

variable "log_opts" {
  description = "Logging driver options: the guide rotates the log at 100 MB, keeping 3 files."
  type        = map(string)
  nullable    = false
  default     = { "max-size" = "100m", "max-file" = "3" }
}

variable "memory" {
  description = "Memory limit, e.g. 64g; null for none."
  type        = string
  default     = null

  validation {
    condition     = var.memory == null ? true : can(regex("^[0-9]+(\\.[0-9]+)? ?[kKmMgGtTpP]?[iI]?[bB]?$", var.memory)) && can(regex("[1-9]", var.memory))
    error_message = "memory must be a size above 0, such as 64g or 512m."
  }
}

variable "cpuset" {
  description = "CPUs to pin the container to, e.g. 0-15 for the GPUs' NUMA node; null for any."
  type        = string
  default     = null

  validation {
    condition     = var.cpuset == null ? true : can(regex("^[0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*$", var.cpuset))
    error_message = "cpuset must be a CPU list such as 0-7,16-23."
  }
}

# The guide's inference knobs: what each becomes depends on server (see the
# README); a knob the server kind cannot honour is refused at plan time.

variable "gpu_memory_fraction" {
  description = "Fraction of each GPU's memory the server may use, in (0, 1] (vLLM --gpu-memory-utilization, TGI --cuda-memory-fraction)."
  type        = number
  default     = null

  validation {
    condition     = var.gpu_memory_fraction == null ? true : var.gpu_memory_fraction >= 0.01 && var.gpu_memory_fraction <= 1
    error_message = "gpu_memory_fraction must be a fraction from 0.01 to 1."
  }
}

variable "dtype" {
  description = "Precision (mixed precision): vLLM auto, half, float16, bfloat16, float, float32; TGI float16, bfloat16."
  type        = string
  default     = null
}

variable "quantization" {
  description = "Quantization method, e.g. awq, gptq, fp8 (vLLM --quantization, TGI --quantize)."
  type        = string
  default     = null

  validation {
    condition     = var.quantization == null ? true : can(regex("^[a-z0-9][a-z0-9_.-]*$", var.quantization))
    error_message = "quantization must be a lower-case method name such as awq."
  }
}

variable "max_batch_size" {
  description = "Most requests batched together (vLLM --max-num-seqs, TGI --max-batch-size, Ollama OLLAMA_NUM_PARALLEL)."
  type        = number
  default     = null

  validation {
    condition     = var.max_batch_size == null ? true : var.max_batch_size >= 1 && floor(var.max_batch_size) == var.max_batch_size
    error_message = "max_batch_size must be a whole number of 1 or more."
  }
}

variable "tensor_parallel" {
  description = "GPUs one model is split across (vLLM --tensor-parallel-size, TGI --num-shard)."
  type        = number
  default     = null

  validation {
    condition     = var.tensor_parallel == null ? true : var.tensor_parallel >= 1 && floor(var.tensor_parallel) == var.tensor_parallel
    error_message = "tensor_parallel must be a whole number of 1 or more."
  }
}

variable "allow_tf32" {
  description = "TF32 matmuls: false sets NVIDIA_TF32_OVERRIDE=0; true sets TORCH_ALLOW_TF32_CUBLAS_OVERRIDE=1 (PyTorch servers); null leaves the server's default."
  type        = bool
  default     = null
}

variable "cuda_alloc_conf" {
  description = "PyTorch's CUDA allocator settings, PYTORCH_CUDA_ALLOC_CONF, e.g. expandable_segments:True."
  type        = string
  default     = null
}

variable "python_malloc" {
  description = "CPython's allocator, PYTHONMALLOC (malloc lets malloc_arena_max govern it)."
  type        = string
  default     = null

  validation {
    condition     = var.python_malloc == null ? true : contains(["default", "malloc", "pymalloc", "debug", "malloc_debug", "pymalloc_debug", "mimalloc", "mimalloc_debug"], var.python_malloc)
    error_message = "python_malloc must be one of default, malloc, pymalloc, debug, malloc_debug, pymalloc_debug, mimalloc or mimalloc_debug."
  }
}

variable "malloc_arena_max" {
  description = "glibc malloc arenas, MALLOC_ARENA_MAX (e.g. 2, to curb resident memory growth)."
  type        = number
  default     = null

  validation {
    condition     = var.malloc_arena_max == null ? true : var.malloc_arena_max >= 1 && floor(var.malloc_arena_max) == var.malloc_arena_max
    error_message = "malloc_arena_max must be a whole number of 1 or more."
  }
}

variable "torch_compile_mode" {
  description = "torch.compile mode (custom servers only, as MCPAI_TORCH_COMPILE_MODE): default, reduce-overhead, max-autotune or max-autotune-no-cudagraphs."
  type        = string
  default     = null

  validation {
    condition     = var.torch_compile_mode == null ? true : contains(["default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs"], var.torch_compile_mode)
    error_message = "torch_compile_mode must be one of default, reduce-overhead, max-autotune or max-autotune-no-cudagraphs."
  }
}

# Changes.

variable "update_strategy" {
  description = "How a change that needs a new container is made: recreate (stop the old one, start the new one, put the old one back if the new one fails) or start_first (the new one must be ready before the old one goes; recreate when both would publish one host port)."
  type        = string
  default     = "recreate"

  validation {
    condition     = contains(["recreate", "start_first"], var.update_strategy)
    error_message = "update_strategy must be recreate or start_first."
  }
}

variable "timeouts" {
  description = "How long create, update, read and delete may take, as durations (\"45m\"); unset ones take the resource's (30 minutes to become ready, enough to load a large model)."
  type = object({
    create = optional(string)
    update = optional(string)
    read   = optional(string)
    delete = optional(string)
  })
  default = null

  validation {
    condition     = var.timeouts == null ? true : alltrue([for d in values(var.timeouts) : d == null ? true : can(regex("^([0-9]+(\\.[0-9]+)?(h|m|s))+$", d))])
    error_message = "timeouts must be durations such as \"45m\" or \"1h30m\" (units h, m, s)."
  }
}

variable "validate_only" {
  description = "Check the inputs and manage nothing: no host is read or changed. mcpai-stack calls each layer's module this way first, so that no layer touches a host while another layer's input is refused. Turning it on where the module already manages something plans that thing's removal."
  type        = bool
  default     = false
  nullable    = false
}
