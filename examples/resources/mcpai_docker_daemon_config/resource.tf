# The performance guide's Docker daemon settings. A change to any key that
# Docker cannot reload restarts dockerd; live-restore keeps containers
# running through it.
resource "mcpai_docker_daemon_config" "gpu_host" {
  ssh = { host = "10.0.1.30" }

  config = jsonencode({
    "storage-driver" = "overlay2"
    "log-driver"     = "json-file"
    "log-opts"       = { "max-size" = "10m", "max-file" = "3" }
    "default-ulimits" = {
      nofile = { Name = "nofile", Soft = 65536, Hard = 65536 }
    }
    "exec-opts"    = ["native.cgroupdriver=systemd"]
    "live-restore" = true
    "metrics-addr" = "127.0.0.1:9323"
    "data-root"    = "/var/lib/docker"
  })
}

# Only reloadable changes are allowed here; anything else fails before the
# file is touched.
resource "mcpai_docker_daemon_config" "api_host" {
  ssh     = { host = "10.0.1.31" }
  restart = "reload_only"
  config = jsonencode({
    "live-restore" = true
    "debug"        = false
  })
}
