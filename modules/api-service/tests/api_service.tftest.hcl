# Plans against a mocked provider: no host is reached. The host's facts are
# mocked (8 CPUs), so the workers are sized from a known count.
mock_provider "mcpai" {
  mock_data "mcpai_host_facts" {
    defaults = {
      cpu_count = 8
    }
  }
}

variables {
  host  = "10.0.0.1"
  image = "mcpai-demo-api:latest"
}

run "guide_defaults" {
  command = plan

  assert {
    condition     = output.workers == 4
    error_message = "workers ${output.workers}: want the host's 8 CPUs over 2 replicas."
  }
  assert {
    condition = mcpai_container.api[1].command == tolist([
      "uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000", "--workers", "4",
      "--loop", "uvloop", "--http", "httptools", "--no-access-log",
    ])
    error_message = "the uvicorn command is not the guide's: ${jsonencode(mcpai_container.api[1].command)}"
  }
  assert {
    condition     = length(mcpai_container.api) == 2 && mcpai_container.api[1].name == "mcpai-api-2" && mcpai_container.api[1].ports[0].host_port == 8002 && mcpai_container.api[1].ports[0].host_ip == "127.0.0.1"
    error_message = "each replica publishes its own port on the loopback."
  }
  assert {
    condition     = mcpai_container.api[0].ulimits[0].name == "nofile" && mcpai_container.api[0].ulimits[0].soft == 65535
    error_message = "the guide's nofile limit."
  }
  assert {
    condition     = output.upstreams == ["http://127.0.0.1:8001", "http://127.0.0.1:8002"] && output.endpoint == "http://10.0.0.1:80/"
    error_message = "upstreams ${jsonencode(output.upstreams)}, endpoint ${output.endpoint}."
  }
  assert {
    condition     = yamldecode(output.dynamic_config).http.routers["mcpai-api"].rule == "PathPrefix(`/`)" && length(yamldecode(output.dynamic_config).http.services["mcpai-api"].loadBalancer.servers) == 2
    error_message = "Traefik's dynamic configuration must route / to both replicas."
  }
  assert {
    condition     = output.dynamic_config_path == "/etc/mcpai/traefik/mcpai-api.yml" && output.metrics_endpoints["mcpai-api-traefik"].targets[0] == "10.0.0.1:8082"
    error_message = "config path ${output.dynamic_config_path}, metrics ${jsonencode(output.metrics_endpoints)}."
  }
}

run "sized_without_facts" {
  command = plan

  variables {
    host               = "fd00::1"
    replicas           = 3
    cpus               = "2.5"
    timeout_keep_alive = 5
    backlog            = 4096
  }

  assert {
    condition     = length(data.mcpai_host_facts.api) == 0 && output.workers == 2
    error_message = "with cpus given, workers are floor(cpus) and the host is not read."
  }
  assert {
    condition     = join(" ", slice(mcpai_container.api[0].command, 13, 17)) == "--timeout-keep-alive 5 --backlog 4096"
    error_message = "uvicorn flags: ${jsonencode(mcpai_container.api[0].command)}"
  }
  assert {
    condition     = output.endpoint == "http://[fd00::1]:80/"
    error_message = "an IPv6 host goes in brackets: ${output.endpoint}"
  }
}

run "validate_only" {
  command = plan
  variables {
    validate_only = true
  }
  assert {
    condition     = length(mcpai_container.api) == 0 && length(data.mcpai_host_facts.api) == 0
    error_message = "validate_only must read and manage nothing."
  }
}

run "host" {
  command = plan
  variables {
    host = "api; reboot"
  }
  expect_failures = [var.host]
}

run "name" {
  command = plan
  variables {
    name = "-api"
  }
  expect_failures = [var.name]
}

run "image" {
  command = plan
  variables {
    image = "api image"
  }
  expect_failures = [var.image]
}

run "app" {
  command = plan
  variables {
    app = "main"
  }
  expect_failures = [var.app]
}

run "app_injection" {
  command = plan
  variables {
    app = "main:app --reload"
  }
  expect_failures = [var.app]
}

run "replicas" {
  command = plan
  variables {
    replicas = 0
  }
  expect_failures = [var.replicas]
}

run "app_port" {
  command = plan
  variables {
    app_port = 0
  }
  expect_failures = [var.app_port]
}

run "workers" {
  command = plan
  variables {
    workers = 0
  }
  expect_failures = [var.workers]
}

run "loop" {
  command = plan
  variables {
    loop = "trio"
  }
  expect_failures = [var.loop]
}

run "http" {
  command = plan
  variables {
    http = "h2"
  }
  expect_failures = [var.http]
}

run "timeout_keep_alive" {
  command = plan
  variables {
    timeout_keep_alive = -1
  }
  expect_failures = [var.timeout_keep_alive]
}

run "backlog" {
  command = plan
  variables {
    backlog = 0
  }
  expect_failures = [var.backlog]
}

run "env" {
  command = plan
  variables {
    env = { "A-B" = "1" }
  }
  expect_failures = [var.env]
}

run "sensitive_env" {
  command = plan
  variables {
    sensitive_env = { "1A" = "x" }
  }
  expect_failures = [var.sensitive_env]
}

run "memory" {
  command = plan
  variables {
    memory = "lots"
  }
  expect_failures = [var.memory]
}

run "cpus" {
  command = plan
  variables {
    cpus = "0"
  }
  expect_failures = [var.cpus]
}

run "nofile" {
  command = plan
  variables {
    nofile = 100
  }
  expect_failures = [var.nofile]
}

run "restart_policy" {
  command = plan
  variables {
    restart_policy = "sometimes"
  }
  expect_failures = [var.restart_policy]
}

run "traefik_image" {
  command = plan
  variables {
    traefik_image = ""
  }
  expect_failures = [var.traefik_image]
}

run "port" {
  command = plan
  variables {
    port = 70000
  }
  expect_failures = [var.port]
}

run "metrics_port" {
  command = plan
  variables {
    metrics_port = 0
  }
  expect_failures = [var.metrics_port]
}

run "metrics_port_clash" {
  command = plan
  variables {
    metrics_port = 80
  }
  expect_failures = [var.metrics_port]
}

run "path_prefix" {
  command = plan
  variables {
    path_prefix = "/api`) || Host(`x"
  }
  expect_failures = [var.path_prefix]
}

run "health_check_path" {
  command = plan
  variables {
    health_check = { path = "health" }
  }
  expect_failures = [var.health_check]
}

run "health_check_interval" {
  command = plan
  variables {
    health_check = { interval = "often" }
  }
  expect_failures = [var.health_check]
}

run "traefik_config_dir" {
  command = plan
  variables {
    traefik_config_dir = "/etc/../root"
  }
  expect_failures = [var.traefik_config_dir]
}

run "traefik_log_level" {
  command = plan
  variables {
    traefik_log_level = "LOUD"
  }
  expect_failures = [var.traefik_log_level]
}

run "traefik_memory" {
  command = plan
  variables {
    traefik_memory = "0"
  }
  expect_failures = [var.traefik_memory]
}

run "timeouts" {
  command = plan
  variables {
    timeouts = { create = "ten minutes" }
  }
  expect_failures = [var.timeouts]
}

run "base_port_past_65535" {
  command = plan
  variables {
    replicas  = 3
    base_port = 65534
  }
  expect_failures = [var.base_port]
}

run "port_clashes_with_a_replica" {
  command = plan
  variables {
    base_port = 8001
    port      = 8002
  }
  expect_failures = [var.metrics_port]
}
