# Plans against a mocked provider: no host is reached and no file written.
# What promtool makes of the rules, and the alerts firing on real series,
# need a host (internal/moduletest).
mock_provider "mcpai" {}

variables {
  host = "10.0.0.1"
}

run "guide_rules_and_targets" {
  command = plan

  variables {
    metrics_endpoints = { api = { targets = ["10.0.0.2:8082"], labels = { env = "test" } } }
  }

  assert {
    condition     = output.alerts["mcpai-api"] == ["APIHighP95Latency", "APIHigh5xxRatio", "APIServerDown"]
    error_message = "the API alerts: ${jsonencode(output.alerts)}"
  }
  assert {
    condition     = contains(flatten(values(output.recording_rules)), "mcpai:gpu_memory_used_ratio")
    error_message = "the guide's dashboard series are recorded: ${jsonencode(output.recording_rules)}"
  }
  assert {
    condition     = strcontains(output.rules, "> 0.5") && yamldecode(output.rules).groups[0].rules[0].labels.severity == "warning"
    error_message = "the p95 threshold and the default alert label."
  }
  assert {
    condition = yamldecode(output.targets) == [{
      targets = ["10.0.0.2:8082"]
      labels  = { env = "test", job = "api", __metrics_path__ = "/metrics", __scheme__ = "http" }
    }]
    error_message = "targets: ${output.targets}"
  }
  assert {
    condition     = mcpai_host_file.rules[0].path == "/etc/prometheus/rules/mcpai.yml" && mcpai_host_file.rules[0].content == output.rules && mcpai_host_file.rules[0].validate_command == null
    error_message = "the rules file, unchecked without promtool or Prometheus."
  }
  assert {
    condition     = mcpai_host_file.targets[0].path == "/etc/prometheus/file_sd/mcpai.yml" && mcpai_host_file.targets[0].content == output.targets && mcpai_host_file.targets[0].ssh.host == "10.0.0.1"
    error_message = "the targets file on the host."
  }
  assert {
    condition     = output.prometheus_config.scrape_configs[0].job_name == "mcpai" && output.prometheus_url == null && length(mcpai_container.prometheus) == 0
    error_message = "no Prometheus without prometheus.enabled."
  }
}

run "thresholds_and_json_targets" {
  command = plan

  variables {
    targets_path      = "/etc/prometheus/file_sd/mcpai.json"
    thresholds        = { p95_latency_seconds = 0.25, error_ratio = 0.05 }
    promtool          = "/usr/bin/promtool"
    metrics_endpoints = { api = { targets = ["10.0.0.2:8082"] } }
  }

  assert {
    condition     = jsondecode(output.targets)[0].labels.job == "api"
    error_message = "a .json targets_path gets JSON: ${output.targets}"
  }
  assert {
    condition     = strcontains(output.rules, "> 0.25") && strcontains(output.rules, "> 0.05")
    error_message = "the thresholds are in the rules."
  }
  assert {
    condition     = mcpai_host_file.rules[0].validate_command == tolist(["/usr/bin/promtool", "check", "rules", "{}"])
    error_message = "the rules are checked with promtool before they replace the file."
  }
}

run "prometheus_and_exporters" {
  command = plan

  variables {
    prometheus                         = { enabled = true, image = "mcpai-debian-stack:latest", listen_address = "127.0.0.1" }
    node_exporter                      = { enabled = true }
    postgres_exporter                  = { enabled = true, listen_address = "0.0.0.0" }
    postgres_exporter_data_source_name = "postgresql://exporter@127.0.0.1:5432/postgres"
    redis_exporter                     = { enabled = true, image = "redis-exporter:1" }
  }

  assert {
    condition     = output.prometheus_url == "http://127.0.0.1:9090" && mcpai_container.prometheus[0].image == "mcpai-debian-stack:latest"
    error_message = "Prometheus on the host only: ${output.prometheus_url}"
  }
  assert {
    condition     = mcpai_container.node_exporter[0].image == "mcpai-debian-stack:latest" && mcpai_container.redis_exporter[0].image == "redis-exporter:1"
    error_message = "an exporter's image defaults to prometheus.image."
  }
  assert {
    condition     = toset([for g in yamldecode(output.targets) : "${g.labels.job} ${g.targets[0]}"]) == toset(["node 127.0.0.1:9100", "postgres 10.0.0.1:9187", "redis 127.0.0.1:9121"])
    error_message = "the exporters' scrape targets: ${output.targets}"
  }
  assert {
    condition     = mcpai_host_file.rules[0].validate_command[0] == "docker" && contains(mcpai_host_file.rules[0].validate_command, "mcpai-debian-stack:latest")
    error_message = "with Prometheus, the rules are checked with its image's promtool."
  }
  assert {
    condition     = length(mcpai_host_file.postgres_queries) == 1
    error_message = "postgres_exporter gets the pg_stat_statements queries file."
  }
}

run "validate_only" {
  command = plan
  variables {
    validate_only     = true
    prometheus        = { enabled = true, image = "x" }
    metrics_endpoints = { api = { targets = ["127.0.0.1:8001"] } }
  }
  assert {
    condition     = length(mcpai_host_file.rules) == 0 && length(mcpai_host_file.targets) == 0 && length(mcpai_container.prometheus) == 0
    error_message = "validate_only must manage nothing."
  }
}

run "host" {
  command = plan
  variables {
    host = "prom; reboot"
  }
  expect_failures = [var.host]
}

run "rules_path" {
  command = plan
  variables {
    rules_path = "rules/mcpai.yml"
  }
  expect_failures = [var.rules_path]
}

run "rules_path_dot" {
  command = plan
  variables {
    rules_path = "/etc/prometheus/../shadow.yml"
  }
  expect_failures = [var.rules_path]
}

run "targets_path" {
  command = plan
  variables {
    targets_path = "/etc/prometheus/targets.txt"
  }
  expect_failures = [var.targets_path]
}

run "targets_path_same_as_rules" {
  command = plan
  variables {
    targets_path = "/etc/prometheus/rules/mcpai.yml"
  }
  expect_failures = [var.targets_path]
}

run "promtool" {
  command = plan
  variables {
    promtool = "promtool; reboot"
  }
  expect_failures = [var.promtool]
}

run "thresholds_p95" {
  command = plan
  variables {
    thresholds = { p95_latency_seconds = 0 }
  }
  expect_failures = [var.thresholds]
}

run "thresholds_error_ratio" {
  command = plan
  variables {
    thresholds = { error_ratio = 5 }
  }
  expect_failures = [var.thresholds]
}

run "thresholds_for" {
  command = plan
  variables {
    thresholds = { p95_latency_for = "10 minutes" }
  }
  expect_failures = [var.thresholds]
}

run "thresholds_for_order" {
  command = plan
  variables {
    thresholds = { slow_query_for = "5m1h" }
  }
  expect_failures = [var.thresholds]
}

run "rate_window" {
  command = plan
  variables {
    rate_window = "0m"
  }
  expect_failures = [var.rate_window]
}

run "alert_labels" {
  command = plan
  variables {
    alert_labels = { "team-name" = "api" }
  }
  expect_failures = [var.alert_labels]
}

run "group_prefix" {
  command = plan
  variables {
    group_prefix = "-mcpai"
  }
  expect_failures = [var.group_prefix]
}

run "metrics_endpoints_job" {
  command = plan
  variables {
    metrics_endpoints = { "api job" = { targets = ["127.0.0.1:1"] } }
  }
  expect_failures = [var.metrics_endpoints]
}

run "metrics_endpoints_no_targets" {
  command = plan
  variables {
    metrics_endpoints = { api = { targets = [] } }
  }
  expect_failures = [var.metrics_endpoints]
}

run "metrics_endpoints_target" {
  command = plan
  variables {
    metrics_endpoints = { api = { targets = ["127.0.0.1"] } }
  }
  expect_failures = [var.metrics_endpoints]
}

run "metrics_endpoints_target_port" {
  command = plan
  variables {
    metrics_endpoints = { api = { targets = ["127.0.0.1:70000"] } }
  }
  expect_failures = [var.metrics_endpoints]
}

run "metrics_endpoints_path" {
  command = plan
  variables {
    metrics_endpoints = { api = { targets = ["127.0.0.1:1"], metrics_path = "metrics" } }
  }
  expect_failures = [var.metrics_endpoints]
}

run "metrics_endpoints_scheme" {
  command = plan
  variables {
    metrics_endpoints = { api = { targets = ["127.0.0.1:1"], scheme = "ftp" } }
  }
  expect_failures = [var.metrics_endpoints]
}

run "metrics_endpoints_label" {
  command = plan
  variables {
    metrics_endpoints = { api = { targets = ["127.0.0.1:1"], labels = { job = "x" } } }
  }
  expect_failures = [var.metrics_endpoints]
}

run "prometheus_image" {
  command = plan
  variables {
    prometheus = { enabled = true }
  }
  expect_failures = [var.prometheus]
}

run "prometheus_name" {
  command = plan
  variables {
    prometheus = { data_volume = "/var/lib/prometheus" }
  }
  expect_failures = [var.prometheus]
}

run "prometheus_listen" {
  command = plan
  variables {
    prometheus = { enabled = true, image = "x", listen_address = "10.0.0.1" }
  }
  expect_failures = [var.prometheus]
}

run "prometheus_retention" {
  command = plan
  variables {
    prometheus = { retention = "15 days" }
  }
  expect_failures = [var.prometheus]
}

run "prometheus_memory" {
  command = plan
  variables {
    prometheus = { memory = "lots" }
  }
  expect_failures = [var.prometheus]
}

run "config_dir" {
  command = plan
  variables {
    config_dir = "etc/mcpai"
  }
  expect_failures = [var.config_dir]
}

run "run_as" {
  command = plan
  variables {
    run_as = "Prometheus User"
  }
  expect_failures = [var.run_as]
}

run "node_exporter_image" {
  command = plan
  variables {
    node_exporter = { enabled = true }
  }
  expect_failures = [var.node_exporter]
}

run "node_exporter_listen" {
  command = plan
  variables {
    node_exporter = { listen_address = "::" }
  }
  expect_failures = [var.node_exporter]
}

run "postgres_exporter_image" {
  command = plan
  variables {
    postgres_exporter                  = { enabled = true }
    postgres_exporter_data_source_name = "postgresql://exporter@127.0.0.1:5432/postgres"
  }
  expect_failures = [var.postgres_exporter]
}

run "postgres_exporter_name" {
  command = plan
  variables {
    postgres_exporter = { name = "-pg" }
  }
  expect_failures = [var.postgres_exporter]
}

run "postgres_exporter_dsn" {
  command = plan
  variables {
    postgres_exporter = { enabled = true, image = "x" }
  }
  expect_failures = [var.postgres_exporter]
}

run "redis_exporter_image" {
  command = plan
  variables {
    redis_exporter = { enabled = true }
  }
  expect_failures = [var.redis_exporter]
}

run "redis_exporter_port" {
  command = plan
  variables {
    redis_exporter = { port = 0 }
  }
  expect_failures = [var.redis_exporter]
}

run "redis_exporter_address" {
  command = plan
  variables {
    redis_exporter = { address = "127.0.0.1:6379" }
  }
  expect_failures = [var.redis_exporter]
}

run "prometheus_job_name_taken" {
  command = plan
  variables {
    prometheus   = { enabled = true, image = "x" }
    group_prefix = "prometheus"
  }
  expect_failures = [var.prometheus]
}

run "metrics_endpoints_exporter_job" {
  command = plan
  variables {
    redis_exporter    = { enabled = true, image = "x" }
    metrics_endpoints = { redis = { targets = ["127.0.0.1:1"] } }
  }
  expect_failures = [var.metrics_endpoints]
}
