# Plans against a mocked provider: no host is reached. The hosts' facts are
# mocked (16 GiB, 4 CPUs). The layers' own validation, run through the
# check_* calls, fails inside a child module, which expect_failures cannot
# name; internal/moduletest keeps those cases, with a real host to show
# that no layer touched it.
mock_provider "mcpai" {
  mock_data "mcpai_host_facts" {
    defaults = {
      memory_bytes = 17179869184
      cpu_count    = 4
    }
  }
}

variables {
  hosts = {
    app  = { address = "10.0.0.2", roles = ["api", "gpu"] }
    data = { address = "10.0.0.1", roles = ["db", "cache"], shared_kernel = true }
  }
  postgres     = { db_version = 15 }
  model_runner = { image = "mcpai-demo-model:latest" }
  api          = { image = "mcpai-demo-api:latest" }
}

run "layers_by_role" {
  command = plan

  assert {
    condition     = output.hosts["app"].layers == tolist(["host-tuning", "docker-host", "api-service", "model-runner", "monitoring"])
    error_message = "app's layers: ${jsonencode(output.hosts["app"].layers)}"
  }
  assert {
    condition     = output.hosts["data"].layers == tolist(["host-tuning", "postgres", "redis"])
    error_message = "data's layers: ${jsonencode(output.hosts["data"].layers)}"
  }
  assert {
    condition     = output.host_tuning["data"].kernel_settings.transparent_hugepage_enabled == null && output.host_tuning["app"].kernel_settings.transparent_hugepage_enabled == "never"
    error_message = "a host that shares its kernel leaves the kernel-wide settings alone."
  }
  assert {
    condition     = output.docker["app"].config["runtimes"].nvidia.path == "nvidia-container-runtime"
    error_message = "the gpu host's daemon gets the NVIDIA runtime."
  }
  assert {
    condition     = output.postgres["data"].sizing.total_memory == "16GB" && output.postgres["data"].sizing.cpu_num == 4 && output.postgres["data"].settings["shared_buffers"] == "4GB"
    error_message = "PostgreSQL sized from the db host: ${jsonencode(output.postgres["data"].sizing)}"
  }
  assert {
    condition     = output.redis["data"].maxmemory == "8192mb"
    error_message = "Redis sized from the cache host: ${output.redis["data"].maxmemory}"
  }
  assert {
    condition     = output.api["app"].workers == 2 && output.api["app"].endpoint == "http://10.0.0.2:80/"
    error_message = "api workers ${output.api["app"].workers} (want 4 CPUs over 2 replicas), endpoint ${output.api["app"].endpoint}."
  }
  assert {
    condition     = output.monitoring.host == "app" && output.monitoring.metrics_endpoints["mcpai-api-traefik"].targets == ["10.0.0.2:8082"]
    error_message = "monitoring on the first api host, scraping its Traefik: ${jsonencode(output.monitoring.metrics_endpoints)}"
  }
  assert {
    condition     = output.pgbouncer == {} && output.load_test == null
    error_message = "pooling and the load test are off by default."
  }
}

run "pgbouncer_and_load_test" {
  command = plan

  variables {
    postgres          = { db_version = 15, connections = 100 }
    postgres_password = "secret"
    api               = { image = "mcpai-demo-api:latest", replicas = 2, workers = 3, port = 18480 }
    pgbouncer         = { enabled = true, image = "mcpai-debian-stack:latest", default_pool_size = 20 }
    load_test         = { enabled = true, users = 5, duration = "10s", slo = { p95_ms = 500 } }
  }

  assert {
    condition     = output.hosts["app"].layers == tolist(["host-tuning", "docker-host", "api-service", "pgbouncer", "model-runner", "monitoring"])
    error_message = "PgBouncer runs on the api host: ${jsonencode(output.hosts["app"].layers)}"
  }
  assert {
    condition     = output.pgbouncer["app"].dsn == "postgresql://postgres@10.0.0.2:6432/postgres" && output.pgbouncer["app"].server_connections == 20
    error_message = "pgbouncer: ${jsonencode(output.pgbouncer)}"
  }
  assert {
    condition     = output.load_test.host == "app" && mcpai_load_test.api["app"].target == "http://10.0.0.2:18480" && mcpai_load_test.api["app"].users == 5
    error_message = "the load test runs on the api host against its Traefik."
  }
  assert {
    condition     = length(mcpai_load_test.api["app"].tasks) == 4 && mcpai_load_test.api["app"].slo.p95_ms == 500
    error_message = "the guide's four tasks and the SLO."
  }
  assert {
    condition     = length(mcpai_load_test.api["app"].triggers["stack_inputs"]) == 64
    error_message = "the stack's inputs are hashed into the triggers."
  }
}

# Pools sized against the max_connections the db layer sets (PGTune's for
# connections = 100) fit: 97 = 100 - 3 superuser connections.
run "pgbouncer_pool_fits_max_connections" {
  command = plan

  variables {
    postgres          = { db_version = 15, connections = 100 }
    postgres_password = "secret"
    api               = { image = "mcpai-demo-api:latest", replicas = 1, workers = 1 }
    pgbouncer         = { enabled = true, image = "mcpai-debian-stack:latest", default_pool_size = 97 }
  }

  assert {
    condition     = output.pgbouncer["app"].server_connections == 97
    error_message = "server_connections ${output.pgbouncer["app"].server_connections}"
  }
}

run "no_layers_but_the_host_layer" {
  command = plan

  variables {
    hosts        = { edge = { address = "edge.example.com" } }
    postgres     = {}
    model_runner = {}
    api          = {}
  }

  assert {
    condition     = output.hosts["edge"].layers == tolist(["host-tuning", "monitoring"]) && output.docker == {}
    error_message = "a host without roles gets the host layer (and monitoring, as the only host): ${jsonencode(output.hosts["edge"].layers)}"
  }
}

run "no_hosts" {
  command = plan
  variables {
    hosts = {}
  }
  expect_failures = [var.hosts]
}

run "unknown_role" {
  command = plan
  variables {
    hosts = { a = { address = "10.213.1.2", roles = ["web"] } }
  }
  expect_failures = [var.hosts]
}

run "bad_address" {
  command = plan
  variables {
    hosts = { a = { address = "10.213.1.2; reboot" } }
  }
  expect_failures = [var.hosts]
}

run "shared_address" {
  command = plan
  variables {
    hosts = { a = { address = "10.213.1.2", roles = ["db"] }, b = { address = "10.213.1.2", roles = ["cache"] } }
  }
  expect_failures = [var.hosts]
}

run "ssh_port" {
  command = plan
  variables {
    hosts = { a = { address = "10.213.1.2", roles = ["db"], ssh = { port = 70000 } } }
  }
  expect_failures = [var.hosts]
}

run "ssh_timeout" {
  command = plan
  variables {
    hosts = { a = { address = "10.213.1.2", roles = ["db"], ssh = { timeout = "forever" } } }
  }
  expect_failures = [var.hosts]
}

run "ssh_user" {
  command = plan
  variables {
    hosts = { a = { address = "10.213.1.2", roles = ["db"], ssh = { bastion = { host = "10.0.0.9", user = "" } } } }
  }
  expect_failures = [var.hosts]
}

run "ssh_bastion_host" {
  command = plan
  variables {
    hosts = { a = { address = "10.213.1.2", roles = ["db"], ssh = { bastion = { host = "jump; reboot" } } } }
  }
  expect_failures = [var.hosts]
}

run "db_without_version" {
  command = plan
  variables {
    postgres = {}
  }
  expect_failures = [var.postgres]
}

run "redis_port" {
  command = plan
  variables {
    redis = { port = 70000 }
  }
  expect_failures = [var.redis]
}

run "gpu_without_image" {
  command = plan
  variables {
    model_runner = { server = "vllm" }
  }
  expect_failures = [var.model_runner]
}

run "gpu_ids_and_count" {
  command = plan
  variables {
    model_runner = { image = "mcpai-demo-model:latest", gpu_ids = ["0"], gpu_count = 1 }
  }
  expect_failures = [var.model_runner]
}

run "api_without_image" {
  command = plan
  variables {
    api = { replicas = 2 }
  }
  expect_failures = [var.api]
}

run "exporters_without_image" {
  command = plan
  variables {
    monitoring = { exporters = { enabled = true } }
  }
  expect_failures = [var.monitoring]
}

run "monitoring_host" {
  command = plan
  variables {
    monitoring = { host = "prometheus" }
  }
  expect_failures = [var.monitoring]
}

run "pgbouncer_image" {
  command = plan
  variables {
    postgres_password = "secret"
    pgbouncer         = { enabled = true }
  }
  expect_failures = [var.pgbouncer]
}

run "pgbouncer_client_pool_size" {
  command = plan
  variables {
    pgbouncer = { client_pool_size = 0 }
  }
  expect_failures = [var.pgbouncer]
}

run "load_test_host" {
  command = plan
  variables {
    load_test = { host = "data" }
  }
  expect_failures = [var.load_test]
}

run "pgbouncer_needs_db_and_api_hosts" {
  command = plan
  variables {
    hosts             = { app = { address = "10.0.0.2", roles = ["api", "gpu"] } }
    postgres_password = "secret"
    pgbouncer         = { enabled = true, image = "mcpai-debian-stack:latest" }
  }
  expect_failures = [var.pgbouncer]
}

run "pgbouncer_needs_postgres_password" {
  command = plan
  variables {
    pgbouncer = { enabled = true, image = "mcpai-debian-stack:latest" }
  }
  expect_failures = [var.pgbouncer]
}

run "load_test_without_api_host" {
  command = plan
  variables {
    hosts     = { data = { address = "10.0.0.1", roles = ["db"] } }
    load_test = { enabled = true }
  }
  expect_failures = [var.load_test]
}
