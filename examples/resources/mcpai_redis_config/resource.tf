# The performance guide's Redis block: applied live, persisted with
# CONFIG REWRITE, and tcp-backlog (which Redis cannot change while it runs)
# applied by a restart through SSH.
resource "mcpai_redis_config" "cache" {
  ssh = { host = "10.0.1.40" }
  redis = {
    address  = "127.0.0.1:6379"
    password = var.redis_password
  }
  restart = "allowed"

  settings = {
    maxmemory          = "8gb"
    "maxmemory-policy" = "allkeys-lru"
    save               = "900 1 300 10 60 10000"
    "tcp-keepalive"    = "60"
    timeout            = "300"
    "tcp-backlog"      = "511"
  }
}

variable "redis_password" {
  type      = string
  sensitive = true
}
