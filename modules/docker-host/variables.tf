variable "hosts" {
  description = "Addresses (IP or DNS name) of the Docker hosts. Connection settings come from `ssh`, then the mcpai provider's ssh block; the login user must be able to open the daemon's socket (root, or a member of the docker group)."
  type        = set(string)
  nullable    = false

  validation {
    condition     = length(var.hosts) > 0 && alltrue([for h in var.hosts : can(regex("^[A-Za-z0-9.:_-]+$", h))])
    error_message = "hosts must hold at least one address, each an IP address or DNS name."
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

# A null value below leaves that key out of daemon.json, so the engine's
# default applies.

variable "log_driver" {
  description = "Default logging driver (log-driver): json-file, which `docker logs` reads, or local, its compressed variant. Both rotate by log_max_size and log_max_file."
  type        = string
  default     = "json-file"

  validation {
    condition     = var.log_driver == null ? true : contains(["json-file", "local"], var.log_driver)
    error_message = "log_driver must be json-file or local (the drivers that rotate by max-size and max-file), or null."
  }
}

variable "log_max_size" {
  description = "Size at which a container's log file is rotated (log-opts max-size), a number with k, m or g."
  type        = string
  default     = "10m"

  validation {
    condition     = var.log_max_size == null ? true : can(regex("^[1-9][0-9]*[kmg]$", var.log_max_size))
    error_message = "log_max_size must be a whole number followed by k, m or g (e.g. 10m), or null."
  }
}

variable "log_max_file" {
  description = "Rotated log files kept per container (log-opts max-file)."
  type        = number
  default     = 3

  validation {
    condition     = var.log_max_file == null ? true : var.log_max_file >= 1 && var.log_max_file <= 100 && floor(var.log_max_file) == var.log_max_file
    error_message = "log_max_file must be a whole number between 1 and 100, or null."
  }
}

variable "nofile_limit" {
  description = "Open-file limit of every container (default-ulimits nofile), as { soft, hard }. The daemon cannot give containers more than its own hard limit."
  type = object({
    soft = number
    hard = number
  })
  default = { soft = 65536, hard = 65536 }

  validation {
    condition     = var.nofile_limit == null ? true : try(var.nofile_limit.soft >= 1024 && var.nofile_limit.soft <= var.nofile_limit.hard && floor(var.nofile_limit.soft) == var.nofile_limit.soft && floor(var.nofile_limit.hard) == var.nofile_limit.hard, false)
    error_message = "nofile_limit must be { soft, hard }: whole numbers with 1024 <= soft <= hard, or null."
  }
}

variable "live_restore" {
  description = "Keep containers running while the daemon restarts (live-restore), so a daemon.json change that needs a restart does not stop them."
  type        = bool
  default     = true
}

variable "storage_driver" {
  description = "Storage driver (storage-driver). Null (the default) leaves the choice to the engine, which picks what the host's kernel and filesystem support; changing it on a host with images hides them."
  type        = string
  default     = null

  validation {
    condition     = var.storage_driver == null ? true : contains(["overlay2", "overlayfs", "fuse-overlayfs", "btrfs", "zfs", "vfs", "devicemapper"], var.storage_driver)
    error_message = "storage_driver must be overlay2, overlayfs, fuse-overlayfs, btrfs, zfs, vfs or devicemapper, or null."
  }
}

variable "cgroup_driver" {
  description = "Cgroup driver (exec-opts native.cgroupdriver): systemd on hosts that boot with systemd, as Kubernetes expects, or cgroupfs. Null leaves the engine's choice."
  type        = string
  default     = null

  validation {
    condition     = var.cgroup_driver == null ? true : contains(["systemd", "cgroupfs"], var.cgroup_driver)
    error_message = "cgroup_driver must be systemd or cgroupfs, or null."
  }
}

variable "nvidia_runtime" {
  description = "Register the NVIDIA container runtime as runtimes.nvidia (path nvidia-container-runtime, which the NVIDIA Container Toolkit installs)."
  type        = bool
  default     = false
  nullable    = false
}

variable "default_runtime" {
  description = "Runtime for containers that name none (default-runtime), e.g. nvidia on GPU hosts; nvidia needs nvidia_runtime = true. Null leaves runc."
  type        = string
  default     = null

  validation {
    condition     = var.default_runtime == null ? true : can(regex("^[A-Za-z0-9][A-Za-z0-9_.-]*$", var.default_runtime)) && (var.default_runtime != "nvidia" || var.nvidia_runtime)
    error_message = "default_runtime must be a runtime name (e.g. runc, or nvidia with nvidia_runtime = true), or null."
  }
}

variable "extra_config" {
  description = "More daemon.json keys, as an object (e.g. { \"metrics-addr\" = \"127.0.0.1:9323\" }); they override the keys above."
  type        = any
  default     = {}
  nullable    = false

  validation {
    condition     = can(keys(var.extra_config))
    error_message = "extra_config must be an object of daemon.json keys."
  }
}

variable "restart" {
  description = "How a change takes effect: auto reloads dockerd (SIGHUP) when every changed key allows it and restarts it otherwise; reload_only fails, before writing anything, when a restart would be needed; never only writes the file."
  type        = string
  default     = "auto"
  nullable    = false

  validation {
    condition     = contains(["auto", "reload_only", "never"], var.restart)
    error_message = "restart must be auto, reload_only or never."
  }
}

variable "restart_command" {
  description = "The command that restarts dockerd, as arguments (no shell), e.g. [\"rc-service\", \"docker\", \"restart\"]. Null: systemctl restart docker.service on systemd hosts, service docker restart elsewhere."
  type        = list(string)
  default     = null

  validation {
    condition     = var.restart_command == null ? true : length(var.restart_command) > 0 && alltrue([for a in var.restart_command : a != ""])
    error_message = "restart_command must be a non-empty list of non-empty arguments, or null."
  }
}

variable "validate_only" {
  description = "Check the inputs and manage nothing: no host is read or changed. mcpai-stack calls each layer's module this way first, so that no layer touches a host while another layer's input is refused. Turning it on where the module already manages something plans that thing's removal."
  type        = bool
  default     = false
  nullable    = false
}
