# The performance guide's host layer: kernel network and memory settings as
# sysctls, and transparent huge pages, the CPU governor and open-file and
# process limits, which live outside sysctl.

locals {
  # Every input, for the validated output: evaluating it waits for each
  # input's validation.
  inputs = [
    var.hosts, var.ssh, var.rmem_max, var.wmem_max, var.tcp_rmem, var.tcp_wmem, var.somaxconn,
    var.tcp_max_syn_backlog, var.tcp_fin_timeout, var.tcp_tw_reuse, var.tcp_keepalive_time, var.tcp_keepalive_intvl,
    var.tcp_keepalive_probes, var.default_qdisc, var.tcp_congestion_control, var.vm_swappiness, var.vm_dirty_ratio,
    var.vm_dirty_background_ratio, var.vm_max_map_count, var.fs_file_max, var.extra_settings, var.leave_alone,
    var.sysctl_file, var.transparent_hugepage_enabled, var.transparent_hugepage_defrag, var.cpu_governor,
    var.cpu_governor_optional, var.nofile_limit, var.nproc_limit,
    var.validate_only,
  ]
}

locals {
  # A null guide value leaves that setting alone, so it is left out here.
  guide = { for k, v in {
    "net.core.rmem_max"               = var.rmem_max
    "net.core.wmem_max"               = var.wmem_max
    "net.ipv4.tcp_rmem"               = var.tcp_rmem == null ? null : join(" ", var.tcp_rmem)
    "net.ipv4.tcp_wmem"               = var.tcp_wmem == null ? null : join(" ", var.tcp_wmem)
    "net.core.somaxconn"              = var.somaxconn
    "net.ipv4.tcp_max_syn_backlog"    = var.tcp_max_syn_backlog
    "net.ipv4.tcp_fin_timeout"        = var.tcp_fin_timeout
    "net.ipv4.tcp_tw_reuse"           = var.tcp_tw_reuse
    "net.ipv4.tcp_keepalive_time"     = var.tcp_keepalive_time
    "net.ipv4.tcp_keepalive_intvl"    = var.tcp_keepalive_intvl
    "net.ipv4.tcp_keepalive_probes"   = var.tcp_keepalive_probes
    "net.core.default_qdisc"          = var.default_qdisc
    "net.ipv4.tcp_congestion_control" = var.tcp_congestion_control
    "vm.swappiness"                   = var.vm_swappiness
    "vm.dirty_ratio"                  = var.vm_dirty_ratio
    "vm.dirty_background_ratio"       = var.vm_dirty_background_ratio
    "vm.max_map_count"                = var.vm_max_map_count
    "fs.file-max"                     = var.fs_file_max
  } : k => tostring(v) if v != null }

  # Sysctls that live in the kernel rather than in a network namespace.
  kernel_wide = contains(var.leave_alone, "kernel_wide")
  sysctls = { for k, v in merge(local.guide, var.extra_settings) : k => v if !contains(var.leave_alone, k) && !(
    local.kernel_wide && (startswith(k, "vm.") || startswith(k, "fs.") || startswith(k, "kernel."))
  ) }

  # Open-file and process limits are files of each host's own; the rest is the kernel's.
  manage = { for k in ["transparent_hugepage_enabled", "transparent_hugepage_defrag", "cpu_governor", "nofile_limit", "nproc_limit"] :
    k => !contains(var.leave_alone, k) && !(local.kernel_wide && !endswith(k, "_limit"))
  }
  kernel = {
    transparent_hugepage_enabled = local.manage.transparent_hugepage_enabled ? var.transparent_hugepage_enabled : null
    transparent_hugepage_defrag  = local.manage.transparent_hugepage_defrag ? var.transparent_hugepage_defrag : null
    cpu_governor                 = local.manage.cpu_governor ? var.cpu_governor : null
    nofile_limit                 = local.manage.nofile_limit && var.nofile_limit != null ? { soft = tostring(var.nofile_limit.soft), hard = tostring(var.nofile_limit.hard) } : null
    nproc_limit                  = local.manage.nproc_limit ? var.nproc_limit : null
  }
  # mcpai_host_kernel needs something to manage.
  manage_kernel = anytrue([for v in values(local.kernel) : v != null])
}

resource "mcpai_host_sysctl" "tuning" {
  for_each = length(local.sysctls) > 0 && !var.validate_only ? var.hosts : toset([])

  ssh      = merge(var.ssh, { host = each.value })
  file     = var.sysctl_file
  settings = local.sysctls
}

resource "mcpai_host_kernel" "tuning" {
  for_each = local.manage_kernel && !var.validate_only ? var.hosts : toset([])

  ssh                          = merge(var.ssh, { host = each.value })
  transparent_hugepage_enabled = local.kernel.transparent_hugepage_enabled
  transparent_hugepage_defrag  = local.kernel.transparent_hugepage_defrag
  cpu_governor                 = local.kernel.cpu_governor
  cpu_governor_optional        = var.cpu_governor_optional
  nofile_limit                 = local.kernel.nofile_limit
  nproc_limit                  = local.kernel.nproc_limit
}
