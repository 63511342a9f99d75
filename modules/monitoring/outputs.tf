output "rules" {
  description = "The alerting rules file's content (Prometheus rule file YAML)."
  value       = local.rules
}

output "alerts" {
  description = "The alerts' names, by rule group."
  value       = { for g in local.groups : g.name => [for r in g.rules : r.alert if can(r.alert)] }
}

output "recording_rules" {
  description = "The recording rules' names (the series they record), by rule group."
  value       = { for g in local.groups : g.name => [for r in g.rules : r.record if can(r.record)] }
}

output "targets" {
  description = "The targets file's content (file_sd target groups): metrics_endpoints' jobs and the exporters'."
  value       = local.targets
}

output "rules_path" {
  description = "Where the rules file is on the host."
  value       = var.rules_path
}

output "targets_path" {
  description = "Where the targets file is on the host."
  value       = var.targets_path
}

output "prometheus_config" {
  description = "The part of prometheus.yml that loads the two files: rule_files and a scrape job (named after group_prefix) whose file_sd_configs reads the targets file; yamlencode it into your configuration."
  value = {
    rule_files = [var.rules_path]
    scrape_configs = [{
      job_name        = var.group_prefix
      file_sd_configs = [{ files = [var.targets_path] }]
    }]
  }
}

output "prometheus_url" {
  description = "Where Prometheus answers (its HTTP API and UI) with prometheus.enabled, else null: the host's address, or 127.0.0.1 when it listens on the host only."
  value       = var.prometheus.enabled ? "http://${var.prometheus.listen_address == "0.0.0.0" ? local.url_host : "127.0.0.1"}:${var.prometheus.port}" : null
}

output "validated" {
  description = "Always true; known once every input has passed validation. A caller that composes modules (as mcpai-stack does) makes the others wait on it (depends_on), so that no host is read while an input of this module is refused."
  value       = true
  depends_on  = [local.inputs]
}
