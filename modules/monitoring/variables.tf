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
  description = "Scrape targets by job name: targets (host:port, as Prometheus reaches them), metrics_path (default /metrics), scheme (http or https) and extra labels. The api-service module's metrics_endpoints output fits here."
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
