variable "hosts" {
  description = "The stack's hosts by name: address (IP or DNS name), roles (any of api, gpu, db, cache; none for a host that gets only the host layer), shared_kernel (true for a host that shares its kernel with others, such as an LXC guest: its kernel-wide settings are left to the machine that owns the kernel) and ssh (the provider's ssh attributes except host; unset ones come from the provider block)."
  type = map(object({
    address       = string
    roles         = optional(set(string), [])
    shared_kernel = optional(bool, false)
    ssh = optional(object({
      port                     = optional(number)
      user                     = optional(string)
      private_key              = optional(string)
      private_key_passphrase   = optional(string)
      password                 = optional(string)
      agent                    = optional(bool)
      known_hosts              = optional(string)
      host_key                 = optional(string)
      insecure_ignore_host_key = optional(bool)
      sudo                     = optional(bool)
      timeout                  = optional(string)
      bastion = optional(object({
        host                     = string
        port                     = optional(number)
        user                     = optional(string)
        private_key              = optional(string)
        private_key_passphrase   = optional(string)
        password                 = optional(string)
        agent                    = optional(bool)
        known_hosts              = optional(string)
        host_key                 = optional(string)
        insecure_ignore_host_key = optional(bool)
      }))
    }), {})
  }))
  nullable = false

  validation {
    condition     = length(var.hosts) > 0
    error_message = "hosts must hold at least one host."
  }
  validation {
    condition     = alltrue([for h in values(var.hosts) : alltrue([for r in h.roles : contains(["api", "gpu", "db", "cache"], r)])])
    error_message = "Each host's roles must be among api, gpu, db and cache."
  }
  validation {
    condition     = alltrue([for h in values(var.hosts) : can(regex("^[A-Za-z0-9.:_-]+$", h.address))])
    error_message = "Each host's address must be an IP address or DNS name."
  }
  validation {
    condition     = length(distinct([for h in values(var.hosts) : h.address])) == length(var.hosts)
    error_message = "Two hosts share an address: give each host once, with all its roles."
  }
  # The ssh objects are checked here too, so that a bad one stops the plan
  # before any host is reached (the provider would refuse it only once its
  # layer runs, after the other layers have read their hosts).
  validation {
    condition = alltrue([for h in values(var.hosts) : alltrue([for p in [h.ssh.port, try(h.ssh.bastion.port, null)] :
      p == null ? true : p >= 1 && p <= 65535 && floor(p) == p
    ])])
    error_message = "Each host's ssh.port (and ssh.bastion.port) must be a TCP port (1 to 65535)."
  }
  validation {
    condition = alltrue([for h in values(var.hosts) :
      h.ssh.timeout == null ? true : can(regex("^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$", h.ssh.timeout))
    ])
    error_message = "Each host's ssh.timeout must be a duration such as 30s or 2m."
  }
  validation {
    condition     = alltrue([for h in values(var.hosts) : alltrue([for u in [h.ssh.user, try(h.ssh.bastion.user, null)] : u == null ? true : length(u) > 0])])
    error_message = "Each host's ssh.user (and ssh.bastion.user) must not be empty; leave it unset for the provider's."
  }
  validation {
    condition = alltrue([for h in values(var.hosts) :
      h.ssh.bastion == null ? true : can(regex("^[A-Za-z0-9.:_-]+$", h.ssh.bastion.host))
    ])
    error_message = "Each host's ssh.bastion.host must be an IP address or DNS name."
  }
}

variable "host_tuning" {
  description = "The host layer, applied to every host (modules/host-tuning): the guide's sysctls with `sysctls` added or overriding them, `leave_alone` (guide settings to leave as each host has them, e.g. net.core.rmem_max where a network namespace refuses it), transparent huge pages, the CPU governor (`cpu_governor_optional`: a host without cpufreq only warns) and the open-file limit. `enabled = false` skips the layer."
  type = object({
    enabled               = optional(bool, true)
    sysctls               = optional(map(string), {})
    leave_alone           = optional(set(string), [])
    transparent_hugepage  = optional(string, "never")
    cpu_governor          = optional(string, "performance")
    cpu_governor_optional = optional(bool, true)
    nofile_limit          = optional(number, 65536)
    sysctl_file           = optional(string)
  })
  default  = {}
  nullable = false
}

variable "docker" {
  description = "The Docker layer on api and gpu hosts (modules/docker-host): log rotation, the containers' default open-file limit, live-restore, cgroup and storage drivers, the NVIDIA runtime (gpu hosts only), and how dockerd is restarted when a setting needs it (`restart`: auto, reload_only or never; `restart_command` for hosts without systemd or the init script). `enabled = false` skips the layer."
  type = object({
    enabled         = optional(bool, true)
    log_max_size    = optional(string, "10m")
    log_max_file    = optional(number, 3)
    nofile_limit    = optional(number, 65536)
    live_restore    = optional(bool, true)
    cgroup_driver   = optional(string)
    storage_driver  = optional(string)
    nvidia_runtime  = optional(bool, true)
    restart         = optional(string)
    restart_command = optional(list(string))
  })
  default  = {}
  nullable = false
}

variable "postgres" {
  description = "The database layer on db hosts (modules/postgres): PostgreSQL sized from each host with PGTune. `db_version` is required when a host has the db role. The server is reached through the host's SSH connection at 127.0.0.1:`port` unless `direct` is true. `restart = \"allowed\"` lets the module restart the server for settings that need it (`restart_command` where pg_ctlcluster/systemd do not fit); `pg_stat_statements` (needs restarts) enables the extension the monitoring layer's slow-query alert reads; `overrides` win over PGTune; `indexes` as modules/postgres takes them. The password is `postgres_password`."
  type = object({
    db_version      = optional(number)
    port            = optional(number)
    user            = optional(string)
    database        = optional(string)
    sslmode         = optional(string)
    direct          = optional(bool, false)
    db_type         = optional(string)
    connections     = optional(number)
    disk_type       = optional(string)
    total_memory    = optional(string)
    cpu_count       = optional(number)
    restart         = optional(string)
    restart_command = optional(list(string))
    pg_stat_statements = optional(object({
      max   = optional(number, 10000)
      track = optional(string, "all")
    }))
    overrides = optional(map(string))
    indexes = optional(map(object({
      table  = string
      schema = optional(string)
      columns = list(object({
        name  = string
        order = optional(string)
        nulls = optional(string)
      }))
      unique = optional(bool)
      where  = optional(string)
      method = optional(string)
    })))
  })
  default  = {}
  nullable = false

  validation {
    condition     = var.postgres.db_version != null || !anytrue([for h in values(var.hosts) : contains(h.roles, "db")])
    error_message = "postgres.db_version is required when a host has the db role: PGTune sizes for a major version (e.g. 15)."
  }
}

variable "postgres_password" {
  description = "The PostgreSQL user's password (null: none, e.g. trust or peer authentication)."
  type        = string
  default     = null
  sensitive   = true
}

variable "redis" {
  description = "The cache layer on cache hosts (modules/redis): maxmemory (or `maxmemory_fraction` of the host's memory), the eviction policy, persistence (none, rdb or aof) and more Redis parameters in `extra_settings`. Redis is reached through the host's SSH connection at 127.0.0.1:`port`. The password is `redis_password`."
  type = object({
    port               = optional(number, 6379)
    username           = optional(string)
    maxmemory          = optional(string)
    maxmemory_fraction = optional(number)
    maxmemory_policy   = optional(string, "allkeys-lru")
    persistence        = optional(string, "rdb")
    extra_settings     = optional(map(string))
  })
  default  = {}
  nullable = false

  validation {
    condition     = var.redis.port >= 1 && var.redis.port <= 65535 && floor(var.redis.port) == var.redis.port
    error_message = "redis.port must be a TCP port (1 to 65535)."
  }
}

variable "redis_password" {
  description = "The Redis password (requirepass or the ACL user's)."
  type        = string
  default     = null
  sensitive   = true
}

variable "model_runner" {
  description = "The GPU layer on gpu hosts (modules/model-runner): the inference server's `image` (required when a host has the gpu role) and `server` kind, its container `name`, `command`, `env`, `ports`, `volumes`, readiness (`health_path`, `health_port`), `ulimits` (null: the guide's memlock unlimited and 64 MiB stack), GPUs (`gpu_ids`, or `gpu_count`; neither: all), `memory`, `cpuset`, the inference knobs (`dtype`, `quantization`, `max_batch_size`, `tensor_parallel`, `gpu_memory_fraction`, `allow_tf32`, `cuda_alloc_conf`, `python_malloc`, `malloc_arena_max`, `torch_compile_mode`) and `timeouts`. Secret environment goes in `model_runner_sensitive_env`."
  type = object({
    image   = optional(string)
    server  = optional(string, "vllm")
    name    = optional(string, "mcpai-model-runner")
    command = optional(list(string))
    env     = optional(map(string))
    ports = optional(list(object({
      container_port = number
      host_port      = optional(number)
      host_ip        = optional(string)
      protocol       = optional(string)
    })))
    volumes = optional(list(object({
      source    = string
      target    = string
      read_only = optional(bool)
    })))
    health_path = optional(string)
    health_port = optional(number)
    ulimits = optional(list(object({
      name = string
      soft = number
      hard = number
    })))
    gpu_ids             = optional(list(string))
    gpu_count           = optional(number)
    memory              = optional(string)
    cpuset              = optional(string)
    dtype               = optional(string)
    quantization        = optional(string)
    max_batch_size      = optional(number)
    tensor_parallel     = optional(number)
    gpu_memory_fraction = optional(number)
    allow_tf32          = optional(bool)
    cuda_alloc_conf     = optional(string)
    python_malloc       = optional(string)
    malloc_arena_max    = optional(number)
    torch_compile_mode  = optional(string)
    timeouts = optional(object({
      create = optional(string)
      update = optional(string)
      read   = optional(string)
      delete = optional(string)
    }))
  })
  default  = {}
  nullable = false

  validation {
    condition     = var.model_runner.image != null || !anytrue([for h in values(var.hosts) : contains(h.roles, "gpu")])
    error_message = "model_runner.image is required when a host has the gpu role."
  }
  validation {
    condition     = var.model_runner.gpu_ids == null || var.model_runner.gpu_count == null
    error_message = "model_runner takes gpu_ids or gpu_count, not both."
  }
}

variable "model_runner_sensitive_env" {
  description = "Secret environment of the inference server (e.g. HF_TOKEN), kept out of plans and logs."
  type        = map(string)
  default     = {}
  nullable    = false
  sensitive   = true
}

variable "api" {
  description = "The API layer on api hosts (modules/api-service): the API's `image` (required when a host has the api role), its uvicorn settings (`app`, `replicas`, `workers` (null: from the host's CPUs), `loop`, `http`, `access_log`, `timeout_keep_alive`, `backlog`), container limits (`memory`, `cpus`, `nofile`), `env`, and Traefik in front (`traefik_image`, `port`, `metrics_port`, `path_prefix`, `health_check`, `traefik_config_dir`, `traefik_memory`). Unset attributes take modules/api-service's defaults. Secret environment goes in `api_sensitive_env`."
  type = object({
    image              = optional(string)
    name               = optional(string)
    app                = optional(string)
    replicas           = optional(number)
    base_port          = optional(number)
    app_port           = optional(number)
    workers            = optional(number)
    loop               = optional(string)
    http               = optional(string)
    access_log         = optional(bool)
    timeout_keep_alive = optional(number)
    backlog            = optional(number)
    env                = optional(map(string))
    memory             = optional(string)
    cpus               = optional(string)
    nofile             = optional(number, 65535)
    restart_policy     = optional(string)
    traefik_image      = optional(string)
    port               = optional(number)
    metrics_port       = optional(number)
    path_prefix        = optional(string)
    health_check = optional(object({
      path     = optional(string, "/health")
      interval = optional(string, "5s")
      timeout  = optional(string, "2s")
    }))
    traefik_config_dir = optional(string)
    traefik_memory     = optional(string)
    timeouts = optional(object({
      create = optional(string)
      update = optional(string)
      read   = optional(string)
      delete = optional(string)
    }))
  })
  default  = {}
  nullable = false

  validation {
    condition     = var.api.image != null || !anytrue([for h in values(var.hosts) : contains(h.roles, "api")])
    error_message = "api.image is required when a host has the api role."
  }
}

variable "api_sensitive_env" {
  description = "Secret environment of the API containers (database URLs with passwords, tokens), kept out of plans and logs."
  type        = map(string)
  default     = {}
  nullable    = false
  sensitive   = true
}

variable "monitoring" {
  description = "The monitoring layer (modules/monitoring): Prometheus alerting rules (p95 latency, 5xx ratio, servers down, slow queries) and a file_sd targets file written on the Prometheus host, `host` (a name in hosts; null: the first api host, or the first host). The targets are the stack's own metrics endpoints (Traefik's on every api host, the API containers' and the model runner's where the Prometheus host can reach them) and `metrics_endpoints` (e.g. postgres_exporter's, which the slow-query alert reads). `rules_path`, `targets_path`, `promtool`, `thresholds`, `rate_window`, `alert_labels` and `group_prefix` as modules/monitoring takes them. `prometheus` (with `enabled` and an `image` holding Debian's prometheus package) runs Prometheus there on those files, its rules checked by the image's promtool. `exporters` (with `enabled`; `image` defaults to prometheus.image) runs node_exporter, and postgres_exporter and redis_exporter pointed at the first db and cache hosts with `postgres_password` and `redis_password`, scraped as jobs node, postgres and redis (the slow-query alert and the dashboard's recording rules read them). `enabled = false` skips the layer."
  type = object({
    enabled      = optional(bool, true)
    host         = optional(string)
    rules_path   = optional(string)
    targets_path = optional(string)
    promtool     = optional(string)
    thresholds = optional(object({
      p95_latency_seconds = optional(number, 0.5)
      p95_latency_for     = optional(string, "10m")
      error_ratio         = optional(number, 0.01)
      error_ratio_for     = optional(string, "5m")
      slow_query_seconds  = optional(number, 1)
      slow_query_for      = optional(string, "10m")
      server_down_for     = optional(string, "1m")
    }))
    rate_window  = optional(string)
    alert_labels = optional(map(string))
    group_prefix = optional(string)
    metrics_endpoints = optional(map(object({
      targets      = list(string)
      metrics_path = optional(string, "/metrics")
      scheme       = optional(string, "http")
      labels       = optional(map(string), {})
    })), {})
    prometheus = optional(object({
      enabled             = optional(bool, false)
      image               = optional(string)
      port                = optional(number)
      retention           = optional(string)
      scrape_interval     = optional(string)
      evaluation_interval = optional(string)
      memory              = optional(string)
    }), {})
    exporters = optional(object({
      enabled = optional(bool, false)
      image   = optional(string)
    }), {})
  })
  default  = {}
  nullable = false

  validation {
    condition     = !var.monitoring.exporters.enabled || coalesce(var.monitoring.exporters.image, var.monitoring.prometheus.image, "-") != "-"
    error_message = "monitoring.exporters.enabled needs an image: monitoring.exporters.image or monitoring.prometheus.image."
  }
  validation {
    condition     = var.monitoring.host == null || contains(keys(var.hosts), coalesce(var.monitoring.host, "-"))
    error_message = "monitoring.host must be the name of one of hosts (a key of the hosts map)."
  }
}

variable "pgbouncer" {
  description = "Connection pooling (modules/pgbouncer), off by default: with `enabled`, each api host runs PgBouncer (`image` required, e.g. Debian's pgbouncer package; `port`, `pool_mode` transaction by default, `default_pool_size`, `reserve_pool_size`, `max_client_conn`) in front of the first db host's PostgreSQL, as `user` (null: postgres.user) with `postgres_password`, and the API's DATABASE_HOST, DATABASE_PORT, DATABASE_NAME, DATABASE_USER and DATABASE_PASSWORD (sensitive) point at it (the `pgbouncer` output has its DSN). The pools of all api hosts must fit in the server's max_connections (null: what the db layer sets) minus `superuser_reserved_connections`, and each host's API (replicas x workers x `client_pool_size`, the client pool of each uvicorn worker) in max_client_conn; both are checked when planning."
  type = object({
    enabled                        = optional(bool, false)
    image                          = optional(string)
    name                           = optional(string)
    run_as                         = optional(string)
    config_dir                     = optional(string)
    port                           = optional(number, 6432)
    user                           = optional(string)
    pool_mode                      = optional(string)
    default_pool_size              = optional(number)
    reserve_pool_size              = optional(number)
    max_client_conn                = optional(number)
    max_connections                = optional(number)
    superuser_reserved_connections = optional(number)
    client_pool_size               = optional(number, 10)
    memory                         = optional(string)
  })
  default  = {}
  nullable = false

  validation {
    condition     = !var.pgbouncer.enabled || var.pgbouncer.image != null
    error_message = "pgbouncer.image is required when pgbouncer.enabled is true."
  }
  validation {
    condition     = !var.pgbouncer.enabled || (anytrue([for h in values(var.hosts) : contains(h.roles, "db")]) && anytrue([for h in values(var.hosts) : contains(h.roles, "api")]))
    error_message = "pgbouncer.enabled needs a host with the db role (the server) and one with the api role (where PgBouncer runs)."
  }
  validation {
    condition     = !var.pgbouncer.enabled || var.postgres_password != null
    error_message = "pgbouncer.enabled needs postgres_password: PgBouncer logs in to the server with it."
  }
  validation {
    condition     = var.pgbouncer.client_pool_size >= 1 && floor(var.pgbouncer.client_pool_size) == var.pgbouncer.client_pool_size
    error_message = "pgbouncer.client_pool_size must be a whole number of at least 1."
  }
}

variable "load_test" {
  description = "A Locust load test of the API through Traefik (`mcpai_load_test`), off by default: with `enabled`, it runs from an api host (`host`, null: the first) against that host's Traefik entry point after every layer is applied, and again whenever an input of any layer (or `triggers`) changes: a performance regression test on every change. `users`, `spawn_rate`, `duration`, `wait_time`, `tasks` (default: the guide's mix over /health, /api/requests and /api/compute), `slo` and `on_slo_miss` as the resource takes them; `image` must keep the contract of Locust's official image (null: the resource's default, locustio/locust)."
  type = object({
    enabled    = optional(bool, false)
    host       = optional(string)
    image      = optional(string)
    users      = optional(number, 20)
    spawn_rate = optional(number)
    duration   = optional(string, "30s")
    wait_time = optional(object({
      min = string
      max = string
    }))
    tasks = optional(list(object({
      method  = optional(string, "GET")
      path    = string
      weight  = optional(number, 1)
      body    = optional(string)
      headers = optional(map(string))
      })), [
      { path = "/health", weight = 1 },
      { path = "/api/requests", weight = 3 },
      { method = "POST", path = "/api/requests", weight = 1, body = "{\"payload\":\"load-test\"}", headers = { "Content-Type" = "application/json" } },
      { path = "/api/compute?n=2000", weight = 1 },
    ])
    slo = optional(object({
      p95_ms            = optional(number)
      p99_ms            = optional(number)
      max_failure_ratio = optional(number)
      min_rps           = optional(number)
    }))
    on_slo_miss = optional(string, "fail")
    triggers    = optional(map(string), {})
  })
  default  = {}
  nullable = false

  validation {
    condition     = !var.load_test.enabled || anytrue([for h in values(var.hosts) : contains(h.roles, "api")])
    error_message = "load_test.enabled needs a host with the api role: the load runs there, against its Traefik."
  }
  validation {
    condition     = var.load_test.host == null || try(contains(var.hosts[var.load_test.host].roles, "api"), false)
    error_message = "load_test.host must name a host of hosts with the api role."
  }
}
