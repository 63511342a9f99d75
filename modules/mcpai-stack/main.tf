# The whole MCPAI stack over a map of hosts with roles, layer by layer as the
# performance guide lays it out: every host gets the host layer; api and gpu
# hosts the Docker layer; db hosts PostgreSQL, cache hosts Redis, gpu hosts
# the model runner. Each layer is this repository's module for it, called
# once per host with that host's own SSH settings.

locals {
  # Terraform evaluates independent parts of a configuration at once: no
  # layer reads or changes a host until every input of the stack, and of
  # every layer (the check_* calls below), has passed validation.
  inputs = [
    var.hosts, var.host_tuning, var.docker, var.postgres, var.postgres_password, var.redis, var.redis_password,
    var.model_runner, var.model_runner_sensitive_env, var.api, var.api_sensitive_env, var.monitoring, var.pgbouncer, var.load_test,
  ]

  # Every layer's inputs, validated once by its module with validate_only:
  # those calls manage nothing, so the layers can wait on them.
  checked = concat(
    module.check_host_tuning[*].validated, module.check_docker[*].validated, module.check_postgres[*].validated,
    module.check_redis[*].validated, module.check_model_runner[*].validated, [for m in module.check_api : m.validated],
    module.check_monitoring[*].validated,
  )

  # Hosts by role, name to host.
  with_role = { for role in ["api", "gpu", "db", "cache"] :
    role => { for name, h in var.hosts : name => h if contains(h.roles, role) }
  }
  docker_hosts = merge(local.with_role.api, local.with_role.gpu)

  # The Prometheus host: as given, else the first api host, else the first host.
  monitoring_host = var.monitoring.enabled ? coalesce(var.monitoring.host, try(sort(keys(local.with_role.api))[0], null), sort(keys(var.hosts))[0]) : null

  # The ids, else the count, else all (a tuple: the three differ in type).
  model_gpus = [for g in [var.model_runner.gpu_ids, var.model_runner.gpu_count, "all"] : g if g != null][0]
}

module "host_tuning" {
  source   = "../host-tuning"
  for_each = var.host_tuning.enabled ? var.hosts : {}

  hosts                        = [each.value.address]
  ssh                          = each.value.ssh
  extra_settings               = var.host_tuning.sysctls
  leave_alone                  = setunion(var.host_tuning.leave_alone, each.value.shared_kernel ? ["kernel_wide"] : [])
  transparent_hugepage_enabled = var.host_tuning.transparent_hugepage
  transparent_hugepage_defrag  = var.host_tuning.transparent_hugepage
  cpu_governor                 = var.host_tuning.cpu_governor
  cpu_governor_optional        = var.host_tuning.cpu_governor_optional
  nofile_limit                 = { soft = var.host_tuning.nofile_limit, hard = var.host_tuning.nofile_limit }
  sysctl_file                  = var.host_tuning.sysctl_file

  depends_on = [local.inputs, local.checked]
}

module "docker" {
  source   = "../docker-host"
  for_each = var.docker.enabled ? local.docker_hosts : {}

  hosts           = [each.value.address]
  ssh             = each.value.ssh
  log_max_size    = var.docker.log_max_size
  log_max_file    = var.docker.log_max_file
  nofile_limit    = { soft = var.docker.nofile_limit, hard = var.docker.nofile_limit }
  live_restore    = var.docker.live_restore
  cgroup_driver   = var.docker.cgroup_driver
  storage_driver  = var.docker.storage_driver
  nvidia_runtime  = var.docker.nvidia_runtime && contains(each.value.roles, "gpu")
  restart         = var.docker.restart
  restart_command = var.docker.restart_command

  depends_on = [local.inputs, local.checked]
}

module "postgres" {
  source   = "../postgres"
  for_each = local.with_role.db

  host            = each.value.address
  ssh             = each.value.ssh
  ssh_tunnel      = !var.postgres.direct
  port            = var.postgres.port
  user            = var.postgres.user
  password        = var.postgres_password
  database        = var.postgres.database
  sslmode         = var.postgres.sslmode
  db_version      = var.postgres.db_version
  db_type         = var.postgres.db_type
  connections     = var.postgres.connections
  disk_type       = var.postgres.disk_type
  total_memory    = var.postgres.total_memory
  cpu_count       = var.postgres.cpu_count
  restart         = var.postgres.restart
  restart_command = var.postgres.restart_command
  overrides       = var.postgres.overrides
  indexes         = var.postgres.indexes

  pg_stat_statements = var.postgres.pg_stat_statements

  # A value, not depends_on: the host facts are read when planning.
  wait_for = [local.inputs, local.checked]
}

module "redis" {
  source   = "../redis"
  for_each = local.with_role.cache

  # Through the host's SSH connection, as the host itself sees the server.
  address            = "127.0.0.1:${var.redis.port}"
  ssh_host           = each.value.address
  ssh                = each.value.ssh
  username           = var.redis.username
  password           = var.redis_password
  maxmemory          = var.redis.maxmemory
  maxmemory_fraction = var.redis.maxmemory_fraction
  maxmemory_policy   = var.redis.maxmemory_policy
  persistence        = var.redis.persistence
  extra_settings     = var.redis.extra_settings

  # A value, not depends_on: the host facts are read when planning.
  wait_for = [local.inputs, local.checked]
}

module "model_runner" {
  source   = "../model-runner"
  for_each = local.with_role.gpu

  host          = each.value.address
  ssh           = each.value.ssh
  name          = var.model_runner.name
  image         = var.model_runner.image
  server        = var.model_runner.server
  command       = var.model_runner.command
  env           = var.model_runner.env
  sensitive_env = var.model_runner_sensitive_env
  ports         = var.model_runner.ports
  volumes       = var.model_runner.volumes
  health_path   = var.model_runner.health_path
  health_port   = var.model_runner.health_port
  ulimits       = var.model_runner.ulimits
  gpus          = local.model_gpus
  memory        = var.model_runner.memory
  cpuset        = var.model_runner.cpuset
  timeouts      = var.model_runner.timeouts

  dtype               = var.model_runner.dtype
  quantization        = var.model_runner.quantization
  max_batch_size      = var.model_runner.max_batch_size
  tensor_parallel     = var.model_runner.tensor_parallel
  gpu_memory_fraction = var.model_runner.gpu_memory_fraction
  allow_tf32          = var.model_runner.allow_tf32
  cuda_alloc_conf     = var.model_runner.cuda_alloc_conf
  python_malloc       = var.model_runner.python_malloc
  malloc_arena_max    = var.model_runner.malloc_arena_max
  torch_compile_mode  = var.model_runner.torch_compile_mode

  # Containers start on the daemon as the Docker layer leaves it.
  depends_on = [local.inputs, local.checked, module.docker]
}


module "api" {
  source   = "../api-service"
  for_each = local.with_role.api

  host               = each.value.address
  ssh                = each.value.ssh
  image              = var.api.image
  name               = var.api.name
  app                = var.api.app
  replicas           = var.api.replicas
  base_port          = var.api.base_port
  app_port           = var.api.app_port
  workers            = var.api.workers
  loop               = var.api.loop
  http               = var.api.http
  access_log         = var.api.access_log
  timeout_keep_alive = var.api.timeout_keep_alive
  backlog            = var.api.backlog
  # With pooling, the database is PgBouncer on this host. From the stack's
  # inputs: an output of module.pgbouncer would wait on the sizing checks,
  # which wait on this module's workers (a cycle).
  env = var.pgbouncer.enabled ? merge(var.api.env, {
    DATABASE_HOST = each.value.address
    DATABASE_PORT = tostring(var.pgbouncer.port)
    DATABASE_NAME = local.pgbouncer_database
    DATABASE_USER = local.pgbouncer_user
    # Each uvicorn worker's client pool, as the sizing check counts it.
    API_DB_POOL_SIZE = tostring(var.pgbouncer.client_pool_size)
  }) : var.api.env
  sensitive_env      = var.pgbouncer.enabled ? merge(var.api_sensitive_env, { DATABASE_PASSWORD = var.postgres_password }) : var.api_sensitive_env
  memory             = var.api.memory
  cpus               = var.api.cpus
  nofile             = var.api.nofile
  restart_policy     = var.api.restart_policy
  traefik_image      = var.api.traefik_image
  port               = var.api.port
  metrics_port       = var.api.metrics_port
  path_prefix        = var.api.path_prefix
  health_check       = var.api.health_check
  traefik_config_dir = var.api.traefik_config_dir
  traefik_memory     = var.api.traefik_memory
  timeouts           = var.api.timeouts

  # Values, not depends_on, so that the host facts are read when planning:
  # the checks, and the Docker layer's daemon on this host (containers
  # start on the daemon as that layer leaves it).
  wait_for = [local.inputs, local.checked, try(module.docker[each.key].effective, null)]
}

# Connection pooling, off by default: PgBouncer on each api host, in front of
# the first db host's server; the API's DATABASE_* point at it.
locals {
  pgbouncer_hosts  = var.pgbouncer.enabled ? local.with_role.api : {}
  pgbouncer_server = try(sort(keys(local.with_role.db))[0], null)
  # modules/postgres's defaults where the db layer's are unset.
  pgbouncer_user     = coalesce(var.pgbouncer.user, var.postgres.user, "postgres")
  pgbouncer_database = coalesce(var.postgres.database, "postgres")
}

module "pgbouncer" {
  source   = "../pgbouncer"
  for_each = local.pgbouncer_hosts

  host              = each.value.address
  ssh               = each.value.ssh
  image             = var.pgbouncer.image
  name              = var.pgbouncer.name
  run_as            = var.pgbouncer.run_as
  config_dir        = var.pgbouncer.config_dir
  port              = var.pgbouncer.port
  server_host       = var.hosts[local.pgbouncer_server].address
  server_port       = var.postgres.port
  user              = local.pgbouncer_user
  password          = var.postgres_password
  databases         = [local.pgbouncer_database]
  pool_mode         = var.pgbouncer.pool_mode
  default_pool_size = var.pgbouncer.default_pool_size
  reserve_pool_size = var.pgbouncer.reserve_pool_size
  max_client_conn   = var.pgbouncer.max_client_conn
  memory            = var.pgbouncer.memory

  # Sized against the server as the db layer sets it, for every api host's
  # PgBouncer, and this host's API (its containers and workers as the api
  # layer plans them).
  max_connections                = coalesce(var.pgbouncer.max_connections, tonumber(module.postgres[local.pgbouncer_server].settings["max_connections"]))
  superuser_reserved_connections = var.pgbouncer.superuser_reserved_connections
  instances                      = length(local.pgbouncer_hosts)
  clients = {
    replicas  = length(module.api[each.key].upstreams)
    workers   = module.api[each.key].workers
    pool_size = var.pgbouncer.client_pool_size
  }

  # Containers start on the daemon as the Docker layer leaves it.
  depends_on = [local.inputs, local.checked, module.docker]
}

locals {
  # What the Prometheus host scrapes: Traefik on every api host, and the
  # endpoints on a host's loopback (the API containers, a model runner
  # published on 127.0.0.1) only on the Prometheus host itself. Built from
  # the api layer's checks (which manage nothing), so that the monitoring
  # layer's check sees these targets too before any host is touched.
  api_jobs = { for name, m in module.check_api : name => m.metrics_endpoints }
  # The jobs api-service names after its `name`: "<name>-traefik" and "<name>".
  traefik_jobs = distinct(flatten([for name, jobs in local.api_jobs : [for job in keys(jobs) : job if endswith(job, "-traefik")]]))
  traefik_job = { for job in local.traefik_jobs : job => {
    targets = flatten([for name, jobs in local.api_jobs : jobs[job].targets])
  } }
  local_api_job = contains(keys(local.api_jobs), coalesce(local.monitoring_host, "-")) ? {
    for job, e in local.api_jobs[local.monitoring_host] : job => { targets = e.targets } if !endswith(job, "-traefik")
  } : {}
  runner_targets = flatten([for name, h in local.with_role.gpu : [
    for p in coalesce(var.model_runner.ports, []) : (
      p.host_ip == null || p.host_ip == "0.0.0.0"
      ? "${strcontains(h.address, ":") ? "[${h.address}]" : h.address}:${p.host_port}"
      : "127.0.0.1:${p.host_port}"
    ) if p.host_port != null && (p.host_ip == null || p.host_ip == "0.0.0.0" || (p.host_ip == "127.0.0.1" && name == local.monitoring_host))
  ]])
  runner_job = length(local.runner_targets) == 0 ? {} : { (var.model_runner.name) = { targets = local.runner_targets } }

  metrics_endpoints = merge(
    { for job, e in merge(local.traefik_job, local.local_api_job, local.runner_job) : job => merge(e, { metrics_path = "/metrics", scheme = "http", labels = {} }) },
    var.monitoring.metrics_endpoints,
  )
}

module "monitoring" {
  source   = "../monitoring"
  for_each = local.monitoring_host == null ? {} : { (local.monitoring_host) = var.hosts[local.monitoring_host] }

  host              = each.value.address
  ssh               = each.value.ssh
  rules_path        = var.monitoring.rules_path
  targets_path      = var.monitoring.targets_path
  promtool          = var.monitoring.promtool
  thresholds        = var.monitoring.thresholds
  rate_window       = var.monitoring.rate_window
  alert_labels      = var.monitoring.alert_labels
  group_prefix      = var.monitoring.group_prefix
  metrics_endpoints = local.metrics_endpoints
  prometheus        = var.monitoring.prometheus

  # The exporters on the Prometheus host, reaching the first db and cache
  # hosts over the network.
  node_exporter = { enabled = var.monitoring.exporters.enabled, image = var.monitoring.exporters.image }
  postgres_exporter = {
    enabled = var.monitoring.exporters.enabled && local.exporter_db != null
    image   = var.monitoring.exporters.image
  }
  postgres_exporter_data_source_name = local.exporter_db == null || var.postgres_password == null ? null : format(
    "postgresql://%s:%s@%s:%d/%s?sslmode=%s", urlencode(coalesce(var.postgres.user, "postgres")), urlencode(var.postgres_password),
    local.exporter_db_url_host, coalesce(var.postgres.port, 5432), urlencode(coalesce(var.postgres.database, "postgres")),
    coalesce(var.postgres.sslmode, "prefer"),
  )
  redis_exporter = {
    enabled = var.monitoring.exporters.enabled && local.exporter_cache != null
    image   = var.monitoring.exporters.image
    address = local.exporter_cache == null ? null : "redis://${local.exporter_cache_url_host}:${var.redis.port}"
  }
  redis_exporter_password = var.redis_password

  wait_for = [local.inputs, local.checked]
}

locals {
  exporter_db             = try(var.hosts[sort(keys(local.with_role.db))[0]].address, null)
  exporter_cache          = try(var.hosts[sort(keys(local.with_role.cache))[0]].address, null)
  exporter_db_url_host    = local.exporter_db == null ? null : (strcontains(local.exporter_db, ":") ? "[${local.exporter_db}]" : local.exporter_db)
  exporter_cache_url_host = local.exporter_cache == null ? null : (strcontains(local.exporter_cache, ":") ? "[${local.exporter_cache}]" : local.exporter_cache)
}

# The load test, off by default: Locust on an api host against its Traefik,
# after every layer; any change of a layer's inputs runs it again.
locals {
  load_test_host = var.load_test.enabled ? coalesce(var.load_test.host, sort(keys(local.with_role.api))[0]) : null
}

resource "mcpai_load_test" "api" {
  for_each = local.load_test_host == null ? {} : { (local.load_test_host) = var.hosts[local.load_test_host] }

  ssh         = merge(each.value.ssh, { host = each.value.address })
  image       = var.load_test.image
  target      = trimsuffix(module.api[each.key].endpoint, "/")
  users       = var.load_test.users
  spawn_rate  = var.load_test.spawn_rate
  duration    = var.load_test.duration
  wait_time   = var.load_test.wait_time
  tasks       = var.load_test.tasks
  slo         = var.load_test.slo
  on_slo_miss = var.load_test.on_slo_miss
  # Every layer's inputs (secrets and SSH settings left out) and the API's
  # containers: a change to any of them is a new stack to measure.
  triggers = merge(var.load_test.triggers, {
    stack_inputs = sha256(jsonencode([
      { for name, h in var.hosts : name => [h.address, h.roles, h.shared_kernel] }, var.host_tuning, var.docker, var.postgres, var.redis, var.model_runner, var.api, var.monitoring, var.pgbouncer,
    ]))
    api_containers = join(",", module.api[each.key].api_container_ids)
  })

  depends_on = [module.host_tuning, module.docker, module.postgres, module.redis, module.model_runner, module.api, module.pgbouncer, module.monitoring]
}

# The layers' inputs, checked by their own modules before any layer runs.
module "check_host_tuning" {
  source = "../host-tuning"
  count  = var.host_tuning.enabled ? 1 : 0

  hosts                        = ["validate-only.invalid"]
  ssh                          = {}
  extra_settings               = var.host_tuning.sysctls
  leave_alone                  = var.host_tuning.leave_alone
  transparent_hugepage_enabled = var.host_tuning.transparent_hugepage
  transparent_hugepage_defrag  = var.host_tuning.transparent_hugepage
  cpu_governor                 = var.host_tuning.cpu_governor
  cpu_governor_optional        = var.host_tuning.cpu_governor_optional
  nofile_limit                 = { soft = var.host_tuning.nofile_limit, hard = var.host_tuning.nofile_limit }
  sysctl_file                  = var.host_tuning.sysctl_file
  validate_only                = true
}

module "check_docker" {
  source = "../docker-host"
  count  = var.docker.enabled && length(local.docker_hosts) > 0 ? 1 : 0

  hosts           = ["validate-only.invalid"]
  ssh             = {}
  log_max_size    = var.docker.log_max_size
  log_max_file    = var.docker.log_max_file
  nofile_limit    = { soft = var.docker.nofile_limit, hard = var.docker.nofile_limit }
  live_restore    = var.docker.live_restore
  cgroup_driver   = var.docker.cgroup_driver
  storage_driver  = var.docker.storage_driver
  nvidia_runtime  = var.docker.nvidia_runtime
  restart         = var.docker.restart
  restart_command = var.docker.restart_command
  validate_only   = true
}

module "check_postgres" {
  source = "../postgres"
  count  = length(local.with_role.db) > 0 ? 1 : 0

  host            = "validate-only.invalid"
  ssh             = {}
  ssh_tunnel      = !var.postgres.direct
  port            = var.postgres.port
  user            = var.postgres.user
  password        = var.postgres_password
  database        = var.postgres.database
  sslmode         = var.postgres.sslmode
  db_version      = var.postgres.db_version
  db_type         = var.postgres.db_type
  connections     = var.postgres.connections
  disk_type       = var.postgres.disk_type
  total_memory    = var.postgres.total_memory
  cpu_count       = var.postgres.cpu_count
  restart         = var.postgres.restart
  restart_command = var.postgres.restart_command
  overrides       = var.postgres.overrides
  indexes         = var.postgres.indexes

  pg_stat_statements = var.postgres.pg_stat_statements
  validate_only      = true
}

module "check_redis" {
  source = "../redis"
  count  = length(local.with_role.cache) > 0 ? 1 : 0

  # Through the host's SSH connection, as the host itself sees the server.
  address            = "127.0.0.1:${var.redis.port}"
  ssh_host           = "validate-only.invalid"
  ssh                = {}
  username           = var.redis.username
  password           = var.redis_password
  maxmemory          = var.redis.maxmemory
  maxmemory_fraction = var.redis.maxmemory_fraction
  maxmemory_policy   = var.redis.maxmemory_policy
  persistence        = var.redis.persistence
  extra_settings     = var.redis.extra_settings
  validate_only      = true
}

module "check_model_runner" {
  source = "../model-runner"
  count  = length(local.with_role.gpu) > 0 ? 1 : 0

  host          = "validate-only.invalid"
  ssh           = {}
  name          = var.model_runner.name
  image         = var.model_runner.image
  server        = var.model_runner.server
  command       = var.model_runner.command
  env           = var.model_runner.env
  sensitive_env = var.model_runner_sensitive_env
  ports         = var.model_runner.ports
  volumes       = var.model_runner.volumes
  health_path   = var.model_runner.health_path
  health_port   = var.model_runner.health_port
  ulimits       = var.model_runner.ulimits
  gpus          = local.model_gpus
  memory        = var.model_runner.memory
  cpuset        = var.model_runner.cpuset
  timeouts      = var.model_runner.timeouts

  dtype               = var.model_runner.dtype
  quantization        = var.model_runner.quantization
  max_batch_size      = var.model_runner.max_batch_size
  tensor_parallel     = var.model_runner.tensor_parallel
  gpu_memory_fraction = var.model_runner.gpu_memory_fraction
  allow_tf32          = var.model_runner.allow_tf32
  cuda_alloc_conf     = var.model_runner.cuda_alloc_conf
  python_malloc       = var.model_runner.python_malloc
  malloc_arena_max    = var.model_runner.malloc_arena_max
  torch_compile_mode  = var.model_runner.torch_compile_mode
  validate_only       = true
}

module "check_api" {
  source   = "../api-service"
  for_each = local.with_role.api

  host               = each.value.address
  ssh                = {}
  image              = var.api.image
  name               = var.api.name
  app                = var.api.app
  replicas           = var.api.replicas
  base_port          = var.api.base_port
  app_port           = var.api.app_port
  workers            = var.api.workers
  loop               = var.api.loop
  http               = var.api.http
  access_log         = var.api.access_log
  timeout_keep_alive = var.api.timeout_keep_alive
  backlog            = var.api.backlog
  env                = var.api.env
  sensitive_env      = var.api_sensitive_env
  memory             = var.api.memory
  cpus               = var.api.cpus
  nofile             = var.api.nofile
  restart_policy     = var.api.restart_policy
  traefik_image      = var.api.traefik_image
  port               = var.api.port
  metrics_port       = var.api.metrics_port
  path_prefix        = var.api.path_prefix
  health_check       = var.api.health_check
  traefik_config_dir = var.api.traefik_config_dir
  traefik_memory     = var.api.traefik_memory
  timeouts           = var.api.timeouts
  validate_only      = true
}

module "check_monitoring" {
  source = "../monitoring"
  count  = local.monitoring_host == null ? 0 : 1

  host              = "validate-only.invalid"
  ssh               = {}
  rules_path        = var.monitoring.rules_path
  targets_path      = var.monitoring.targets_path
  promtool          = var.monitoring.promtool
  thresholds        = var.monitoring.thresholds
  rate_window       = var.monitoring.rate_window
  alert_labels      = var.monitoring.alert_labels
  group_prefix      = var.monitoring.group_prefix
  metrics_endpoints = local.metrics_endpoints
  prometheus        = var.monitoring.prometheus
  validate_only     = true
}
