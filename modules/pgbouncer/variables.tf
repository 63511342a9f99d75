# Where it runs.

variable "host" {
  description = "Address (IP or DNS name) of the Docker host that runs PgBouncer. Its Engine API is reached through an SSH tunnel with `ssh`, then the mcpai provider's ssh block; clients reach PgBouncer at this address."
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
  description = "Name of the PgBouncer container. Changing it replaces the container."
  type        = string
  nullable    = false
  default     = "mcpai-pgbouncer"

  validation {
    condition     = can(regex("^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,99}$", var.name))
    error_message = "name must start with a letter or digit and hold only letters, digits, _ . - (at most 100)."
  }
}

variable "image" {
  description = "An image with PgBouncer 1.18 or later on PATH as `pgbouncer` (such as Debian bookworm's package), run with an explicit command, so its entrypoint must run the command it is given (or be unset). The sandbox's is `mcpai-debian-stack:latest`."
  type        = string

  validation {
    condition     = length(var.image) > 0 && !can(regex("\\s", var.image))
    error_message = "image must be an image reference without spaces."
  }
}

variable "run_as" {
  description = "The image's user that PgBouncer switches to after reading its configuration as root (`pgbouncer -u`): PgBouncer refuses to run as root. Debian's package brings `postgres`; `nobody` is in every Debian image."
  type        = string
  nullable    = false
  default     = "postgres"

  validation {
    condition     = can(regex("^[a-z_][a-z0-9_-]*$", var.run_as)) && var.run_as != "root"
    error_message = "run_as must be a user name other than root."
  }
}

variable "config_dir" {
  description = "Folder on the host for pgbouncer.ini and userlist.txt (both 0600, root's), mounted read-only at /etc/pgbouncer in the container. Created when missing and removed on destroy when empty."
  type        = string
  nullable    = false
  default     = "/etc/mcpai-pgbouncer"

  validation {
    condition     = can(regex("^/[A-Za-z0-9._/-]*[A-Za-z0-9._-]$", var.config_dir)) && !strcontains(var.config_dir, "..")
    error_message = "config_dir must be an absolute path without .. or a trailing slash."
  }
}

variable "listen_addr" {
  description = "Address PgBouncer listens on. The container shares the host's network, so this is a host address: 0.0.0.0 for all, 127.0.0.1 for clients on the host only."
  type        = string
  nullable    = false
  default     = "0.0.0.0"

  validation {
    condition     = can(regex("^[0-9A-Fa-f.:]+$", var.listen_addr))
    error_message = "listen_addr must be an IP address."
  }
}

variable "port" {
  description = "Port PgBouncer listens on, on the host."
  type        = number
  nullable    = false
  default     = 6432

  validation {
    condition     = var.port >= 1 && var.port <= 65535 && floor(var.port) == var.port
    error_message = "port must be a whole number from 1 to 65535."
  }
}

# The PostgreSQL server behind it.

variable "server_host" {
  description = "Address of the PostgreSQL server as the Docker host reaches it (PgBouncer runs in the host's network, so 127.0.0.1 is the host itself)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9.:_-]+$", var.server_host))
    error_message = "server_host must be an IP address or DNS name."
  }
}

variable "server_port" {
  description = "PostgreSQL's port."
  type        = number
  nullable    = false
  default     = 5432

  validation {
    condition     = var.server_port >= 1 && var.server_port <= 65535 && floor(var.server_port) == var.server_port
    error_message = "server_port must be a whole number from 1 to 65535."
  }
}

variable "user" {
  description = "The role clients log in to PgBouncer as, and PgBouncer to PostgreSQL as; also PgBouncer's admin user (SHOW POOLS on the `pgbouncer` database)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z_][A-Za-z0-9_.-]{0,62}$", var.user))
    error_message = "user must be a role name of letters, digits, _ . - (at most 63, not starting with a digit)."
  }
}

variable "password" {
  description = "The role's password. Clients authenticate with md5 against the secret in userlist.txt (md5 of password and user); PgBouncer logs in to PostgreSQL with the password itself (SCRAM or md5, as the server asks), so pgbouncer.ini holds it: both files are 0600 and hidden in plans."
  type        = string
  sensitive   = true

  validation {
    condition     = length(var.password) > 0 && !can(regex("[\\n\\r\\x00]", var.password))
    error_message = "password must not be empty and must not hold line breaks or NUL."
  }
}

variable "databases" {
  description = "The databases clients reach through PgBouncer, each with its own pool of server connections (default_pool_size) for user."
  type        = list(string)
  nullable    = false

  validation {
    condition     = length(var.databases) > 0 && alltrue([for d in var.databases : can(regex("^[A-Za-z_][A-Za-z0-9_.-]{0,62}$", d)) && d != "pgbouncer"])
    error_message = "databases must hold at least one database name (letters, digits, _ . -, at most 63, not pgbouncer, the admin console's)."
  }
}

# Pooling.

variable "pool_mode" {
  description = "When a server connection goes back to the pool: transaction (the guide's: after each transaction, so many clients share few server connections; session state such as SET, LISTEN or prepared statements does not survive), session (when the client disconnects) or statement."
  type        = string
  nullable    = false
  default     = "transaction"

  validation {
    condition     = contains(["transaction", "session", "statement"], var.pool_mode)
    error_message = "pool_mode must be transaction, session or statement."
  }
}

variable "default_pool_size" {
  description = "Server connections per database (and user). All pools of all PgBouncers on the server, with reserve_pool_size, must fit in max_connections - superuser_reserved_connections."
  type        = number
  nullable    = false
  default     = 20

  validation {
    condition     = var.default_pool_size >= 1 && floor(var.default_pool_size) == var.default_pool_size
    error_message = "default_pool_size must be a whole number of at least 1."
  }
  validation {
    condition     = (var.default_pool_size + var.reserve_pool_size) * length(var.databases) * var.instances <= (var.max_connections - var.superuser_reserved_connections)
    error_message = "PgBouncer would open up to ${(var.default_pool_size + var.reserve_pool_size) * length(var.databases) * var.instances} server connections: (default_pool_size ${var.default_pool_size} + reserve_pool_size ${var.reserve_pool_size}) x ${length(var.databases)} database(s) x ${var.instances} PgBouncer instance(s), but PostgreSQL accepts ${(var.max_connections - var.superuser_reserved_connections)} (max_connections ${var.max_connections} - superuser_reserved_connections ${var.superuser_reserved_connections}). Lower default_pool_size or reserve_pool_size to at most ${floor((var.max_connections - var.superuser_reserved_connections) / (length(var.databases) * var.instances))} in total, or raise max_connections."
  }
}

variable "reserve_pool_size" {
  description = "Extra server connections a pool may open when a client has waited reserve_pool_timeout (5 s); 0 for none."
  type        = number
  nullable    = false
  default     = 0

  validation {
    condition     = var.reserve_pool_size >= 0 && floor(var.reserve_pool_size) == var.reserve_pool_size
    error_message = "reserve_pool_size must be a whole number of at least 0."
  }
}

variable "max_client_conn" {
  description = "Client connections PgBouncer accepts. With pool_mode transaction or statement, the API's connections (clients) must fit in it."
  type        = number
  nullable    = false
  default     = 1000

  validation {
    condition     = var.max_client_conn >= 1 && floor(var.max_client_conn) == var.max_client_conn
    error_message = "max_client_conn must be a whole number of at least 1."
  }
}

# Sizing against the server, checked when planning.

variable "max_connections" {
  description = "PostgreSQL's max_connections: the postgres module's `settings[\"max_connections\"]`, or `provider::mcpai::pgtune(...).max_connections`, as a number."
  type        = number
  nullable    = false

  validation {
    condition     = var.max_connections >= 1 && floor(var.max_connections) == var.max_connections
    error_message = "max_connections must be a whole number of at least 1."
  }
}

variable "superuser_reserved_connections" {
  description = "PostgreSQL's superuser_reserved_connections (its default is 3): connections only superusers may use, so not PgBouncer's."
  type        = number
  nullable    = false
  default     = 3

  validation {
    condition     = var.superuser_reserved_connections >= 0 && var.superuser_reserved_connections < var.max_connections && floor(var.superuser_reserved_connections) == var.superuser_reserved_connections
    error_message = "superuser_reserved_connections must be a whole number from 0 to max_connections - 1."
  }
}

variable "instances" {
  description = "How many PgBouncers (this one included) pool connections to the same server, each with these pools; mcpai-stack runs one per api host."
  type        = number
  nullable    = false
  default     = 1

  validation {
    condition     = var.instances >= 1 && floor(var.instances) == var.instances
    error_message = "instances must be a whole number of at least 1."
  }
}

variable "clients" {
  description = "The API's connections to this PgBouncer, checked when planning: `replicas` (containers) x `workers` (uvicorn workers each) x `pool_size` (the client pool of each worker, e.g. SQLAlchemy's pool_size + max_overflow). They must fit in max_client_conn; with pool_mode session each holds a server connection, so they must also fit in max_connections - superuser_reserved_connections. Null: not checked."
  type = object({
    replicas  = number
    workers   = number
    pool_size = number
  })
  default = null

  validation {
    condition     = var.clients == null ? true : alltrue([for n in values(var.clients) : n >= 1 && floor(n) == n])
    error_message = "clients.replicas, clients.workers and clients.pool_size must be whole numbers of at least 1."
  }
  validation {
    condition     = var.clients == null ? true : var.clients.replicas * var.clients.workers * var.clients.pool_size <= (var.pool_mode == "session" ? (var.max_connections - var.superuser_reserved_connections) : var.max_client_conn)
    error_message = var.clients == null ? "" : "The API would open ${var.clients.replicas * var.clients.workers * var.clients.pool_size} connections to PgBouncer: clients.replicas ${var.clients.replicas} x clients.workers ${var.clients.workers} x clients.pool_size ${var.clients.pool_size}, but ${var.pool_mode == "session" ? "in pool_mode session each holds a server connection, and PostgreSQL accepts ${(var.max_connections - var.superuser_reserved_connections)} (max_connections ${var.max_connections} - superuser_reserved_connections ${var.superuser_reserved_connections})" : "PgBouncer accepts ${var.max_client_conn} (max_client_conn)"}. Lower clients.pool_size, clients.workers or clients.replicas, or raise ${var.pool_mode == "session" ? "max_connections (or use pool_mode transaction)" : "max_client_conn"}."
  }
}

# The container.

variable "memory" {
  description = "Memory limit of the container, e.g. \"256m\"; null for none."
  type        = string
  default     = null

  validation {
    condition     = var.memory == null ? true : can(regex("^[0-9]+[bkmgt]?$", var.memory))
    error_message = "memory must be a size such as \"256m\" or \"1g\"."
  }
}

variable "timeouts" {
  description = "How long creating, updating, reading and deleting the container may take, as durations (\"5m\"); unset ones take the resource's."
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
