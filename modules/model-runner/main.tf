# The GPU inference service: one mcpai_gpu_model_runner container with the
# guide's container settings (large /dev/shm, unlimited memlock, 64 MiB
# stack, restart unless stopped, rotated logs) and its inference knobs,
# which the resource turns into the server kind's own flags or environment.

locals {
  # Every input, for the validated output: evaluating it waits for each
  # input's validation.
  inputs = [
    var.host, var.ssh, var.name, var.image, var.server, var.command, var.env, var.sensitive_env, var.ports,
    var.volumes, var.gpus, var.gpu_driver, var.health_path, var.health_port, var.shm_size, var.ulimits,
    var.restart_policy, var.log_driver, var.log_opts, var.memory, var.cpuset, var.gpu_memory_fraction, var.dtype,
    var.quantization, var.max_batch_size, var.tensor_parallel, var.allow_tf32, var.cuda_alloc_conf,
    var.python_malloc, var.malloc_arena_max, var.torch_compile_mode, var.update_strategy, var.timeouts,
    var.validate_only,
  ]
}

locals {
  # Empty lists and maps mean "unset" to the resource.
  command       = length(var.command) > 0 ? var.command : null
  env           = length(var.env) > 0 ? var.env : null
  sensitive_env = length(var.sensitive_env) > 0 ? var.sensitive_env : null
  ports         = length(var.ports) > 0 ? var.ports : null
  volumes       = length(var.volumes) > 0 ? var.volumes : null
  ulimits       = length(var.ulimits) > 0 ? var.ulimits : null
  log_opts      = length(var.log_opts) > 0 ? var.log_opts : null
}

resource "mcpai_gpu_model_runner" "this" {
  count = var.validate_only ? 0 : 1

  ssh    = merge(var.ssh, { host = var.host })
  name   = var.name
  image  = var.image
  server = var.server

  command       = local.command
  env           = local.env
  sensitive_env = local.sensitive_env
  ports         = local.ports
  volumes       = local.volumes
  gpus          = var.gpus
  gpu_driver    = var.gpu_driver
  health_path   = var.health_path
  health_port   = var.health_port

  shm_size       = var.shm_size
  ulimits        = local.ulimits
  restart_policy = var.restart_policy
  log_driver     = var.log_driver
  log_opts       = local.log_opts
  memory         = var.memory
  cpuset         = var.cpuset

  gpu_memory_fraction = var.gpu_memory_fraction
  dtype               = var.dtype
  quantization        = var.quantization
  max_batch_size      = var.max_batch_size
  tensor_parallel     = var.tensor_parallel
  allow_tf32          = var.allow_tf32
  cuda_alloc_conf     = var.cuda_alloc_conf
  python_malloc       = var.python_malloc
  malloc_arena_max    = var.malloc_arena_max
  torch_compile_mode  = var.torch_compile_mode

  update_strategy = var.update_strategy
  timeouts        = var.timeouts
}

# Before validate_only, the container was a single resource.
moved {
  from = mcpai_gpu_model_runner.this
  to   = mcpai_gpu_model_runner.this[0]
}
