output "host" {
  description = "Where clients reach PgBouncer: the Docker host's address."
  value       = var.host
}

output "port" {
  description = "PgBouncer's port on the host."
  value       = var.port
}

output "databases" {
  description = "The databases pooled, as clients name them."
  value       = var.databases
}

output "dsn" {
  description = "The DSN the API should use, for the first of databases, without the password (give it apart, e.g. as DATABASE_PASSWORD): postgresql://<user>@<host>:<port>/<database>. In transaction pooling, turn off the driver's server-side prepared statements (asyncpg: statement_cache_size=0; psycopg 3: prepare_threshold=None; pgx: simple protocol)."
  value       = local.dsn
}

output "settings" {
  description = "The [pgbouncer] section of pgbouncer.ini, name to value ([databases] holds the password and is left out)."
  value       = local.settings
}

output "server_connections" {
  description = "The most server connections this PgBouncer opens: (default_pool_size + reserve_pool_size) x databases."
  value       = (var.default_pool_size + var.reserve_pool_size) * length(var.databases)
}

output "config_paths" {
  description = "pgbouncer.ini and userlist.txt on the host."
  value       = [mcpai_host_file.ini.path, mcpai_host_file.userlist.path]
}

output "container_id" {
  description = "The PgBouncer container's id; it changes when the container is replaced (with either file)."
  value       = mcpai_container.pgbouncer.id
}
