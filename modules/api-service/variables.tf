# Where it runs.

variable "host" {
  description = "Address (IP or DNS name) of the Docker host. Its Engine API is reached through an SSH tunnel with `ssh`, then the mcpai provider's ssh block; clients reach Traefik at this address."
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

variable "name" {
  description = "Name of the service: the API containers are <name>-1 to <name>-<replicas>, Traefik's <name>-traefik, and Traefik's router and service <name> (<name>@file in its metrics). Changing it replaces everything."
  type        = string
  nullable    = false
  default     = "mcpai-api"

  validation {
    condition     = can(regex("^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,99}$", var.name))
    error_message = "name must start with a letter or digit and hold only letters, digits, _ . - (at most 100)."
  }
}

# The API containers.

variable "image" {
  description = "The API's image, with uvicorn on PATH and the app importable, e.g. registry.example.com/app/api:2.4.1; pulled when the host does not have it. Its entrypoint must run the command it is given (or be unset)."
  type        = string

  validation {
    condition     = length(var.image) > 0 && !can(regex("\\s", var.image))
    error_message = "image must be an image reference without spaces."
  }
}

variable "app" {
  description = "The ASGI app uvicorn serves, as <module>:<attribute>."
  type        = string
  nullable    = false
  default     = "app.main:app"

  validation {
    condition     = can(regex("^[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)*$", var.app))
    error_message = "app must be <module>:<attribute>, such as app.main:app."
  }
}

variable "replicas" {
  description = "How many API containers Traefik balances over."
  type        = number
  nullable    = false
  default     = 2

  validation {
    condition     = var.replicas >= 1 && var.replicas <= 64 && floor(var.replicas) == var.replicas
    error_message = "replicas must be a whole number from 1 to 64."
  }
}

variable "base_port" {
  description = "Host port of the first API container, published on 127.0.0.1 only (Traefik reaches it there); container i publishes base_port + i - 1."
  type        = number
  nullable    = false
  default     = 8001

  validation {
    condition     = var.base_port >= 1 && floor(var.base_port) == var.base_port && var.base_port + var.replicas - 1 <= 65535
    error_message = "base_port must be a whole number from 1, with base_port + replicas - 1 at most 65535."
  }
}

variable "app_port" {
  description = "Port uvicorn listens on inside each container."
  type        = number
  nullable    = false
  default     = 8000

  validation {
    condition     = var.app_port >= 1 && var.app_port <= 65535 && floor(var.app_port) == var.app_port
    error_message = "app_port must be a whole number from 1 to 65535."
  }
}

# uvicorn.

variable "workers" {
  description = "uvicorn worker processes per container; null: from the CPUs, one worker per CPU spread over the replicas, max(1, floor(cpus)) with cpus set, else max(1, floor(host CPUs / replicas)) with the host's online CPUs read through mcpai_host_facts."
  type        = number
  default     = null

  validation {
    condition     = var.workers == null ? true : var.workers >= 1 && var.workers <= 1024 && floor(var.workers) == var.workers
    error_message = "workers must be a whole number from 1 to 1024, or null."
  }
}

variable "loop" {
  description = "uvicorn's event loop: uvloop (the guide's), asyncio or auto."
  type        = string
  nullable    = false
  default     = "uvloop"

  validation {
    condition     = contains(["uvloop", "asyncio", "auto"], var.loop)
    error_message = "loop must be uvloop, asyncio or auto."
  }
}

variable "http" {
  description = "uvicorn's HTTP protocol implementation: httptools (the guide's), h11 or auto."
  type        = string
  nullable    = false
  default     = "httptools"

  validation {
    condition     = contains(["httptools", "h11", "auto"], var.http)
    error_message = "http must be httptools, h11 or auto."
  }
}

variable "access_log" {
  description = "uvicorn's access log (--access-log); the guide turns it off (--no-access-log): Traefik's metrics count the requests."
  type        = bool
  nullable    = false
  default     = false
}

variable "timeout_keep_alive" {
  description = "Seconds uvicorn keeps an idle keep-alive connection open (--timeout-keep-alive); null: uvicorn's default (5). Keep it above the idle timeout of what is in front."
  type        = number
  default     = null

  validation {
    condition     = var.timeout_keep_alive == null ? true : var.timeout_keep_alive >= 0 && var.timeout_keep_alive <= 86400 && floor(var.timeout_keep_alive) == var.timeout_keep_alive
    error_message = "timeout_keep_alive must be a whole number of seconds from 0 to 86400, or null."
  }
}

variable "backlog" {
  description = "Pending connections uvicorn's socket queues (--backlog); null: uvicorn's default (2048). The kernel caps it at net.core.somaxconn."
  type        = number
  default     = null

  validation {
    condition     = var.backlog == null ? true : var.backlog >= 1 && var.backlog <= 1048576 && floor(var.backlog) == var.backlog
    error_message = "backlog must be a whole number from 1 to 1048576, or null."
  }
}

variable "env" {
  description = "Environment variables of the API containers."
  type        = map(string)
  nullable    = false
  default     = {}

  validation {
    condition     = alltrue([for k in keys(var.env) : can(regex("^[A-Za-z_][A-Za-z0-9_]*$", k))])
    error_message = "env keys must be variable names ([A-Za-z_][A-Za-z0-9_]*)."
  }
}

variable "sensitive_env" {
  description = "Environment variables holding secrets (a database password, an API key), hidden in plans and logs."
  type        = map(string)
  nullable    = false
  default     = {}
  sensitive   = true

  validation {
    condition     = alltrue([for k in keys(var.sensitive_env) : can(regex("^[A-Za-z_][A-Za-z0-9_]*$", k))])
    error_message = "sensitive_env keys must be variable names ([A-Za-z_][A-Za-z0-9_]*)."
  }
}

# Resource limits and the guide's container settings, per API container.

variable "memory" {
  description = "Memory limit of each API container, e.g. 2g; null for none."
  type        = string
  default     = null

  validation {
    condition     = var.memory == null ? true : can(regex("^[0-9]+(\\.[0-9]+)? ?[kKmMgGtTpP]?[iI]?[bB]?$", var.memory)) && can(regex("[1-9]", var.memory))
    error_message = "memory must be a size above 0, such as 2g or 512m."
  }
}

variable "cpus" {
  description = "CPUs each API container may use, e.g. \"2\" or \"1.5\"; null for no limit. Also what workers are sized from when workers is null."
  type        = string
  default     = null

  validation {
    condition     = var.cpus == null ? true : can(regex("^[0-9]+(\\.[0-9]+)?$", var.cpus)) && try(tonumber(var.cpus) > 0, false)
    error_message = "cpus must be a number of CPUs above 0, such as \"2\" or \"1.5\"."
  }
}

variable "nofile" {
  description = "Open-file limit (soft and hard) of each container, Traefik's too: every connection is a file. null: the daemon's default."
  type        = number
  default     = 65535

  validation {
    condition     = var.nofile == null ? true : var.nofile >= 1024 && floor(var.nofile) == var.nofile
    error_message = "nofile must be a whole number of 1024 or more, or null."
  }
}

variable "restart_policy" {
  description = "Restart policy of every container: no, always, unless-stopped or on-failure."
  type        = string
  nullable    = false
  default     = "unless-stopped"

  validation {
    condition     = contains(["no", "always", "unless-stopped", "on-failure"], var.restart_policy)
    error_message = "restart_policy must be one of no, always, unless-stopped or on-failure."
  }
}

variable "log_driver" {
  description = "Logging driver of every container; null: the daemon's default (then log_opts must suit it)."
  type        = string
  default     = "json-file"
}

variable "log_opts" {
  description = "Logging driver options: the guide rotates the log at 100 MB, keeping 3 files."
  type        = map(string)
  nullable    = false
  default     = { "max-size" = "100m", "max-file" = "3" }
}

# Traefik.

variable "traefik_image" {
  description = "Traefik's image (Traefik v3)."
  type        = string
  nullable    = false
  default     = "traefik:v3.3"

  validation {
    condition     = length(var.traefik_image) > 0 && !can(regex("\\s", var.traefik_image))
    error_message = "traefik_image must be an image reference without spaces."
  }
}

variable "port" {
  description = "Port Traefik takes the API's requests on (entry point web), on every address of the host."
  type        = number
  nullable    = false
  default     = 80

  validation {
    condition     = var.port >= 1 && var.port <= 65535 && floor(var.port) == var.port
    error_message = "port must be a whole number from 1 to 65535."
  }
}

variable "metrics_port" {
  description = "Port of Traefik's metrics entry point: /metrics (Prometheus) and /ping (readiness), on every address of the host."
  type        = number
  nullable    = false
  default     = 8082

  validation {
    condition     = var.metrics_port >= 1 && var.metrics_port <= 65535 && floor(var.metrics_port) == var.metrics_port
    error_message = "metrics_port must be a whole number from 1 to 65535."
  }
  validation {
    condition = var.metrics_port != var.port && alltrue([for p in [var.port, var.metrics_port] :
      p < var.base_port || p > var.base_port + var.replicas - 1
    ])
    error_message = "port, metrics_port and the API containers' ports (base_port to base_port + replicas - 1) must all differ."
  }
}

variable "path_prefix" {
  description = "Requests whose path starts with this go to the API (Traefik's PathPrefix rule)."
  type        = string
  nullable    = false
  default     = "/"

  validation {
    condition     = can(regex("^/[A-Za-z0-9._~/-]*$", var.path_prefix))
    error_message = "path_prefix must be a path starting with /, of letters, digits and . _ ~ / -."
  }
}

variable "health_check" {
  description = "Traefik's active health check of each API container (a failing one gets no requests until it passes again); path is also what apply waits on for each container to be ready."
  type = object({
    path     = optional(string, "/health")
    interval = optional(string, "5s")
    timeout  = optional(string, "2s")
  })
  nullable = false
  default  = {}

  validation {
    condition     = can(regex("^/[\\x21-\\x7e]*$", var.health_check.path))
    error_message = "health_check.path must be a path starting with /."
  }
  validation {
    condition = alltrue([for d in [var.health_check.interval, var.health_check.timeout] :
      can(regex("^([0-9]+(\\.[0-9]+)?(h|m|s|ms))+$", d)) && can(regex("[1-9]", d))
    ])
    error_message = "health_check.interval and timeout must be durations above 0, such as 5s or 500ms."
  }
}

variable "traefik_config_dir" {
  description = "Folder on the host for Traefik's dynamic configuration (<name>.yml), mounted read-only into Traefik. Missing folders are created (mode 0755) and removed on destroy when empty. Traefik watches it and applies a new file without a restart."
  type        = string
  nullable    = false
  default     = "/etc/mcpai/traefik"

  validation {
    condition     = can(regex("^(/[A-Za-z0-9._-]+)+$", var.traefik_config_dir)) && alltrue([for s in split("/", var.traefik_config_dir) : s != ".." && s != "."])
    error_message = "traefik_config_dir must be an absolute path of letters, digits, . _ - and /, without . or .. folders."
  }
}

variable "traefik_log_level" {
  description = "Traefik's log level."
  type        = string
  nullable    = false
  default     = "ERROR"

  validation {
    condition     = contains(["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL", "PANIC"], var.traefik_log_level)
    error_message = "traefik_log_level must be one of TRACE, DEBUG, INFO, WARN, ERROR, FATAL or PANIC."
  }
}

variable "traefik_access_log" {
  description = "Traefik's access log; off by the guide (its metrics count the requests)."
  type        = bool
  nullable    = false
  default     = false
}

variable "traefik_memory" {
  description = "Memory limit of the Traefik container, e.g. 512m; null for none."
  type        = string
  default     = null

  validation {
    condition     = var.traefik_memory == null ? true : can(regex("^[0-9]+(\\.[0-9]+)? ?[kKmMgGtTpP]?[iI]?[bB]?$", var.traefik_memory)) && can(regex("[1-9]", var.traefik_memory))
    error_message = "traefik_memory must be a size above 0, such as 512m."
  }
}

variable "timeouts" {
  description = "How long creating, updating, reading and deleting each container may take, as durations (\"5m\"); unset ones take the resource's (10 minutes to become ready)."
  type = object({
    create = optional(string)
    update = optional(string)
    read   = optional(string)
    delete = optional(string)
  })
  default = null

  validation {
    condition     = var.timeouts == null ? true : alltrue([for d in values(var.timeouts) : d == null ? true : can(regex("^([0-9]+(\\.[0-9]+)?(h|m|s))+$", d))])
    error_message = "timeouts must be durations such as \"5m\" or \"1h30m\" (units h, m, s)."
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
