# The API service (uvicorn), reachable only from the proxy's network, with
# readiness on its own health endpoint.
resource "mcpai_container" "api" {
  ssh     = { host = "10.0.1.20" }
  name    = "api"
  image   = "registry.example.com/app/api:2.4.1"
  command = ["uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000", "--workers", "4"]

  env = {
    DATABASE_HOST    = "10.0.1.30"
    REDIS_URL        = "redis://10.0.1.31:6379/0"
    MALLOC_ARENA_MAX = "2"
  }
  sensitive_env = { DATABASE_PASSWORD = var.database_password }
  registry_auth = {
    username = "deploy"
    password = var.registry_token
  }

  networks = ["web"]
  labels = {
    "traefik.enable"                                     = "true"
    "traefik.http.routers.api.rule"                      = "Host(`api.example.com`)"
    "traefik.http.services.api.loadbalancer.server.port" = "8000"
  }

  memory   = "2g"
  cpus     = "2"
  ulimits  = [{ name = "nofile", soft = 65535, hard = 65535 }]
  log_opts = { "max-size" = "50m", "max-file" = "3" }

  health_path = "/health"
  health_port = 8000

  # Two API containers run side by side during a replacement (no host
  # port is published), so a deploy does not drop requests.
  update_strategy = "start_first"
}

# Traefik in front, with its dynamic configuration from a host folder and
# its /ping endpoint as readiness.
resource "mcpai_container" "traefik" {
  ssh   = { host = "10.0.1.20" }
  name  = "traefik"
  image = "traefik:v3.1"
  command = [
    "--entrypoints.web.address=:80",
    "--entrypoints.websecure.address=:443",
    "--providers.docker.exposedbydefault=false",
    "--providers.file.directory=/etc/traefik/dynamic",
    "--ping=true",
  ]

  ports = [
    { container_port = 80, host_port = 80 },
    { container_port = 443, host_port = 443 },
  ]
  volumes = [
    { source = "/var/run/docker.sock", target = "/var/run/docker.sock", read_only = true },
    { source = "/etc/traefik/dynamic", target = "/etc/traefik/dynamic", read_only = true },
  ]
  networks = ["web"]

  restart_policy = "always"
  memory         = "512m"
  ulimits        = [{ name = "nofile", soft = 65535, hard = 65535 }]

  health_path = "/ping"
  health_port = 8080
}

variable "database_password" {
  type      = string
  sensitive = true
}

variable "registry_token" {
  type      = string
  sensitive = true
}
