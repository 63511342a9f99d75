# Applies the guide's network sysctls to the first sandbox host that
# `make sandbox` started. `make demo` runs it with a locally built provider.
terraform {
  required_providers {
    mcpai = {
      source = "mcpai/mcpai"
    }
  }
}

variable "hosts_file" {
  type        = string
  description = "The sandbox's hosts.json."
  default     = "../../.sandbox/hosts.json"
}

locals {
  host = jsondecode(file(var.hosts_file)).hosts[0]
}

provider "mcpai" {
  ssh = {
    user        = local.host.user
    private_key = file(local.host.private_key_path)
    known_hosts = file(local.host.known_hosts_path)
  }
}

data "mcpai_host_facts" "this" {
  ssh = { host = local.host.address }
}

resource "mcpai_host_sysctl" "network" {
  ssh = { host = local.host.address }
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
    "net.ipv4.tcp_slow_start_after_idle" = "0"
  }
}

output "host" {
  value = "${data.mcpai_host_facts.this.os_pretty_name}, ${data.mcpai_host_facts.this.cpu_count} CPUs, ${floor(data.mcpai_host_facts.this.memory_bytes / 1073741824)} GiB"
}

output "replaced_values" {
  description = "What the host had before; destroy puts these back."
  value       = mcpai_host_sysctl.network.previous_values
}
