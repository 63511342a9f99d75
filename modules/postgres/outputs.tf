output "settings" {
  description = "The settings applied with ALTER SYSTEM: PGTune's for the sizing, pg_stat_statements', and the overrides."
  value       = local.settings
}

output "sizing" {
  description = "What PGTune sized for: db_version, db_type, connection_num (null: the db_type's default), total_memory, cpu_num and hd_type, from the inputs or the host."
  value       = local.sizing
}

output "effective" {
  description = "The live value of each setting, as SHOW prints it."
  value       = one(mcpai_postgres_tuning.this[*].effective)
}

output "pending_restart" {
  description = "Settings whose new value waits for a server restart (none with restart = \"allowed\")."
  value       = one(mcpai_postgres_tuning.this[*].pending_restart)
}

output "previous_values" {
  description = "What postgresql.auto.conf set for each managed name before; destroy puts these back and resets the rest."
  value       = one(mcpai_postgres_tuning.this[*].previous_values)
}

output "index_names" {
  description = "Names of the indexes built, sorted."
  value       = sort([for i in mcpai_postgres_index.this : i.name])
}

output "validated" {
  description = "Always true; known once every input has passed validation. A caller that composes modules (as mcpai-stack does) makes the others wait on it (depends_on), so that no host is read while an input of this module is refused."
  value       = true
  depends_on  = [local.inputs]
}
