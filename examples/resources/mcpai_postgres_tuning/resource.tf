# Size PostgreSQL from the machine it runs on, apply the sizes with
# ALTER SYSTEM, and let the provider restart the server for the settings
# that need it (shared_buffers, max_connections, ...).
data "mcpai_host_facts" "db" {
  ssh = { host = "10.0.1.20" }
}

locals {
  tuned = provider::mcpai::pgtune({
    db_version     = "15"
    db_type        = "web"
    total_memory   = "${floor(data.mcpai_host_facts.db.memory_bytes / 1048576)}MB"
    cpu_num        = data.mcpai_host_facts.db.cpu_count
    connection_num = 200
    hd_type        = anytrue([for d in data.mcpai_host_facts.db.disks : d.rotational]) ? "hdd" : "ssd"
  })
}

resource "mcpai_postgres_tuning" "db" {
  # Through SSH: no PostgreSQL port exposed, and restarts are possible.
  ssh = { host = "10.0.1.20" }
  postgres = {
    user     = "postgres"
    password = var.postgres_password
  }
  restart = "allowed"

  settings = merge(local.tuned, {
    # The guide: track query statistics (needs a restart, then
    # CREATE EXTENSION pg_stat_statements in each database).
    shared_preload_libraries = "pg_stat_statements"
  })
}

variable "postgres_password" {
  type      = string
  sensitive = true
}
