# PostgreSQL sized from the machine it runs on: the host's memory, CPUs and
# disks go through the PGTune calculator (provider::mcpai::pgtune), the
# caller's overrides win over its values, and the result is applied with
# ALTER SYSTEM. Optional pg_stat_statements and the caller's indexes.

locals {
  # Terraform evaluates independent parts of a configuration at once: the
  # host is read and the server planned for only after every input has
  # passed its validation, so a bad one touches nothing.
  inputs = [
    var.host, var.ssh, var.port, var.user, var.password, var.database, var.sslmode, var.ssh_tunnel, var.restart,
    var.restart_command, var.db_version, var.db_type, var.connections, var.disk_type, var.total_memory,
    var.cpu_count, var.overrides, var.pg_stat_statements, var.indexes,
    var.validate_only,
  ]

  # Known when planning, whatever the inputs are: the host is read and
  # changed only after every input (and wait_for) is evaluated, which runs
  # their validation. A reference, not depends_on: depends_on would postpone
  # the facts read to apply time whenever an input's source has changes.
  ready = alltrue([for v in [local.inputs, var.wait_for] : true])
}

# Facts are read only for what the caller did not give.
data "mcpai_host_facts" "db" {
  count = local.ready && !var.validate_only && (var.total_memory == null || var.cpu_count == null || var.disk_type == null) ? 1 : 0

  ssh = merge(var.ssh, { host = var.host })
}

locals {
  # Attribute by attribute: the data source's object also holds the ssh
  # credentials, which would make the whole of it sensitive.
  host_memory_bytes = one(data.mcpai_host_facts.db[*].memory_bytes)
  host_cpu_count    = one(data.mcpai_host_facts.db[*].cpu_count)
  host_disks        = one(data.mcpai_host_facts.db[*].disks)

  sizing = {
    db_version     = var.db_version
    db_type        = var.db_type
    connection_num = var.connections
    # PGTune takes a whole number of one unit: whole GB (rounded down) from
    # 1GB up, else whole MB.
    total_memory = var.total_memory != null || var.validate_only ? var.total_memory : (
      local.host_memory_bytes >= 1073741824
      ? "${floor(local.host_memory_bytes / 1073741824)}GB"
      : "${floor(local.host_memory_bytes / 1048576)}MB"
    )
    cpu_num = var.cpu_count != null ? var.cpu_count : local.host_cpu_count
    hd_type = var.disk_type != null || var.validate_only ? var.disk_type : (anytrue([for d in local.host_disks : d.rotational]) ? "hdd" : "ssd")
  }

  # shared_preload_libraries is a list: the caller's libraries are kept and
  # pg_stat_statements added to them.
  caller_libraries = [for l in split(",", lookup(var.overrides, "shared_preload_libraries", "")) : trimspace(l) if trimspace(l) != ""]
  libraries        = distinct(concat(local.caller_libraries, var.pg_stat_statements == null ? [] : ["pg_stat_statements"]))

  statements = var.pg_stat_statements == null ? {} : {
    "pg_stat_statements.max"   = tostring(var.pg_stat_statements.max)
    "pg_stat_statements.track" = var.pg_stat_statements.track
  }

  # Nothing is sized without a host (validate_only).
  settings = var.validate_only ? {} : merge(
    provider::mcpai::pgtune(local.sizing),
    local.statements,
    var.overrides,
    length(local.libraries) > 0 ? { shared_preload_libraries = join(",", local.libraries) } : {},
  )

  ssh = var.ssh_tunnel ? merge(var.ssh, { host = var.host }) : null
  postgres = {
    # Through the tunnel, the server as the host itself sees it.
    host     = var.ssh_tunnel ? "127.0.0.1" : var.host
    port     = var.port
    user     = var.user
    password = var.password
    database = var.database
    sslmode  = var.sslmode
  }
}

resource "mcpai_postgres_tuning" "this" {
  count = var.validate_only ? 0 : 1

  ssh             = local.ssh
  postgres        = local.postgres
  restart         = var.restart
  restart_command = var.restart_command
  settings        = local.settings

  depends_on = [local.inputs, var.wait_for]
}

resource "mcpai_postgres_index" "this" {
  for_each = var.validate_only ? {} : var.indexes

  ssh      = local.ssh
  postgres = local.postgres
  name     = each.key
  schema   = each.value.schema
  table    = each.value.table
  columns  = each.value.columns
  unique   = each.value.unique
  where    = each.value.where
  method   = each.value.method

  # Built once the server runs with its new settings (maintenance_work_mem
  # speeds up the build; a restart would cancel it).
  depends_on = [mcpai_postgres_tuning.this]
}

# Before validate_only, the tuning was a single resource.
moved {
  from = mcpai_postgres_tuning.this
  to   = mcpai_postgres_tuning.this[0]
}
