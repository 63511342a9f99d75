# PGTune's settings for a known machine; attributes left out take PGTune's
# defaults (linux, web, ssd, mid_ram, connections by db_type).
output "pgtune_literal" {
  value = provider::mcpai::pgtune({
    db_version   = 17
    db_type      = "oltp"
    total_memory = "64GB"
    cpu_num      = 16
    hd_type      = "nvme"
  })
}

# Sized from the host itself.
data "mcpai_host_facts" "db" {
  ssh = {
    host = "10.0.2.10"
  }
}

locals {
  memory_bytes = data.mcpai_host_facts.db.memory_bytes
  # PGTune takes a whole number of one unit: whole GB, rounded down, from
  # 1GB up, else whole MB.
  total_memory = local.memory_bytes >= 1073741824 ? "${floor(local.memory_bytes / 1073741824)}GB" : "${floor(local.memory_bytes / 1048576)}MB"
}

output "pgtune_from_host" {
  value = provider::mcpai::pgtune({
    db_version   = 17
    total_memory = local.total_memory
    cpu_num      = data.mcpai_host_facts.db.cpu_count
    hd_type      = anytrue(data.mcpai_host_facts.db.disks[*].rotational) ? "hdd" : "ssd"
  })
}
