# Where the files go.

variable "host" {
  description = "Address (IP or DNS name) of the Prometheus host, where the rules and targets files are written over SSH with `ssh`, then the mcpai provider's ssh block."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9.:_-]+$", var.host))
    error_message = "host must be an IP address or DNS name."
  }
}

variable "ssh" {
  description = "How to reach the host(s) over SSH: the provider's `ssh` attributes except `host` (`user`, `port`, `private_key`, `private_key_passphrase`, `password`, `agent`, `known_hosts`, `host_key`, `insecure_ignore_host_key`, `sudo`, `timeout`, `bastion`). Unset attributes fall back to the provider block's `ssh`. Secrets in it are sensitive in the resources' plans."
  type = object({
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
  })
  default  = {}
  nullable = false
}

variable "rules_path" {
  description = "Absolute path of the alerting rules file (.yml or .yaml), for prometheus.yml's rule_files. Missing folders are created (mode 0755) and removed on destroy when empty. Prometheus reads it again on SIGHUP or POST /-/reload."
  type        = string
  nullable    = false
  default     = "/etc/prometheus/rules/mcpai.yml"

  validation {
    condition     = can(regex("^(/[A-Za-z0-9._-]+)+\\.ya?ml$", var.rules_path)) && alltrue([for s in split("/", var.rules_path) : s != ".." && s != "."])
    error_message = "rules_path must be an absolute path of a .yml or .yaml file, of letters, digits, . _ - and /, without . or .. folders."
  }
}

variable "targets_path" {
  description = "Absolute path of the scrape targets file, for a file_sd_configs entry in prometheus.yml: .yml or .yaml (written as YAML) or .json (as JSON). Missing folders are created (mode 0755) and removed on destroy when empty. Prometheus picks up changes by itself."
  type        = string
  nullable    = false
  default     = "/etc/prometheus/file_sd/mcpai.yml"

  validation {
    condition     = can(regex("^(/[A-Za-z0-9._-]+)+\\.(ya?ml|json)$", var.targets_path)) && alltrue([for s in split("/", var.targets_path) : s != ".." && s != "."])
    error_message = "targets_path must be an absolute path of a .yml, .yaml or .json file, of letters, digits, . _ - and /, without . or .. folders."
  }
  validation {
    condition     = var.targets_path != var.rules_path
    error_message = "targets_path must not be rules_path: they are two files."
  }
}

variable "promtool" {
  description = "promtool on the host (a name on PATH or an absolute path): when set, `promtool check rules` checks the new rules file on the host before it replaces the old one. null: no check."
  type        = string
  default     = null

  validation {
    condition     = var.promtool == null ? true : can(regex("^(/[A-Za-z0-9._-]+)+$|^[A-Za-z0-9._-]+$", var.promtool))
    error_message = "promtool must be a program name or an absolute path, of letters, digits, . _ - and /."
  }
}

# The guide's alerts.

variable "thresholds" {
  description = "When the alerts fire: p95 latency above p95_latency_seconds, 5xx responses above error_ratio of all responses (0.01 = 1%), a statement's mean execution time above slow_query_seconds, a load-balanced server down, each for its *_for duration (Prometheus durations, e.g. 10m)."
  type = object({
    p95_latency_seconds = optional(number, 0.5)
    p95_latency_for     = optional(string, "10m")
    error_ratio         = optional(number, 0.01)
    error_ratio_for     = optional(string, "5m")
    slow_query_seconds  = optional(number, 1)
    slow_query_for      = optional(string, "10m")
    server_down_for     = optional(string, "1m")
  })
  nullable = false
  default  = {}

  validation {
    condition     = var.thresholds.p95_latency_seconds > 0 && var.thresholds.slow_query_seconds > 0
    error_message = "thresholds.p95_latency_seconds and thresholds.slow_query_seconds must be above 0 (seconds)."
  }
  validation {
    condition     = var.thresholds.error_ratio > 0 && var.thresholds.error_ratio < 1
    error_message = "thresholds.error_ratio must be a fraction between 0 and 1, such as 0.01 for 1%."
  }
  validation {
    condition = alltrue([for d in [var.thresholds.p95_latency_for, var.thresholds.error_ratio_for, var.thresholds.slow_query_for, var.thresholds.server_down_for] :
      d != "" && can(regex("^([0-9]+y)?([0-9]+w)?([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?([0-9]+ms)?$", d))
    ])
    error_message = "The thresholds' *_for values must be Prometheus durations such as 30s, 5m or 1h30m (units y, w, d, h, m, s, ms, in that order)."
  }
}

variable "rate_window" {
  description = "The range the rates are taken over (a Prometheus duration); at least four scrape intervals, so that a missed scrape does not empty it."
  type        = string
  nullable    = false
  default     = "5m"

  validation {
    condition     = can(regex("^([0-9]+y)?([0-9]+w)?([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?([0-9]+ms)?$", var.rate_window)) && can(regex("[1-9]", var.rate_window))
    error_message = "rate_window must be a Prometheus duration above 0, such as 5m or 1m30s."
  }
}

variable "alert_labels" {
  description = "Labels added to every alert, e.g. for Alertmanager's routing."
  type        = map(string)
  nullable    = false
  default     = { severity = "warning" }

  validation {
    condition     = alltrue([for k in keys(var.alert_labels) : can(regex("^[A-Za-z_][A-Za-z0-9_]*$", k)) && !startswith(k, "__")])
    error_message = "alert_labels keys must be label names ([A-Za-z_][A-Za-z0-9_]*) not starting with __."
  }
}

variable "group_prefix" {
  description = "Prefix of the rule groups' names (<prefix>-api, <prefix>-postgres); rule group names must be unique across a Prometheus server's rule files."
  type        = string
  nullable    = false
  default     = "mcpai"

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9_.-]*$", var.group_prefix))
    error_message = "group_prefix must hold only letters, digits, _ . - and start with a letter or digit."
  }
}

# What Prometheus scrapes.

variable "metrics_endpoints" {
  description = "Scrape targets by job name, besides the exporters this module runs: targets (host:port, as Prometheus reaches them), metrics_path (default /metrics), scheme (http or https) and extra labels. The api-service module's metrics_endpoints output fits here."
  type = map(object({
    targets      = list(string)
    metrics_path = optional(string, "/metrics")
    scheme       = optional(string, "http")
    labels       = optional(map(string), {})
  }))
  nullable = false
  default  = {}

  validation {
    condition     = alltrue([for job in keys(var.metrics_endpoints) : can(regex("^[A-Za-z0-9][A-Za-z0-9_.:-]*$", job))])
    error_message = "metrics_endpoints keys are job names: letters, digits, _ . : - starting with a letter or digit."
  }
  validation {
    condition = alltrue(flatten([for e in values(var.metrics_endpoints) : concat([length(e.targets) > 0], [for t in e.targets :
      can(regex("^(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9._-]+):[0-9]{1,5}$", t)) && try(tonumber(regex(":([0-9]+)$", t)[0]) >= 1 && tonumber(regex(":([0-9]+)$", t)[0]) <= 65535, false)
    ])]))
    error_message = "Each metrics_endpoints job needs targets, each host:port (e.g. 10.0.2.20:8082, [::1]:9187) with a port from 1 to 65535."
  }
  validation {
    condition     = alltrue([for e in values(var.metrics_endpoints) : can(regex("^/[\\x21-\\x7e]*$", e.metrics_path)) && contains(["http", "https"], e.scheme)])
    error_message = "A metrics_path must be a path starting with / (no spaces), and scheme http or https."
  }
  validation {
    condition = alltrue(flatten([for e in values(var.metrics_endpoints) : [for k in keys(e.labels) :
      can(regex("^[A-Za-z_][A-Za-z0-9_]*$", k)) && !startswith(k, "__") && k != "job"
    ]]))
    error_message = "metrics_endpoints labels must be label names ([A-Za-z_][A-Za-z0-9_]*), not job (the map's key) nor starting with __."
  }
  validation {
    condition = length(setintersection(keys(var.metrics_endpoints), [for job, on in {
      node = var.node_exporter.enabled, postgres = var.postgres_exporter.enabled, redis = var.redis_exporter.enabled
    } : job if on])) == 0
    error_message = "metrics_endpoints must not name the jobs of the exporters this module runs (node, postgres, redis): they are scraped already."
  }
}

variable "validate_only" {
  description = "Check the inputs and manage nothing: no host is read or changed. mcpai-stack calls each layer's module this way first, so that no layer touches a host while another layer's input is refused. Turning it on where the module already manages something plans that thing's removal."
  type        = bool
  default     = false
  nullable    = false
}

variable "wait_for" {
  description = "Values that this module's host reads and changes wait for (mcpai-stack passes its checks of every layer's inputs, and the Docker layer's daemon configuration). Unlike depends_on on the module call, waiting on a value does not postpone the host facts read to apply time when something upstream has changes pending."
  type        = any
  default     = null
}

# Prometheus and the exporters, as containers on the host (prometheus.tf).

variable "prometheus" {
  description = "Run Prometheus on the host: a container (`name`) from `image` (Debian's prometheus package: `prometheus` and `promtool` on PATH, `setpriv`, the `run_as` user) in the host's network, listening on listen_address:port, loading the rules and targets files (their folders mounted read-only) with a prometheus.yml in `config_dir`; scrape and evaluation every scrape_interval and evaluation_interval; samples kept for `retention` in the named volume `data_volume` (default `<name>-data`, kept on destroy; \"\": in the container, lost when it is replaced). Ready when `/-/ready` answers. A changed rules file or prometheus.yml replaces the container; a changed targets file Prometheus reads by itself. With `check_rules` (and no `promtool`), the rules are checked by the image's promtool (`docker run` on the host) before they replace the old ones."
  type = object({
    enabled             = optional(bool, false)
    image               = optional(string)
    name                = optional(string, "mcpai-prometheus")
    listen_address      = optional(string, "0.0.0.0")
    port                = optional(number, 9090)
    retention           = optional(string, "15d")
    scrape_interval     = optional(string, "15s")
    evaluation_interval = optional(string, "15s")
    data_volume         = optional(string)
    memory              = optional(string)
    check_rules         = optional(bool, true)
  })
  nullable = false
  default  = {}

  validation {
    condition     = !var.prometheus.enabled || try(length(var.prometheus.image) > 0 && !can(regex("\\s", var.prometheus.image)), false)
    error_message = "prometheus.image must be an image reference without spaces when prometheus.enabled is set (e.g. an image with Debian bookworm's prometheus package)."
  }
  validation {
    condition     = can(regex("^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,99}$", var.prometheus.name)) && (var.prometheus.data_volume == null || can(regex("^([a-zA-Z0-9][a-zA-Z0-9_.-]*)?$", var.prometheus.data_volume)))
    error_message = "prometheus.name and prometheus.data_volume must start with a letter or digit and hold only letters, digits, _ . - (data_volume may be \"\": no volume)."
  }
  validation {
    condition     = contains(["0.0.0.0", "127.0.0.1"], var.prometheus.listen_address) && var.prometheus.port >= 1 && var.prometheus.port <= 65535 && floor(var.prometheus.port) == var.prometheus.port
    error_message = "prometheus.listen_address must be 0.0.0.0 (every address) or 127.0.0.1 (the host only; readiness is asked there), and prometheus.port a whole number from 1 to 65535."
  }
  validation {
    condition = alltrue([for d in [var.prometheus.retention, var.prometheus.scrape_interval, var.prometheus.evaluation_interval] :
      can(regex("^([0-9]+y)?([0-9]+w)?([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?([0-9]+ms)?$", d)) && can(regex("[1-9]", d))
    ])
    error_message = "prometheus.retention, scrape_interval and evaluation_interval must be Prometheus durations above 0, such as 15d, 15s or 1m30s."
  }
  validation {
    condition     = var.prometheus.memory == null || can(regex("^[0-9]+[bkmgBKMG]?$", var.prometheus.memory))
    error_message = "prometheus.memory must be a Docker memory size such as 512m or 2g."
  }
  validation {
    condition     = !var.prometheus.enabled || var.group_prefix != "prometheus"
    error_message = "group_prefix must not be prometheus when prometheus.enabled is set: that is the scrape job of Prometheus itself."
  }
}

variable "config_dir" {
  description = "Folder on the host for the files the module's containers read besides the rules and targets: prometheus.yml (with prometheus.enabled) and postgres_exporter's queries file (with postgres_exporter.stat_statements); mounted read-only. Created when missing and removed on destroy when empty."
  type        = string
  nullable    = false
  default     = "/etc/mcpai-monitoring"

  validation {
    condition     = can(regex("^/[A-Za-z0-9._/-]*[A-Za-z0-9._-]$", var.config_dir)) && alltrue([for s in split("/", var.config_dir) : s != ".." && s != "."])
    error_message = "config_dir must be an absolute path without . or .. folders or a trailing slash."
  }
}

variable "run_as" {
  description = "The image's user that Prometheus and the exporters run as (through `setpriv`, with its group of the same name): Debian's prometheus package brings `prometheus`, which owns the image's /var/lib/prometheus/metrics2. It must be able to read the mounted files (they are 0644)."
  type        = string
  nullable    = false
  default     = "prometheus"

  validation {
    condition     = can(regex("^[a-z_][a-z0-9_-]*$", var.run_as))
    error_message = "run_as must be a user name (lower-case letters, digits, _ and -)."
  }
}

variable "node_exporter" {
  description = "Run node_exporter (Debian's `prometheus-node-exporter`) on the host: a container (`name`) in the host's network with the host's /proc and /sys mounted read-only, listening on listen_address:port, scraped as job `node`. `image`: default prometheus.image."
  type = object({
    enabled        = optional(bool, false)
    image          = optional(string)
    name           = optional(string, "mcpai-node-exporter")
    listen_address = optional(string, "127.0.0.1")
    port           = optional(number, 9100)
  })
  nullable = false
  default  = {}

  validation {
    condition     = !var.node_exporter.enabled || try(length(coalesce(var.node_exporter.image, var.prometheus.image)) > 0, false)
    error_message = "node_exporter needs an image: node_exporter.image or prometheus.image."
  }
  validation {
    condition     = can(regex("^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,99}$", var.node_exporter.name)) && contains(["0.0.0.0", "127.0.0.1"], var.node_exporter.listen_address) && var.node_exporter.port >= 1 && var.node_exporter.port <= 65535 && floor(var.node_exporter.port) == var.node_exporter.port
    error_message = "node_exporter.name must hold only letters, digits, _ . - (starting with a letter or digit), listen_address be 0.0.0.0 or 127.0.0.1, and port a whole number from 1 to 65535."
  }
}

variable "postgres_exporter" {
  description = "Run postgres_exporter (Debian's `prometheus-postgres-exporter`, 0.11 in bookworm) on the host: a container (`name`) in the host's network, logging in with `postgres_exporter_data_source_name`, listening on listen_address:port, scraped as job `postgres`. With `stat_statements`, a queries file gives `pg_stat_statements_calls_total` and `pg_stat_statements_seconds_total` (PostgresSlowQueries reads them; PostgreSQL needs pg_stat_statements loaded and created in the database logged in to). `image`: default prometheus.image."
  type = object({
    enabled         = optional(bool, false)
    image           = optional(string)
    name            = optional(string, "mcpai-postgres-exporter")
    listen_address  = optional(string, "127.0.0.1")
    port            = optional(number, 9187)
    stat_statements = optional(bool, true)
  })
  nullable = false
  default  = {}

  validation {
    condition     = !var.postgres_exporter.enabled || try(length(coalesce(var.postgres_exporter.image, var.prometheus.image)) > 0, false)
    error_message = "postgres_exporter needs an image: postgres_exporter.image or prometheus.image."
  }
  validation {
    condition     = can(regex("^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,99}$", var.postgres_exporter.name)) && contains(["0.0.0.0", "127.0.0.1"], var.postgres_exporter.listen_address) && var.postgres_exporter.port >= 1 && var.postgres_exporter.port <= 65535 && floor(var.postgres_exporter.port) == var.postgres_exporter.port
    error_message = "postgres_exporter.name must hold only letters, digits, _ . - (starting with a letter or digit), listen_address be 0.0.0.0 or 127.0.0.1, and port a whole number from 1 to 65535."
  }
  validation {
    condition     = !var.postgres_exporter.enabled || var.postgres_exporter_data_source_name != null
    error_message = "postgres_exporter needs postgres_exporter_data_source_name, the connection string it logs in with."
  }
}

variable "postgres_exporter_data_source_name" {
  description = "The connection string postgres_exporter logs in with, e.g. `postgresql://monitor:secret@127.0.0.1:5432/postgres?sslmode=disable` (the container shares the host's network: 127.0.0.1 is the host). Passed as DATA_SOURCE_NAME, hidden in plans. The role needs pg_monitor."
  type        = string
  default     = null
  sensitive   = true
}

variable "redis_exporter" {
  description = "Run redis_exporter (Debian's `prometheus-redis-exporter`) on the host: a container (`name`) in the host's network scraping the Redis at `address` (as the host reaches it), with `redis_exporter_password`, listening on listen_address:port, scraped as job `redis`. `image`: default prometheus.image."
  type = object({
    enabled        = optional(bool, false)
    image          = optional(string)
    name           = optional(string, "mcpai-redis-exporter")
    address        = optional(string, "redis://127.0.0.1:6379")
    listen_address = optional(string, "127.0.0.1")
    port           = optional(number, 9121)
  })
  nullable = false
  default  = {}

  validation {
    condition     = !var.redis_exporter.enabled || try(length(coalesce(var.redis_exporter.image, var.prometheus.image)) > 0, false)
    error_message = "redis_exporter needs an image: redis_exporter.image or prometheus.image."
  }
  validation {
    condition     = can(regex("^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,99}$", var.redis_exporter.name)) && contains(["0.0.0.0", "127.0.0.1"], var.redis_exporter.listen_address) && var.redis_exporter.port >= 1 && var.redis_exporter.port <= 65535 && floor(var.redis_exporter.port) == var.redis_exporter.port
    error_message = "redis_exporter.name must hold only letters, digits, _ . - (starting with a letter or digit), listen_address be 0.0.0.0 or 127.0.0.1, and port a whole number from 1 to 65535."
  }
  validation {
    condition     = can(regex("^(redis|rediss|unix)://[^\\s]+$", var.redis_exporter.address))
    error_message = "redis_exporter.address must be a redis://, rediss:// or unix:// URL without spaces, e.g. redis://127.0.0.1:6379."
  }
}

variable "redis_exporter_password" {
  description = "Redis's password for redis_exporter (REDIS_PASSWORD, hidden in plans); null: none."
  type        = string
  default     = null
  sensitive   = true
}
