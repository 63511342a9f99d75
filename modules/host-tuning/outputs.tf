output "settings" {
  description = "The sysctls applied to every host, key to value."
  value       = local.sysctls
}

output "kernel_settings" {
  description = "The transparent huge page modes, CPU governor and nofile/nproc limits applied to every host; null where left alone."
  value       = local.kernel
}

output "previous_values" {
  description = "Per host, the values found before tuning (sysctl keys, and the sysfs paths of THP and the governor); destroy writes them back."
  value = { for h in var.hosts : h => merge(
    try(mcpai_host_sysctl.tuning[h].previous_values, {}),
    try(mcpai_host_kernel.tuning[h].previous_values, {}),
  ) }
}

output "validated" {
  description = "Always true; known once every input has passed validation. A caller that composes modules (as mcpai-stack does) makes the others wait on it (depends_on), so that no host is read while an input of this module is refused."
  value       = true
  depends_on  = [local.inputs]
}
