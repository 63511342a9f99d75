output "settings" {
  description = "The sysctls applied to every host."
  value       = merge(local.guide, var.extra_settings)
}

output "previous_values" {
  description = "Per host, the values found before tuning; destroy writes them back."
  value       = { for h, r in mcpai_host_sysctl.network : h => r.previous_values }
}
