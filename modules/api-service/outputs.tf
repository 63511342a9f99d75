output "endpoint" {
  description = "Where clients reach the API: Traefik's entry point on host, with path_prefix."
  value       = "http://${local.url_host}:${var.port}${var.path_prefix}"
}

output "workers" {
  description = "uvicorn workers per API container, as given or sized from the CPUs (null with validate_only when they come from the host)."
  value       = local.workers
}

output "api_container_ids" {
  description = "The API containers' ids, in order (<name>-1 first); one changes when its container is replaced."
  value       = mcpai_container.api[*].id
}

output "traefik_container_id" {
  description = "The Traefik container's id."
  value       = one(mcpai_container.traefik[*].id)
}

output "upstreams" {
  description = "The API containers' addresses as Traefik balances over them (on the host's loopback)."
  value       = local.upstreams
}

output "dynamic_config" {
  description = "Traefik's dynamic configuration (router, service, servers and health check), as written to dynamic_config_path."
  value       = local.dynamic_config
}

output "dynamic_config_path" {
  description = "Where Traefik's dynamic configuration is on the host."
  value       = local.dynamic_path
}

output "metrics_endpoints" {
  description = "Scrape targets by job, in the monitoring module's metrics_endpoints shape: <name>-traefik (Traefik's request metrics, on host) and <name> (each container's own metrics, on the host's loopback, so for a Prometheus on this host)."
  value = {
    "${var.name}-traefik" = { targets = ["${local.url_host}:${var.metrics_port}"], metrics_path = "/metrics" }
    (var.name)            = { targets = [for i in range(var.replicas) : "127.0.0.1:${var.base_port + i}"], metrics_path = "/metrics" }
  }
}

output "validated" {
  description = "Always true; known once every input has passed validation. A caller that composes modules (as mcpai-stack does) makes the others wait on it (depends_on), so that no host is read while an input of this module is refused."
  value       = true
  depends_on  = [local.inputs]
}
