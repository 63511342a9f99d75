# The performance guide's network settings for an API host behind Traefik.
resource "mcpai_host_sysctl" "network" {
  ssh = {
    host = "10.0.1.20"
  }

  settings = {
    "net.core.somaxconn"                 = "65535"
    "net.ipv4.tcp_max_syn_backlog"       = "65535"
    "net.ipv4.ip_local_port_range"       = "1024 65535"
    "net.ipv4.tcp_fin_timeout"           = "15"
    "net.ipv4.tcp_tw_reuse"              = "1"
    "net.ipv4.tcp_keepalive_time"        = "300"
    "net.ipv4.tcp_keepalive_intvl"       = "30"
    "net.ipv4.tcp_keepalive_probes"      = "5"
    "net.ipv4.tcp_rmem"                  = "4096 87380 16777216"
    "net.ipv4.tcp_wmem"                  = "4096 65536 16777216"
    "net.ipv4.tcp_slow_start_after_idle" = "0"
  }
}

# Through a bastion, with a pinned host key.
resource "mcpai_host_sysctl" "db_vm" {
  ssh = {
    host     = "10.0.2.10"
    host_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHLBYDjU7oTzGTj1yUUlON/F/qWedrnvpl9tYltUAXjq"
    bastion = {
      host     = "bastion.example.com"
      host_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHdk+9mEkobkwT/1QbcF8bZOVIrvhuikTuOm4b5N2X9H"
    }
  }
  file = "/etc/sysctl.d/90-mcpai-postgres.conf"
  settings = {
    "vm.swappiness"             = "1"
    "vm.overcommit_memory"      = "2"
    "vm.dirty_background_ratio" = "5"
  }
}
