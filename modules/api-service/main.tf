# The API service: uvicorn containers (workers from the CPUs, uvloop,
# httptools, no access log, resource limits) published on the host's
# loopback, behind Traefik on the host network, which balances over them
# and takes a container out while its health check fails. Traefik's
# dynamic configuration is a file on the host that it watches.

locals {
  # Terraform evaluates independent parts of a configuration at once: the
  # host is read and the containers planned only after every input has
  # passed its validation, so a bad one touches nothing.
  inputs = [
    var.host, var.ssh, var.name, var.image, var.app, var.replicas, var.base_port, var.app_port, var.workers, var.loop,
    var.http, var.access_log, var.timeout_keep_alive, var.backlog, var.env, var.sensitive_env, var.memory,
    var.cpus, var.nofile, var.restart_policy, var.log_driver, var.log_opts, var.traefik_image, var.port,
    var.metrics_port, var.path_prefix, var.health_check, var.traefik_config_dir, var.traefik_log_level,
    var.traefik_access_log, var.traefik_memory, var.timeouts, var.validate_only,
  ]

  # Known when planning, whatever the inputs are: the host is read only
  # after every input (and wait_for) is evaluated, which runs their
  # validation. A reference, not depends_on: depends_on would postpone the
  # facts read to apply time whenever an input's source has changes.
  ready = alltrue([for v in [local.inputs, var.wait_for] : true])

  # The host in a URL or host:port: an IPv6 address in brackets.
  url_host = strcontains(var.host, ":") ? "[${var.host}]" : var.host
}

# The host's CPUs, read only when the workers are to be sized from them.
data "mcpai_host_facts" "api" {
  count = local.ready && var.workers == null && var.cpus == null && !var.validate_only ? 1 : 0

  ssh = merge(var.ssh, { host = var.host })
}

locals {
  # One worker per CPU the container may use: its cpus limit, or its share
  # of the host's CPUs. uvicorn's workers are processes, each on one core.
  workers = (
    var.workers != null ? var.workers :
    var.cpus != null ? max(1, floor(tonumber(var.cpus))) :
    var.validate_only ? null : max(1, floor(one(data.mcpai_host_facts.api[*].cpu_count) / var.replicas))
  )

  uvicorn = concat(
    [
      "uvicorn", var.app,
      "--host", "0.0.0.0",
      "--port", tostring(var.app_port),
      "--workers", tostring(local.workers),
      "--loop", var.loop,
      "--http", var.http,
      var.access_log ? "--access-log" : "--no-access-log",
    ],
    var.timeout_keep_alive == null ? [] : ["--timeout-keep-alive", tostring(var.timeout_keep_alive)],
    var.backlog == null ? [] : ["--backlog", tostring(var.backlog)],
  )

  # Empty maps and lists mean "unset" to the resource.
  env           = length(var.env) > 0 ? var.env : null
  sensitive_env = length(var.sensitive_env) > 0 ? var.sensitive_env : null
  log_opts      = length(var.log_opts) > 0 ? var.log_opts : null
  ulimits       = var.nofile == null ? null : [{ name = "nofile", soft = var.nofile, hard = var.nofile }]

  upstreams = [for i in range(var.replicas) : "http://127.0.0.1:${var.base_port + i}"]
}

resource "mcpai_container" "api" {
  count = var.validate_only ? 0 : var.replicas

  ssh     = merge(var.ssh, { host = var.host })
  name    = "${var.name}-${count.index + 1}"
  image   = var.image
  command = local.uvicorn

  env           = local.env
  sensitive_env = local.sensitive_env
  ports         = [{ container_port = var.app_port, host_port = var.base_port + count.index, host_ip = "127.0.0.1" }]
  health_path   = var.health_check.path
  health_port   = var.app_port

  memory         = var.memory
  cpus           = var.cpus
  ulimits        = local.ulimits
  restart_policy = var.restart_policy
  log_driver     = var.log_driver
  log_opts       = local.log_opts
  timeouts       = var.timeouts

  depends_on = [local.inputs, var.wait_for]
}

locals {
  # Traefik's file provider, as it reads it inside its container.
  dynamic_dir  = "/etc/traefik/dynamic"
  dynamic_file = "${var.name}.yml"
  dynamic_path = "${var.traefik_config_dir}/${local.dynamic_file}"
  dynamic_config = yamlencode({
    http = {
      routers = {
        (var.name) = {
          entryPoints = ["web"]
          rule        = "PathPrefix(`${var.path_prefix}`)"
          service     = var.name
        }
      }
      services = {
        (var.name) = {
          loadBalancer = {
            servers     = [for u in local.upstreams : { url = u }]
            healthCheck = var.health_check
          }
        }
      }
    }
  })
}

# After the containers: a new one is ready before Traefik sends it requests.
# (A removed one goes first: Terraform destroys before it updates what
# depended on it, and Traefik's health check takes the container out.)
resource "mcpai_host_file" "dynamic" {
  count = var.validate_only ? 0 : 1

  ssh     = merge(var.ssh, { host = var.host })
  path    = local.dynamic_path
  mode    = "0644"
  content = local.dynamic_config
  # A fresh host has no traefik_config_dir: created here (0755) before
  # Traefik mounts it, removed on destroy when empty.
  create_directories = true

  depends_on = [mcpai_container.api]
}

resource "mcpai_container" "traefik" {
  count = var.validate_only ? 0 : 1

  ssh   = merge(var.ssh, { host = var.host })
  name  = "${var.name}-traefik"
  image = var.traefik_image
  command = [
    "--entryPoints.web.address=:${var.port}",
    "--entryPoints.metrics.address=:${var.metrics_port}",
    "--providers.file.filename=${local.dynamic_dir}/${local.dynamic_file}",
    "--providers.file.watch=true",
    "--ping=true",
    "--ping.entryPoint=metrics",
    "--metrics.prometheus=true",
    "--metrics.prometheus.entryPoint=metrics",
    "--log.level=${var.traefik_log_level}",
    "--accessLog=${var.traefik_access_log}",
  ]

  # The host's network: Traefik reaches the containers on the host's
  # loopback, and clients reach Traefik on the host's addresses.
  network_mode = "host"
  volumes      = [{ source = var.traefik_config_dir, target = local.dynamic_dir, read_only = true }]
  health_path  = "/ping"
  health_port  = var.metrics_port

  memory         = var.traefik_memory
  ulimits        = local.ulimits
  restart_policy = var.restart_policy
  log_driver     = var.log_driver
  log_opts       = local.log_opts
  timeouts       = var.timeouts

  depends_on = [mcpai_host_file.dynamic]
}
