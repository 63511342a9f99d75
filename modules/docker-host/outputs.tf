output "config" {
  description = "The daemon.json written to every host, as an object."
  value       = local.config
}

output "effective" {
  description = "Per host, what the running daemon reports (storage, logging and cgroup drivers, live-restore, runtimes, version)."
  value       = { for h, r in mcpai_docker_daemon_config.host : h => r.effective }
}

output "pending_restart" {
  description = "Per host, the daemon.json keys the running daemon does not show yet (expected only with restart = \"never\")."
  value       = { for h, r in mcpai_docker_daemon_config.host : h => r.pending_restart }
}

output "previous_content" {
  description = "Per host, daemon.json as it was before (null where there was none); destroy puts it back."
  value       = { for h, r in mcpai_docker_daemon_config.host : h => r.previous_content }
}

output "validated" {
  description = "Always true; known once every input has passed validation. A caller that composes modules (as mcpai-stack does) makes the others wait on it (depends_on), so that no host is read while an input of this module is refused."
  value       = true
  depends_on  = [local.inputs]
}
