# The performance guide's Redis: a memory limit sized from the host with
# LRU eviction, a choice of persistence, keepalives and idle timeouts, and
# lazy freeing so that deleting big keys does not block the server.
locals {
  # Terraform evaluates independent parts of a configuration at once: the
  # host is read only after every input has passed its validation, so a bad
  # one touches nothing.
  inputs = [
    var.address, var.ssh, var.password, var.username, var.ssh_host, var.maxmemory, var.maxmemory_fraction, var.maxmemory_policy,
    var.persistence, var.rdb_save, var.tcp_keepalive, var.timeout, var.lazyfree, var.extra_settings,
    var.validate_only,
  ]

  # Known when planning, whatever the inputs are: the host is read and
  # changed only after every input (and wait_for) is evaluated, which runs
  # their validation. A reference, not depends_on: depends_on would postpone
  # the facts read to apply time whenever an input's source has changes.
  ready = alltrue([for v in [local.inputs, var.wait_for] : true])

  # The host whose memory sizes maxmemory: the SSH host, or address's host.
  facts_host = var.ssh_host != null ? var.ssh_host : regex("^\\[?(.*?)\\]?:[0-9]+$", var.address)[0]

  maxmemory = var.maxmemory != null || var.validate_only ? var.maxmemory : "${floor(one(data.mcpai_host_facts.redis[*].memory_bytes) * var.maxmemory_fraction / 1048576)}mb"

  persistence = {
    none = { save = "", appendonly = "no" }
    rdb  = { save = var.rdb_save, appendonly = "no" }
    aof  = { save = "", appendonly = "yes", appendfsync = "everysec" }
  }

  lazyfree = var.lazyfree == null ? {} : {
    for p in ["lazyfree-lazy-eviction", "lazyfree-lazy-expire", "lazyfree-lazy-server-del", "lazyfree-lazy-user-del", "replica-lazy-flush"] :
    p => var.lazyfree ? "yes" : "no"
  }

  guide = { for k, v in {
    maxmemory          = local.maxmemory
    "maxmemory-policy" = var.maxmemory_policy
    "tcp-keepalive"    = var.tcp_keepalive == null ? null : tostring(var.tcp_keepalive)
    timeout            = var.timeout == null ? null : tostring(var.timeout)
  } : k => v if v != null }

  settings = merge(
    local.guide,
    var.persistence == null ? {} : local.persistence[var.persistence],
    local.lazyfree,
    var.extra_settings,
  )
}

# Read only when maxmemory is to be sized from the host.
data "mcpai_host_facts" "redis" {
  count = local.ready && var.maxmemory == null && !var.validate_only ? 1 : 0

  ssh = merge(var.ssh, { host = local.facts_host })
}

resource "mcpai_redis_config" "redis" {
  count = var.validate_only ? 0 : 1

  redis = {
    address  = var.address
    username = var.username
    password = var.password
  }
  ssh      = var.ssh_host == null ? null : merge(var.ssh, { host = var.ssh_host })
  settings = local.settings

  depends_on = [local.inputs, var.wait_for]
}

# Before validate_only, the configuration was a single resource.
moved {
  from = mcpai_redis_config.redis
  to   = mcpai_redis_config.redis[0]
}
