output "hosts" {
  description = "Per host: its address, roles and the layers the stack applies to it."
  value = { for name, h in var.hosts : name => {
    address = h.address
    roles   = sort(h.roles)
    layers = concat(
      var.host_tuning.enabled ? ["host-tuning"] : [],
      var.docker.enabled && contains(keys(local.docker_hosts), name) ? ["docker-host"] : [],
      contains(h.roles, "api") ? ["api-service"] : [],
      contains(keys(local.pgbouncer_hosts), name) ? ["pgbouncer"] : [],
      contains(h.roles, "gpu") ? ["model-runner"] : [],
      contains(h.roles, "db") ? ["postgres"] : [],
      contains(h.roles, "cache") ? ["redis"] : [],
      name == local.monitoring_host ? ["monitoring"] : [],
    )
  } }
}

output "host_tuning" {
  description = "Per host: the sysctls and kernel settings applied, and the values found before (destroy writes them back)."
  value = { for name, m in module.host_tuning : name => {
    settings        = m.settings
    kernel_settings = m.kernel_settings
    previous_values = m.previous_values[var.hosts[name].address]
  } }
}

output "docker" {
  description = "Per api or gpu host: the daemon.json written and what the running daemon reports."
  value = { for name, m in module.docker : name => {
    config    = m.config
    effective = m.effective[var.hosts[name].address]
  } }
}

output "postgres" {
  description = "Per db host: what PGTune sized for, the settings applied, their live values, and settings still waiting for a restart."
  value = { for name, m in module.postgres : name => {
    sizing          = m.sizing
    settings        = m.settings
    effective       = m.effective
    pending_restart = m.pending_restart
    index_names     = m.index_names
  } }
}

output "redis" {
  description = "Per cache host: the maxmemory applied, the parameters set and their live values."
  value = { for name, m in module.redis : name => {
    maxmemory = m.maxmemory
    settings  = m.settings
    effective = m.effective
    version   = m.redis_version
  } }
}

output "model_runner" {
  description = "Per gpu host: the inference server's container id, state and GPUs."
  value = { for name, m in module.model_runner : name => {
    container_id = m.container_id
    state        = m.state
    gpu_ids      = m.gpu_ids
  } }
}

output "api" {
  description = "Per api host: where clients reach the API (Traefik), the uvicorn workers per container, the containers Traefik balances over, and the containers' ids."
  value = { for name, m in module.api : name => {
    endpoint             = m.endpoint
    workers              = m.workers
    upstreams            = m.upstreams
    api_container_ids    = m.api_container_ids
    traefik_container_id = m.traefik_container_id
  } }
}

output "monitoring" {
  description = "The Prometheus host's name, the alerts by rule group, the scrape targets, and the prometheus.yml part (rule_files, a file_sd scrape job) that loads the two files; null without the monitoring layer."
  value = one([for name, m in module.monitoring : {
    host              = name
    alerts            = m.alerts
    metrics_endpoints = local.metrics_endpoints
    prometheus_config = m.prometheus_config
  }])
}

output "pgbouncer" {
  description = "Per api host with pgbouncer enabled: the DSN the API uses (no password), PgBouncer's [pgbouncer] settings, the most server connections it opens, and its container's id."
  value = { for name, m in module.pgbouncer : name => {
    dsn                = m.dsn
    settings           = m.settings
    server_connections = m.server_connections
    container_id       = m.container_id
  } }
}

output "load_test" {
  description = "The load test's results (Locust's own statistics: requests, failures, failure_ratio, rps, p50_ms, p95_ms, p99_ms, max_ms, passed) and where it ran; null when load_test is not enabled."
  value = local.load_test_host == null ? null : {
    host    = local.load_test_host
    target  = mcpai_load_test.api[local.load_test_host].target
    users   = mcpai_load_test.api[local.load_test_host].users
    results = mcpai_load_test.api[local.load_test_host].results
  }
}
