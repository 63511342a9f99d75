output "settings" {
  description = "The parameters applied, name to value."
  value       = local.settings
}

output "maxmemory" {
  description = "The memory limit applied, as given or as sized from the host (in mb)."
  value       = local.maxmemory
}

output "previous_values" {
  description = "The values found before this module set each parameter; destroy puts them back."
  value       = one(mcpai_redis_config.redis[*].previous_values)
}

output "effective" {
  description = "The live value of each parameter, as CONFIG GET returns it."
  value       = one(mcpai_redis_config.redis[*].effective)
}

output "redis_version" {
  description = "The server's version."
  value       = one(mcpai_redis_config.redis[*].redis_version)
}

output "validated" {
  description = "Always true; known once every input has passed validation. A caller that composes modules (as mcpai-stack does) makes the others wait on it (depends_on), so that no host is read while an input of this module is refused."
  value       = true
  depends_on  = [local.inputs]
}
