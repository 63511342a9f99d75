variable "address" {
  description = "host:port of the Redis server. With ssh_host, as that host sees it (e.g. 127.0.0.1:6379). Changing it replaces the configuration: it is another server."
  type        = string

  validation {
    condition     = can(regex("^(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9._-]+):[0-9]{1,5}$", var.address)) && try(tonumber(regex(":([0-9]+)$", var.address)[0]) <= 65535, false)
    error_message = "address must be host:port (e.g. 10.0.1.40:6379, or [::1]:6379 for IPv6)."
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

variable "password" {
  description = "Password of the default user (requirepass) or of username. Null for a server without authentication."
  type        = string
  default     = null
  sensitive   = true
}

variable "username" {
  description = "ACL user to log in as; the default user when null. It needs CONFIG GET, CONFIG SET, CONFIG REWRITE and INFO."
  type        = string
  default     = null

  validation {
    condition     = var.username == null ? true : can(regex("^[^\\s]+$", var.username))
    error_message = "username must be one word without spaces, or null."
  }
}

variable "ssh_host" {
  description = "Address of the host Redis runs on, to reach it through an SSH tunnel (settings from `ssh`, then the mcpai provider's ssh block). Null connects to address directly."
  type        = string
  default     = null

  validation {
    condition     = var.ssh_host == null ? true : can(regex("^[A-Za-z0-9.:_-]+$", var.ssh_host))
    error_message = "ssh_host must be an IP address or DNS name, or null."
  }
}

variable "maxmemory" {
  description = "Memory limit (maxmemory) as Redis takes it, e.g. 8gb (1gb is 1024^3 bytes, 1g 10^9). Null sizes it as maxmemory_fraction of the host's memory."
  type        = string
  default     = null

  validation {
    condition     = var.maxmemory == null ? true : can(regex("^[0-9]+([kKmMgG][bB]?)?$", var.maxmemory))
    error_message = "maxmemory must be a number of bytes with an optional k, kb, m, mb, g or gb (e.g. 8gb), or null."
  }
}

variable "maxmemory_fraction" {
  description = "Without maxmemory, the share of the host's memory (read with mcpai_host_facts from ssh_host, or from address's host over SSH) that Redis may use. Leave room for the fork that RDB and AOF rewrites make, and for other services on the host."
  type        = number
  default     = 0.5
  nullable    = false

  validation {
    condition     = var.maxmemory_fraction > 0 && var.maxmemory_fraction <= 0.9
    error_message = "maxmemory_fraction must be above 0 and at most 0.9."
  }
}

variable "maxmemory_policy" {
  description = "What Redis evicts at maxmemory (maxmemory-policy); allkeys-lru for a cache."
  type        = string
  default     = "allkeys-lru"

  validation {
    condition     = var.maxmemory_policy == null ? true : contains(["allkeys-lru", "allkeys-lfu", "allkeys-random", "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl", "noeviction"], var.maxmemory_policy)
    error_message = "maxmemory_policy must be one of allkeys-lru, allkeys-lfu, allkeys-random, volatile-lru, volatile-lfu, volatile-random, volatile-ttl or noeviction, or null."
  }
}

variable "persistence" {
  description = "none: no snapshots and no AOF (a pure cache); rdb: snapshots on the rdb_save schedule; aof: an append-only file fsynced every second (appendfsync everysec), no snapshot schedule. Null leaves save, appendonly and appendfsync alone."
  type        = string
  default     = "rdb"

  validation {
    condition     = var.persistence == null ? true : contains(["none", "rdb", "aof"], var.persistence)
    error_message = "persistence must be none, rdb or aof, or null."
  }
}

variable "rdb_save" {
  description = "With persistence = \"rdb\", the snapshot schedule (save) as pairs of seconds and changes: \"900 1 300 10 60 10000\" snapshots after 900 s if 1 key changed, 300 s if 10, 60 s if 10000."
  type        = string
  default     = "900 1 300 10 60 10000"
  nullable    = false

  validation {
    condition     = can(regex("^\\s*[1-9][0-9]*\\s+[0-9]+(\\s+[1-9][0-9]*\\s+[0-9]+)*\\s*$", var.rdb_save))
    error_message = "rdb_save must be pairs of seconds (1 or more) and changes, e.g. \"900 1 300 10 60 10000\"."
  }
}

variable "tcp_keepalive" {
  description = "Seconds between TCP keepalives to clients (tcp-keepalive), so dead peers are noticed; 0 turns them off."
  type        = number
  default     = 60

  validation {
    condition     = var.tcp_keepalive == null ? true : var.tcp_keepalive >= 0 && var.tcp_keepalive <= 86400 && floor(var.tcp_keepalive) == var.tcp_keepalive
    error_message = "tcp_keepalive must be a whole number of seconds between 0 and 86400, or null."
  }
}

variable "timeout" {
  description = "Seconds after which an idle client is disconnected (timeout); 0 never."
  type        = number
  default     = 300

  validation {
    condition     = var.timeout == null ? true : var.timeout >= 0 && var.timeout <= 2147483647 && floor(var.timeout) == var.timeout
    error_message = "timeout must be a whole number of seconds (0 for never), or null."
  }
}

variable "lazyfree" {
  description = "Free memory in a background thread on eviction, expiry, server-side deletes, DEL and replica flushes (lazyfree-lazy-eviction, -expire, -server-del, -user-del, replica-lazy-flush), so big keys do not block the server. false sets them to no; null leaves them alone."
  type        = bool
  default     = true
}

variable "extra_settings" {
  description = "More Redis parameters, name to value as redis.conf takes them; they override the values above. Only parameters Redis can change at runtime: the resource refuses others (databases, tcp-backlog, ...) before changing anything."
  type        = map(string)
  default     = {}
  nullable    = false

  validation {
    condition     = alltrue([for k in keys(var.extra_settings) : can(regex("^[a-z][a-z0-9-]*$", lower(k)))])
    error_message = "extra_settings keys must be Redis parameter names (letters, digits and hyphens), e.g. hz or active-defrag."
  }

  validation {
    # Checked here too, so that a secret is refused before the host is read.
    condition     = length(setintersection([for k in keys(var.extra_settings) : lower(k)], ["requirepass", "masterauth", "masteruser", "tls-key-file-pass", "tls-client-key-file-pass"])) == 0
    error_message = "extra_settings must not hold secrets (requirepass, masterauth, masteruser, TLS key passphrases): plans and state would show them in plain text. Set them in redis.conf or with ACL SETUSER."
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
