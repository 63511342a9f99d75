# Plans against a mocked provider: no host is reached.
mock_provider "mcpai" {}

variables {
  hosts = ["10.0.0.1"]
}

run "guide_defaults" {
  command = plan

  assert {
    condition = output.settings == {
      "net.core.rmem_max"               = "16777216"
      "net.core.wmem_max"               = "16777216"
      "net.ipv4.tcp_rmem"               = "4096 87380 16777216"
      "net.ipv4.tcp_wmem"               = "4096 65536 16777216"
      "net.core.somaxconn"              = "65535"
      "net.ipv4.tcp_max_syn_backlog"    = "65535"
      "net.ipv4.tcp_fin_timeout"        = "15"
      "net.ipv4.tcp_tw_reuse"           = "1"
      "net.ipv4.tcp_keepalive_time"     = "300"
      "net.ipv4.tcp_keepalive_intvl"    = "30"
      "net.ipv4.tcp_keepalive_probes"   = "5"
      "net.core.default_qdisc"          = "fq"
      "net.ipv4.tcp_congestion_control" = "bbr"
      "vm.swappiness"                   = "10"
      "vm.dirty_ratio"                  = "15"
      "vm.dirty_background_ratio"       = "5"
      "vm.max_map_count"                = "262144"
      "fs.file-max"                     = "2097152"
    }
    error_message = "settings ${jsonencode(output.settings)} are not the guide's."
  }
  assert {
    condition = output.kernel_settings == {
      transparent_hugepage_enabled = "never"
      transparent_hugepage_defrag  = "never"
      cpu_governor                 = "performance"
      nofile_limit                 = { soft = "65536", hard = "65536" }
      nproc_limit                  = { soft = "65536", hard = "65536" }
    }
    error_message = "kernel_settings ${jsonencode(output.kernel_settings)} are not the guide's."
  }
  assert {
    condition     = mcpai_host_sysctl.tuning["10.0.0.1"].file == "/etc/sysctl.d/90-mcpai-host-tuning.conf" && mcpai_host_kernel.tuning["10.0.0.1"].cpu_governor == "performance"
    error_message = "the host's sysctl and kernel resources are not planned as the outputs say."
  }
}

# A host that shares its kernel keeps its own network sysctls and limits
# files; the rest is left to the machine that owns the kernel.
run "leave_alone" {
  command = plan

  variables {
    leave_alone = ["kernel_wide", "net.core.rmem_max", "nproc_limit"]
  }

  assert {
    condition     = length(output.settings) == 12 && alltrue([for k in keys(output.settings) : startswith(k, "net.") && k != "net.core.rmem_max"])
    error_message = "settings ${jsonencode(output.settings)}: want the guide's 13 net.* keys but rmem_max."
  }
  assert {
    # jsonencode: a null of the output's type is not equal to an untyped null.
    condition = jsonencode(output.kernel_settings) == jsonencode({
      transparent_hugepage_enabled = null
      transparent_hugepage_defrag  = null
      cpu_governor                 = null
      nofile_limit                 = { soft = "65536", hard = "65536" }
      nproc_limit                  = null
    })
    error_message = "kernel_settings ${jsonencode(output.kernel_settings)}: only the nofile limit is the host's own."
  }
}

# Every guide value null and nothing extra: nothing to manage.
run "nothing_to_manage" {
  command = plan

  variables {
    leave_alone            = ["kernel_wide", "transparent_hugepage_enabled", "transparent_hugepage_defrag", "cpu_governor", "nofile_limit", "nproc_limit"]
    rmem_max               = null
    wmem_max               = null
    tcp_rmem               = null
    tcp_wmem               = null
    somaxconn              = null
    tcp_max_syn_backlog    = null
    tcp_fin_timeout        = null
    tcp_tw_reuse           = null
    tcp_keepalive_time     = null
    tcp_keepalive_intvl    = null
    tcp_keepalive_probes   = null
    default_qdisc          = null
    tcp_congestion_control = null
  }

  assert {
    condition     = length(mcpai_host_sysctl.tuning) == 0 && length(mcpai_host_kernel.tuning) == 0
    error_message = "with nothing left to set, no resource is planned."
  }
}

run "validate_only" {
  command = plan
  variables {
    validate_only = true
  }
  assert {
    condition     = length(mcpai_host_sysctl.tuning) == 0 && length(mcpai_host_kernel.tuning) == 0
    error_message = "validate_only must manage nothing."
  }
}

run "no_hosts" {
  command = plan
  variables {
    hosts = []
  }
  expect_failures = [var.hosts]
}

run "bad_host" {
  command = plan
  variables {
    hosts = ["10.0.0.1; reboot"]
  }
  expect_failures = [var.hosts]
}

run "rmem_max" {
  command = plan
  variables {
    rmem_max = 1024
  }
  expect_failures = [var.rmem_max]
}

run "wmem_max" {
  command = plan
  variables {
    wmem_max = 4096.5
  }
  expect_failures = [var.wmem_max]
}

run "tcp_rmem_length" {
  command = plan
  variables {
    tcp_rmem = [4096, 87380]
  }
  expect_failures = [var.tcp_rmem]
}

run "tcp_wmem_order" {
  command = plan
  variables {
    tcp_wmem = [4096, 65536, 1024]
  }
  expect_failures = [var.tcp_wmem]
}

run "somaxconn" {
  command = plan
  variables {
    somaxconn = 10
  }
  expect_failures = [var.somaxconn]
}

run "tcp_max_syn_backlog" {
  command = plan
  variables {
    tcp_max_syn_backlog = 5000000
  }
  expect_failures = [var.tcp_max_syn_backlog]
}

run "tcp_fin_timeout" {
  command = plan
  variables {
    tcp_fin_timeout = 300
  }
  expect_failures = [var.tcp_fin_timeout]
}

run "tcp_tw_reuse" {
  command = plan
  variables {
    tcp_tw_reuse = 3
  }
  expect_failures = [var.tcp_tw_reuse]
}

run "tcp_keepalive_time" {
  command = plan
  variables {
    tcp_keepalive_time = 0
  }
  expect_failures = [var.tcp_keepalive_time]
}

run "tcp_keepalive_intvl" {
  command = plan
  variables {
    tcp_keepalive_intvl = 40000
  }
  expect_failures = [var.tcp_keepalive_intvl]
}

run "tcp_keepalive_probes" {
  command = plan
  variables {
    tcp_keepalive_probes = 128
  }
  expect_failures = [var.tcp_keepalive_probes]
}

run "default_qdisc" {
  command = plan
  variables {
    default_qdisc = "noqueue"
  }
  expect_failures = [var.default_qdisc]
}

run "tcp_congestion_control" {
  command = plan
  variables {
    tcp_congestion_control = "fast; reboot"
  }
  expect_failures = [var.tcp_congestion_control]
}

run "vm_swappiness" {
  command = plan
  variables {
    vm_swappiness = 10.5
  }
  expect_failures = [var.vm_swappiness]
}

run "vm_dirty_ratio" {
  command = plan
  variables {
    vm_dirty_ratio = 0
  }
  expect_failures = [var.vm_dirty_ratio]
}

run "vm_max_map_count" {
  command = plan
  variables {
    vm_max_map_count = 1000
  }
  expect_failures = [var.vm_max_map_count]
}

run "fs_file_max" {
  command = plan
  variables {
    fs_file_max = 100
  }
  expect_failures = [var.fs_file_max]
}

run "extra_settings_key" {
  command = plan
  variables {
    extra_settings = { "vm.swappiness; reboot" = "1" }
  }
  expect_failures = [var.extra_settings]
}

run "extra_settings_value" {
  command = plan
  variables {
    extra_settings = { "vm.swappiness" = "1\n2" }
  }
  expect_failures = [var.extra_settings]
}

run "leave_alone_name" {
  command = plan
  variables {
    leave_alone = ["swap; reboot"]
  }
  expect_failures = [var.leave_alone]
}

run "sysctl_file" {
  command = plan
  variables {
    sysctl_file = "/etc/sysctl.d/../passwd.conf"
  }
  expect_failures = [var.sysctl_file]
}

run "transparent_hugepage_enabled" {
  command = plan
  variables {
    transparent_hugepage_enabled = "sometimes"
  }
  expect_failures = [var.transparent_hugepage_enabled]
}

run "transparent_hugepage_defrag" {
  command = plan
  variables {
    transparent_hugepage_defrag = "sometimes"
  }
  expect_failures = [var.transparent_hugepage_defrag]
}

run "cpu_governor" {
  command = plan
  variables {
    cpu_governor = "turbo"
  }
  expect_failures = [var.cpu_governor]
}

run "nofile_soft_over_hard" {
  command = plan
  variables {
    nofile_limit = { soft = 70000, hard = 65536 }
  }
  expect_failures = [var.nofile_limit]
}

run "nproc_unlimited_soft" {
  command = plan
  variables {
    nproc_limit = { soft = "unlimited", hard = "4096" }
  }
  expect_failures = [var.nproc_limit]
}

run "dirty_background_over_dirty" {
  command = plan
  variables {
    vm_dirty_ratio            = 10
    vm_dirty_background_ratio = 20
  }
  expect_failures = [var.vm_dirty_background_ratio]
}
