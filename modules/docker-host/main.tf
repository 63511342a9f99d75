# The performance guide's Docker daemon: rotated container logs, a raised
# open-file limit for containers, live-restore so that daemon restarts do not
# stop them, and optionally the NVIDIA runtime for GPU hosts.

locals {
  # Every input, for the validated output: evaluating it waits for each
  # input's validation.
  inputs = [
    var.hosts, var.ssh, var.log_driver, var.log_max_size, var.log_max_file, var.nofile_limit, var.live_restore,
    var.storage_driver, var.cgroup_driver, var.nvidia_runtime, var.default_runtime, var.extra_config, var.restart,
    var.restart_command,
    var.validate_only,
  ]
}

locals {
  log_opts = { for k, v in {
    "max-size" = var.log_max_size
    "max-file" = var.log_max_file == null ? null : tostring(var.log_max_file)
  } : k => v if v != null }

  # A null value leaves its key out, so the engine's default applies.
  guide = { for k, v in {
    "log-driver"      = var.log_driver
    "log-opts"        = length(local.log_opts) > 0 ? local.log_opts : null
    "default-ulimits" = var.nofile_limit == null ? null : { nofile = { Name = "nofile", Soft = var.nofile_limit.soft, Hard = var.nofile_limit.hard } }
    "live-restore"    = var.live_restore
    "storage-driver"  = var.storage_driver
    "exec-opts"       = var.cgroup_driver == null ? null : ["native.cgroupdriver=${var.cgroup_driver}"]
    "runtimes"        = var.nvidia_runtime ? { nvidia = { path = "nvidia-container-runtime" } } : null
    "default-runtime" = var.default_runtime
  } : k => v if v != null }

  config = merge(local.guide, var.extra_config)
}

resource "mcpai_docker_daemon_config" "host" {
  for_each = var.validate_only ? toset([]) : var.hosts

  ssh             = merge(var.ssh, { host = each.value })
  config          = jsonencode(local.config)
  restart         = var.restart
  restart_command = var.restart_command
}
