# Where the server is and how to log in.

variable "host" {
  description = "Address (IP or DNS name) of the database host. Its memory, CPUs and disks are read over SSH with `ssh`, then the mcpai provider's ssh block; with ssh_tunnel, PostgreSQL is reached through the same connection."
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

variable "port" {
  description = "PostgreSQL port; with ssh_tunnel, as the host itself sees it."
  type        = number
  nullable    = false
  default     = 5432

  validation {
    condition     = var.port >= 1 && var.port <= 65535 && floor(var.port) == var.port
    error_message = "port must be a whole number between 1 and 65535."
  }
}

variable "user" {
  description = "Role to log in as. ALTER SYSTEM needs a superuser, which may also build the indexes."
  type        = string
  nullable    = false
  default     = "postgres"

  validation {
    condition     = length(var.user) > 0
    error_message = "user must not be empty."
  }
}

variable "password" {
  description = "Password of user; null for none (peer or trust authentication through ssh_tunnel)."
  type        = string
  default     = null
  sensitive   = true
}

variable "database" {
  description = "Database to connect to: the one that holds the indexed tables (the settings are server-wide)."
  type        = string
  nullable    = false
  default     = "postgres"

  validation {
    condition     = length(var.database) > 0
    error_message = "database must not be empty."
  }
}

variable "sslmode" {
  description = "libpq sslmode: disable, allow, prefer, require, verify-ca or verify-full. Null: the provider's default, require without ssh_tunnel (no plaintext password on the network) and prefer through it."
  type        = string
  default     = null

  validation {
    condition     = var.sslmode == null || contains(["disable", "allow", "prefer", "require", "verify-ca", "verify-full"], coalesce(var.sslmode, "-"))
    error_message = "sslmode must be one of disable, allow, prefer, require, verify-ca or verify-full."
  }
}

variable "ssh_tunnel" {
  description = "Reach PostgreSQL through an SSH tunnel to host (at 127.0.0.1:port there), so its port need not be exposed. Needed for restart = \"allowed\"."
  type        = bool
  nullable    = false
  default     = false
}

variable "restart" {
  description = "\"never\": settings that need a restart (shared_buffers, max_connections, shared_preload_libraries, ...) wait for one and are listed in pending_restart. \"allowed\": the server is restarted through SSH when one is needed, checked, and rolled back if it does not come back (needs ssh_tunnel)."
  type        = string
  nullable    = false
  default     = "never"

  validation {
    condition     = contains(["never", "allowed"], var.restart)
    error_message = "restart must be \"never\" or \"allowed\"."
  }
  validation {
    condition     = var.restart == "never" || var.ssh_tunnel
    error_message = "restart = \"allowed\" needs ssh_tunnel = true: the server is restarted on its host over SSH."
  }
}

variable "restart_command" {
  description = "The command that restarts the server on its host, as arguments (no shell), e.g. [\"systemctl\", \"restart\", \"postgresql@16-main\"]; null: pg_ctlcluster <version> <cluster> restart."
  type        = list(string)
  default     = null

  validation {
    condition     = var.restart_command == null ? true : length(var.restart_command) > 0 && alltrue([for a in var.restart_command : length(a) > 0])
    error_message = "restart_command must hold the program and its arguments, none of them empty."
  }
}

# What PGTune sizes for.

variable "db_version" {
  description = "PostgreSQL major version, 10 to 18."
  type        = number

  validation {
    condition     = var.db_version >= 10 && var.db_version <= 18 && floor(var.db_version) == var.db_version
    error_message = "db_version must be a PostgreSQL major version from 10 to 18."
  }
}

variable "db_type" {
  description = "Workload, as PGTune names it: web, oltp, dw (data warehouse), desktop or mixed."
  type        = string
  nullable    = false
  default     = "web"

  validation {
    condition     = contains(["web", "oltp", "dw", "desktop", "mixed"], var.db_type)
    error_message = "db_type must be one of web, oltp, dw, desktop or mixed."
  }
}

variable "connections" {
  description = "max_connections to size for; null for the db_type's default (web 200, oltp 300, dw 40, desktop 20, mixed 100)."
  type        = number
  default     = null

  validation {
    condition     = var.connections == null ? true : var.connections >= 20 && var.connections <= 999999 && floor(var.connections) == var.connections
    error_message = "connections must be a whole number from 20 to 999999."
  }
}

variable "disk_type" {
  description = "Data storage: ssd, hdd, san or nvme; null: hdd when the host has a rotational disk, else ssd."
  type        = string
  default     = null

  validation {
    condition     = var.disk_type == null ? true : contains(["ssd", "hdd", "san", "nvme"], var.disk_type)
    error_message = "disk_type must be one of ssd, hdd, san or nvme."
  }
}

variable "total_memory" {
  description = "Memory PostgreSQL may use, as PGTune takes it (\"16GB\", \"1536MB\"); null: the host's total memory. Set it lower when the host runs other services."
  type        = string
  default     = null

  validation {
    condition     = var.total_memory == null ? true : can(regex("^[1-9][0-9]{0,5}(MB|GB|TB)$", var.total_memory))
    error_message = "total_memory must be a whole number of MB, GB or TB, such as \"16GB\" (at least 512MB)."
  }
}

variable "cpu_count" {
  description = "CPUs PostgreSQL may use; null: the host's online CPUs."
  type        = number
  default     = null

  validation {
    condition     = var.cpu_count == null ? true : var.cpu_count >= 1 && var.cpu_count <= 999999 && floor(var.cpu_count) == var.cpu_count
    error_message = "cpu_count must be a whole number from 1 to 999999."
  }
}

# What goes beyond PGTune.

variable "overrides" {
  description = "Settings that replace or add to PGTune's, name to value as postgresql.conf takes them (e.g. { work_mem = \"32MB\" }). A shared_preload_libraries here is combined with pg_stat_statements."
  type        = map(string)
  nullable    = false
  default     = {}

  validation {
    condition     = alltrue([for k in keys(var.overrides) : can(regex("^[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)?$", k))])
    error_message = "overrides keys must be PostgreSQL setting names, such as work_mem or pg_stat_statements.max."
  }
}

variable "pg_stat_statements" {
  description = "Query statistics (the guide's slow-query tracking): null leaves them off; an object, {} for the defaults, preloads pg_stat_statements and sets pg_stat_statements.max and .track. Loading a library needs a restart: use with restart = \"allowed\". Run CREATE EXTENSION pg_stat_statements in each database that should have the view."
  type = object({
    max   = optional(number, 10000)
    track = optional(string, "all")
  })
  default = null

  validation {
    condition     = var.pg_stat_statements == null ? true : var.pg_stat_statements.max >= 100 && floor(var.pg_stat_statements.max) == var.pg_stat_statements.max && contains(["top", "all", "none"], var.pg_stat_statements.track)
    error_message = "pg_stat_statements.max must be a whole number of at least 100, and track one of top, all or none."
  }
  validation {
    condition     = var.pg_stat_statements == null || var.restart == "allowed"
    error_message = "pg_stat_statements needs restart = \"allowed\" (with ssh_tunnel): the library loads at a restart, and its settings are known only once it is loaded."
  }
}

variable "indexes" {
  description = "Indexes to build (CREATE INDEX CONCURRENTLY), by index name: the table (in schema, default public), its key columns in order (order asc or desc, nulls first or last), and optionally unique, a where predicate (SQL you own, passed as written) and the method (btree by default)."
  type = map(object({
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
  }))
  nullable = false
  default  = {}

  validation {
    condition     = alltrue([for n, i in var.indexes : length(n) > 0 && length(n) <= 63 && length(i.table) > 0 && length(i.columns) > 0])
    error_message = "indexes must be keyed by a name of 1 to 63 characters, each with a table and at least one column."
  }
  validation {
    condition = alltrue(flatten([for i in values(var.indexes) : [
      for c in i.columns : length(c.name) > 0 && contains(["asc", "desc"], coalesce(c.order, "asc")) && contains(["first", "last"], coalesce(c.nulls, "last"))
    ]]))
    error_message = "Each index column needs a name; order must be asc or desc, nulls first or last."
  }
  validation {
    condition     = alltrue([for i in values(var.indexes) : contains(["btree", "hash", "gist", "gin", "brin", "spgist"], coalesce(i.method, "btree"))])
    error_message = "An index method must be one of btree, hash, gist, gin, brin or spgist."
  }
}

variable "validate_only" {
  description = "Check the inputs and manage nothing: no host is read or changed. mcpai-stack calls each layer's module this way first, so that no layer touches a host while another layer's input is refused. Turning it on where the module already manages something plans that thing's removal."
  type        = bool
  default     = false
  nullable    = false
}

variable "wait_for" {
  description = "Values that this module's host reads and changes wait for (mcpai-stack passes its checks of every layer's inputs). Unlike depends_on on the module call, waiting on a value does not postpone the host facts read to apply time when something upstream has changes pending."
  type        = any
  default     = null
}
