# The performance guide's network tuning for API and proxy hosts: deep accept
# queues, a wide ephemeral port range, quick reuse of closed connections and
# keepalives that notice dead peers within minutes.
locals {
  guide = {
    "net.core.somaxconn"                 = tostring(var.somaxconn)
    "net.ipv4.tcp_max_syn_backlog"       = tostring(var.somaxconn)
    "net.ipv4.ip_local_port_range"       = "${var.local_port_range[0]} ${var.local_port_range[1]}"
    "net.ipv4.tcp_fin_timeout"           = "15"
    "net.ipv4.tcp_tw_reuse"              = "1"
    "net.ipv4.tcp_keepalive_time"        = "300"
    "net.ipv4.tcp_keepalive_intvl"       = "30"
    "net.ipv4.tcp_keepalive_probes"      = "5"
    "net.ipv4.tcp_rmem"                  = "4096 87380 16777216"
    "net.ipv4.tcp_slow_start_after_idle" = "0"
  }
}

resource "mcpai_host_sysctl" "network" {
  for_each = var.hosts

  ssh      = merge(var.ssh, { host = each.value })
  file     = var.file
  settings = merge(local.guide, var.extra_settings)
}
