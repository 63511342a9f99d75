# Traefik's dynamic configuration: the API service's routers, load
# balancer and health check, picked up by Traefik's file provider. The
# folder is created when the host lacks it, and removed on destroy.
resource "mcpai_host_file" "traefik_api" {
  ssh                = { host = "10.0.2.20" }
  path               = "/etc/traefik/dynamic/mcpai-api.yml"
  mode               = "0644"
  create_directories = true
  content = yamlencode({
    http = {
      routers = {
        api = { rule = "PathPrefix(`/`)", service = "api", entryPoints = ["web"] }
      }
      services = {
        api = {
          loadBalancer = {
            servers     = [{ url = "http://10.0.2.21:8000" }, { url = "http://10.0.2.22:8000" }]
            healthCheck = { path = "/health", interval = "5s", timeout = "2s" }
          }
        }
      }
    }
  })
}

# Prometheus alert rules, checked by promtool on the host before they
# replace the old ones.
resource "mcpai_host_file" "alerts" {
  ssh  = { host = "10.0.2.30" }
  path = "/etc/prometheus/rules/mcpai.yml"
  content = yamlencode({
    groups = [{
      name = "mcpai-api"
      rules = [{
        alert  = "APIHighP95Latency"
        expr   = "histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket[5m]))) > 0.5"
        for    = "10m"
        labels = { severity = "warning" }
      }]
    }]
  })
  validate_command = ["promtool", "check", "rules", "{}"]
}
