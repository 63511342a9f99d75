# Plans against a mocked provider: no host is reached and no daemon.json
# written.
mock_provider "mcpai" {}

variables {
  hosts = ["10.0.0.1"]
}

run "guide_defaults" {
  command = plan

  assert {
    condition = output.config == {
      "default-ulimits" = { nofile = { Name = "nofile", Soft = 65536, Hard = 65536 } }
      "live-restore"    = true
      "log-driver"      = "json-file"
      "log-opts"        = { "max-file" = "3", "max-size" = "10m" }
    }
    error_message = "config ${jsonencode(output.config)} is not the guide's daemon.json."
  }
  assert {
    condition     = jsondecode(mcpai_docker_daemon_config.host["10.0.0.1"].config) == output.config && mcpai_docker_daemon_config.host["10.0.0.1"].ssh.host == "10.0.0.1"
    error_message = "the host's resource does not write config."
  }
  assert {
    condition     = mcpai_docker_daemon_config.host["10.0.0.1"].restart == "auto"
    error_message = "restart defaults to auto."
  }
}

run "gpu_host" {
  command = plan

  variables {
    storage_driver  = "overlay2"
    cgroup_driver   = "systemd"
    nvidia_runtime  = true
    default_runtime = "nvidia"
    log_max_file    = null
    extra_config    = { "max-concurrent-downloads" = 6 }
  }

  assert {
    condition = output.config == {
      "default-ulimits"          = { nofile = { Name = "nofile", Soft = 65536, Hard = 65536 } }
      "live-restore"             = true
      "log-driver"               = "json-file"
      "log-opts"                 = { "max-size" = "10m" }
      "storage-driver"           = "overlay2"
      "exec-opts"                = ["native.cgroupdriver=systemd"]
      "runtimes"                 = { nvidia = { path = "nvidia-container-runtime" } }
      "default-runtime"          = "nvidia"
      "max-concurrent-downloads" = 6
    }
    error_message = "config ${jsonencode(output.config)}"
  }
}

run "validate_only" {
  command = plan
  variables {
    validate_only = true
  }
  assert {
    condition     = length(mcpai_docker_daemon_config.host) == 0
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

run "log_driver" {
  command = plan
  variables {
    log_driver = "syslog"
  }
  expect_failures = [var.log_driver]
}

run "log_max_size" {
  command = plan
  variables {
    log_max_size = "10MB"
  }
  expect_failures = [var.log_max_size]
}

run "log_max_file" {
  command = plan
  variables {
    log_max_file = 0
  }
  expect_failures = [var.log_max_file]
}

run "nofile_soft_over_hard" {
  command = plan
  variables {
    nofile_limit = { soft = 65536, hard = 4096 }
  }
  expect_failures = [var.nofile_limit]
}

run "storage_driver" {
  command = plan
  variables {
    storage_driver = "aufs"
  }
  expect_failures = [var.storage_driver]
}

run "cgroup_driver" {
  command = plan
  variables {
    cgroup_driver = "system"
  }
  expect_failures = [var.cgroup_driver]
}

run "nvidia_not_installed" {
  command = plan
  variables {
    default_runtime = "nvidia"
  }
  expect_failures = [var.default_runtime]
}

run "runtime_injection" {
  command = plan
  variables {
    default_runtime = "runc; reboot"
  }
  expect_failures = [var.default_runtime]
}

run "extra_config_not_an_object" {
  command = plan
  variables {
    extra_config = ["debug"]
  }
  expect_failures = [var.extra_config]
}

run "restart" {
  command = plan
  variables {
    restart = "sometimes"
  }
  expect_failures = [var.restart]
}

run "restart_command" {
  command = plan
  variables {
    restart_command = []
  }
  expect_failures = [var.restart_command]
}
