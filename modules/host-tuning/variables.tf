variable "hosts" {
  description = "Addresses (IP or DNS name) of the hosts to tune. Connection settings come from `ssh`, then the mcpai provider's ssh block."
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

# Every guide value below may be set to null, which leaves that setting as the
# host has it (a key the host lacks or refuses, such as net.core.rmem_max
# inside a container's network namespace, or a setting another module owns).

variable "rmem_max" {
  description = "Largest receive buffer a socket may ask for, in bytes (net.core.rmem_max). Only the host's initial network namespace has it: null inside a container."
  type        = number
  default     = 16777216

  validation {
    condition     = var.rmem_max == null ? true : var.rmem_max >= 4096 && var.rmem_max <= 2147483647 && floor(var.rmem_max) == var.rmem_max
    error_message = "rmem_max must be a whole number of bytes between 4096 and 2147483647, or null."
  }
}

variable "wmem_max" {
  description = "Largest send buffer a socket may ask for, in bytes (net.core.wmem_max). Only the host's initial network namespace has it: null inside a container."
  type        = number
  default     = 16777216

  validation {
    condition     = var.wmem_max == null ? true : var.wmem_max >= 4096 && var.wmem_max <= 2147483647 && floor(var.wmem_max) == var.wmem_max
    error_message = "wmem_max must be a whole number of bytes between 4096 and 2147483647, or null."
  }
}

variable "tcp_rmem" {
  description = "TCP receive buffer sizes [min, default, max] in bytes (net.ipv4.tcp_rmem)."
  type        = list(number)
  default     = [4096, 87380, 16777216]

  validation {
    condition     = var.tcp_rmem == null ? true : try(length(var.tcp_rmem) == 3 && alltrue([for n in var.tcp_rmem : n >= 1 && n <= 2147483647 && floor(n) == n]) && var.tcp_rmem[0] <= var.tcp_rmem[1] && var.tcp_rmem[1] <= var.tcp_rmem[2], false)
    error_message = "tcp_rmem must be [min, default, max]: whole numbers of bytes with 1 <= min <= default <= max <= 2147483647, or null."
  }
}

variable "tcp_wmem" {
  description = "TCP send buffer sizes [min, default, max] in bytes (net.ipv4.tcp_wmem)."
  type        = list(number)
  default     = [4096, 65536, 16777216]

  validation {
    condition     = var.tcp_wmem == null ? true : try(length(var.tcp_wmem) == 3 && alltrue([for n in var.tcp_wmem : n >= 1 && n <= 2147483647 && floor(n) == n]) && var.tcp_wmem[0] <= var.tcp_wmem[1] && var.tcp_wmem[1] <= var.tcp_wmem[2], false)
    error_message = "tcp_wmem must be [min, default, max]: whole numbers of bytes with 1 <= min <= default <= max <= 2147483647, or null."
  }
}

variable "somaxconn" {
  description = "Accept queue length (net.core.somaxconn)."
  type        = number
  default     = 65535

  validation {
    condition     = var.somaxconn == null ? true : var.somaxconn >= 128 && var.somaxconn <= 4194304 && floor(var.somaxconn) == var.somaxconn
    error_message = "somaxconn must be a whole number between 128 and 4194304, or null."
  }
}

variable "tcp_max_syn_backlog" {
  description = "Half-open connections queued per listener (net.ipv4.tcp_max_syn_backlog)."
  type        = number
  default     = 65535

  validation {
    condition     = var.tcp_max_syn_backlog == null ? true : var.tcp_max_syn_backlog >= 128 && var.tcp_max_syn_backlog <= 4194304 && floor(var.tcp_max_syn_backlog) == var.tcp_max_syn_backlog
    error_message = "tcp_max_syn_backlog must be a whole number between 128 and 4194304, or null."
  }
}

variable "tcp_fin_timeout" {
  description = "Seconds an orphaned connection stays in FIN-WAIT-2 (net.ipv4.tcp_fin_timeout)."
  type        = number
  default     = 15

  validation {
    # The kernel caps it at 120 s (TCP_FIN_TIMEOUT_MAX).
    condition     = var.tcp_fin_timeout == null ? true : var.tcp_fin_timeout >= 1 && var.tcp_fin_timeout <= 120 && floor(var.tcp_fin_timeout) == var.tcp_fin_timeout
    error_message = "tcp_fin_timeout must be a whole number of seconds between 1 and 120, or null."
  }
}

variable "tcp_tw_reuse" {
  description = "Reuse of TIME-WAIT sockets for new outbound connections (net.ipv4.tcp_tw_reuse): 0 off, 1 on, 2 loopback only."
  type        = number
  default     = 1

  validation {
    condition     = var.tcp_tw_reuse == null ? true : contains([0, 1, 2], var.tcp_tw_reuse)
    error_message = "tcp_tw_reuse must be 0, 1 or 2, or null."
  }
}

variable "tcp_keepalive_time" {
  description = "Seconds of idleness before the first keepalive probe (net.ipv4.tcp_keepalive_time)."
  type        = number
  default     = 300

  validation {
    condition     = var.tcp_keepalive_time == null ? true : var.tcp_keepalive_time >= 1 && var.tcp_keepalive_time <= 32767 && floor(var.tcp_keepalive_time) == var.tcp_keepalive_time
    error_message = "tcp_keepalive_time must be a whole number of seconds between 1 and 32767, or null."
  }
}

variable "tcp_keepalive_intvl" {
  description = "Seconds between keepalive probes (net.ipv4.tcp_keepalive_intvl)."
  type        = number
  default     = 30

  validation {
    condition     = var.tcp_keepalive_intvl == null ? true : var.tcp_keepalive_intvl >= 1 && var.tcp_keepalive_intvl <= 32767 && floor(var.tcp_keepalive_intvl) == var.tcp_keepalive_intvl
    error_message = "tcp_keepalive_intvl must be a whole number of seconds between 1 and 32767, or null."
  }
}

variable "tcp_keepalive_probes" {
  description = "Unanswered keepalive probes before the connection is dropped (net.ipv4.tcp_keepalive_probes)."
  type        = number
  default     = 5

  validation {
    condition     = var.tcp_keepalive_probes == null ? true : var.tcp_keepalive_probes >= 1 && var.tcp_keepalive_probes <= 127 && floor(var.tcp_keepalive_probes) == var.tcp_keepalive_probes
    error_message = "tcp_keepalive_probes must be a whole number between 1 and 127, or null."
  }
}

variable "default_qdisc" {
  description = "Queueing discipline for new network interfaces (net.core.default_qdisc); bbr paces best over fq. Only the host's initial network namespace has it: null inside a container."
  type        = string
  default     = "fq"

  validation {
    condition     = var.default_qdisc == null ? true : contains(["fq", "fq_codel", "fq_pie", "cake", "sfq", "pfifo_fast"], var.default_qdisc)
    error_message = "default_qdisc must be one of fq, fq_codel, fq_pie, cake, sfq or pfifo_fast, or null."
  }
}

variable "tcp_congestion_control" {
  description = "TCP congestion control algorithm (net.ipv4.tcp_congestion_control). It must be listed in the host's net.ipv4.tcp_available_congestion_control or loadable as a module (bbr needs tcp_bbr, Linux 4.9+); otherwise the apply fails on that key and puts back what it had changed."
  type        = string
  default     = "bbr"

  validation {
    condition     = var.tcp_congestion_control == null ? true : contains(["bbr", "cubic", "reno", "htcp", "bic", "dctcp", "highspeed", "hybla", "illinois", "lp", "nv", "scalable", "vegas", "veno", "westwood", "yeah", "cdg"], var.tcp_congestion_control)
    error_message = "tcp_congestion_control must name a Linux congestion control algorithm (bbr, cubic, reno, htcp, dctcp, ...), or null."
  }
}

variable "vm_swappiness" {
  description = "How readily the kernel swaps anonymous memory out (vm.swappiness); low keeps database and model memory resident."
  type        = number
  default     = 10

  validation {
    # 200 is the maximum since Linux 5.8 (100 before).
    condition     = var.vm_swappiness == null ? true : var.vm_swappiness >= 0 && var.vm_swappiness <= 200 && floor(var.vm_swappiness) == var.vm_swappiness
    error_message = "vm_swappiness must be a whole number between 0 and 200, or null."
  }
}

variable "vm_dirty_ratio" {
  description = "Percent of memory that may be dirty before writers are made to flush (vm.dirty_ratio)."
  type        = number
  default     = 15

  validation {
    condition     = var.vm_dirty_ratio == null ? true : var.vm_dirty_ratio >= 1 && var.vm_dirty_ratio <= 100 && floor(var.vm_dirty_ratio) == var.vm_dirty_ratio
    error_message = "vm_dirty_ratio must be a whole percentage between 1 and 100, or null."
  }
}

variable "vm_dirty_background_ratio" {
  description = "Percent of memory that may be dirty before background writeback starts (vm.dirty_background_ratio); below vm_dirty_ratio."
  type        = number
  default     = 5

  validation {
    condition     = var.vm_dirty_background_ratio == null ? true : var.vm_dirty_background_ratio >= 1 && var.vm_dirty_background_ratio <= 100 && floor(var.vm_dirty_background_ratio) == var.vm_dirty_background_ratio && (var.vm_dirty_ratio == null ? true : var.vm_dirty_background_ratio < var.vm_dirty_ratio)
    error_message = "vm_dirty_background_ratio must be a whole percentage between 1 and 100 and below vm_dirty_ratio, or null."
  }
}

variable "vm_max_map_count" {
  description = "Memory map areas a process may have (vm.max_map_count); search engines and model servers mapping many files need more than the default 65530."
  type        = number
  default     = 262144

  validation {
    condition     = var.vm_max_map_count == null ? true : var.vm_max_map_count >= 65530 && var.vm_max_map_count <= 2147483647 && floor(var.vm_max_map_count) == var.vm_max_map_count
    error_message = "vm_max_map_count must be a whole number between 65530 (the kernel's default) and 2147483647, or null."
  }
}

variable "fs_file_max" {
  description = "System-wide limit on open files (fs.file-max)."
  type        = number
  default     = 2097152

  validation {
    condition     = var.fs_file_max == null ? true : var.fs_file_max >= 8192 && floor(var.fs_file_max) == var.fs_file_max
    error_message = "fs_file_max must be a whole number of at least 8192, or null."
  }
}

variable "extra_settings" {
  description = "More sysctls to set on every host, key to value; they override the guide's values above."
  type        = map(string)
  default     = {}
  nullable    = false

  validation {
    condition = alltrue([for k, v in var.extra_settings :
      can(regex("^[a-z0-9_]+([./][A-Za-z0-9_-]+)+$", k)) && !strcontains(k, "..") && can(regex("^[^\\n\\r]*$", v))
    ])
    error_message = "extra_settings keys must be sysctl keys (dotted, e.g. net.ipv4.tcp_slow_start_after_idle), and values single lines."
  }
}

variable "leave_alone" {
  description = "Settings of the guide to leave as the hosts have them: sysctl keys (e.g. `net.core.rmem_max`, where a container's network namespace refuses it), `kernel_wide` for every setting a host shares with others on one kernel (vm.*, fs.* and kernel.* sysctls, transparent huge pages, the CPU governor: LXC guests, or hosts that are network namespaces of one machine), or one of `transparent_hugepage_enabled`, `transparent_hugepage_defrag`, `cpu_governor`, `nofile_limit`, `nproc_limit`."
  type        = set(string)
  default     = []
  nullable    = false

  validation {
    condition = alltrue([for s in var.leave_alone : can(regex("^[a-z0-9_]+([./][A-Za-z0-9_-]+)+$", s)) || contains([
      "kernel_wide", "transparent_hugepage_enabled", "transparent_hugepage_defrag", "cpu_governor", "nofile_limit", "nproc_limit",
    ], s)])
    error_message = "leave_alone takes sysctl keys (net.core.rmem_max), kernel_wide, transparent_hugepage_enabled, transparent_hugepage_defrag, cpu_governor, nofile_limit or nproc_limit."
  }
}

variable "sysctl_file" {
  description = "The sysctl.d file the sysctls are persisted in. Use a file of its own per module on a host."
  type        = string
  default     = "/etc/sysctl.d/90-mcpai-host-tuning.conf"
  nullable    = false

  validation {
    condition     = can(regex("^(/etc/sysctl\\.conf|(/etc|/run|/usr/local/lib|/usr/lib|/lib)/sysctl\\.d/[A-Za-z0-9_.@+-]+\\.conf)$", var.sysctl_file)) && !strcontains(var.sysctl_file, "..")
    error_message = "sysctl_file must be a .conf file in a sysctl.d folder (e.g. /etc/sysctl.d/90-mcpai-host-tuning.conf) or /etc/sysctl.conf."
  }
}

variable "transparent_hugepage_enabled" {
  description = "Transparent huge pages mode: always, madvise or never (databases and Redis want never). Machine-wide: every container on a host shares it."
  type        = string
  default     = "never"

  validation {
    condition     = var.transparent_hugepage_enabled == null ? true : contains(["always", "madvise", "never"], var.transparent_hugepage_enabled)
    error_message = "transparent_hugepage_enabled must be always, madvise or never, or null."
  }
}

variable "transparent_hugepage_defrag" {
  description = "Transparent huge pages defrag mode: always, defer, defer+madvise, madvise or never."
  type        = string
  default     = "never"

  validation {
    condition     = var.transparent_hugepage_defrag == null ? true : contains(["always", "defer", "defer+madvise", "madvise", "never"], var.transparent_hugepage_defrag)
    error_message = "transparent_hugepage_defrag must be always, defer, defer+madvise, madvise or never, or null."
  }
}

variable "cpu_governor" {
  description = "CPU frequency governor for every CPU; it must be one the host offers (scaling_available_governors)."
  type        = string
  default     = "performance"

  validation {
    condition     = var.cpu_governor == null ? true : contains(["performance", "powersave", "schedutil", "ondemand", "conservative", "userspace"], var.cpu_governor)
    error_message = "cpu_governor must be performance, powersave, schedutil, ondemand, conservative or userspace, or null."
  }
}

variable "cpu_governor_optional" {
  description = "When true, a host without cpufreq (most cloud VMs) skips cpu_governor with a warning instead of failing."
  type        = bool
  default     = true
  nullable    = false
}

variable "nofile_limit" {
  description = "Open-file limit (nofile) for login sessions and the default for systemd services, as { soft, hard }. The hard limit may not exceed the host's fs.nr_open."
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

variable "nproc_limit" {
  description = "Process limit (nproc) for login sessions and the default for systemd services, as { soft, hard }: whole numbers or \"unlimited\"."
  type = object({
    soft = string
    hard = string
  })
  default = { soft = "65536", hard = "65536" }

  validation {
    condition = var.nproc_limit == null ? true : try(
      alltrue([for v in [var.nproc_limit.soft, var.nproc_limit.hard] : v == "unlimited" || can(regex("^[1-9][0-9]*$", v))]) &&
      (var.nproc_limit.hard == "unlimited" || (var.nproc_limit.soft != "unlimited" && tonumber(var.nproc_limit.soft) <= tonumber(var.nproc_limit.hard))),
      false
    )
    error_message = "nproc_limit must be { soft, hard }: whole numbers or \"unlimited\", soft no higher than hard, or null."
  }
}

variable "validate_only" {
  description = "Check the inputs and manage nothing: no host is read or changed. mcpai-stack calls each layer's module this way first, so that no layer touches a host while another layer's input is refused. Turning it on where the module already manages something plans that thing's removal."
  type        = bool
  default     = false
  nullable    = false
}
