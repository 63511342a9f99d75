# Applies the guide's network sysctls (modules/host-network) to the first sandbox host that
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

# The guide's network sysctls, through this repository's module.
module "network" {
  source = "../../modules/host-network"
  hosts  = [local.host.address]
}

output "host" {
  value = "${data.mcpai_host_facts.this.os_pretty_name}, ${data.mcpai_host_facts.this.cpu_count} CPUs, ${floor(data.mcpai_host_facts.this.memory_bytes / 1073741824)} GiB"
}

output "replaced_values" {
  description = "What the host had before; destroy puts these back."
  value       = module.network.previous_values[local.host.address]
}
