# Plans against a mocked provider: no host is reached. A bad sysctl name in
# extra_settings is the resource's own check (Invalid Sysctl Key), which
# expect_failures cannot catch; internal/moduletest keeps that case.
mock_provider "mcpai" {}

variables {
  hosts = ["10.0.0.1", "10.0.0.2"]
}

run "guide_defaults" {
  command = plan

  variables {
    file           = "/etc/sysctl.d/90-mcpai-module-test.conf"
    extra_settings = { "net.ipv4.tcp_fin_timeout" = "21" }
  }

  assert {
    condition     = toset(keys(mcpai_host_sysctl.network)) == toset(["10.0.0.1", "10.0.0.2"])
    error_message = "one sysctl resource per host."
  }
  assert {
    condition     = mcpai_host_sysctl.network["10.0.0.2"].ssh.host == "10.0.0.2" && mcpai_host_sysctl.network["10.0.0.2"].file == "/etc/sysctl.d/90-mcpai-module-test.conf"
    error_message = "each resource reaches its own host and writes file."
  }
  assert {
    condition     = mcpai_host_sysctl.network["10.0.0.1"].settings["net.core.somaxconn"] == "65535" && output.settings["net.ipv4.tcp_max_syn_backlog"] == "65535" && output.settings["net.ipv4.ip_local_port_range"] == "1024 65535"
    error_message = "the guide's accept queues and port range: ${jsonencode(output.settings)}"
  }
  assert {
    condition     = output.settings["net.ipv4.tcp_fin_timeout"] == "21"
    error_message = "extra_settings must override the guide's values."
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

run "somaxconn" {
  command = plan
  variables {
    somaxconn = 10
  }
  expect_failures = [var.somaxconn]
}

run "local_port_range" {
  command = plan
  variables {
    local_port_range = [80, 65535]
  }
  expect_failures = [var.local_port_range]
}

run "file" {
  command = plan
  variables {
    file = "/etc/sysctl.d/../x.conf"
  }
  expect_failures = [var.file]
}
