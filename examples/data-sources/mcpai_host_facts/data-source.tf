data "mcpai_host_facts" "db" {
  ssh = {
    host = "10.0.2.10"
  }
}

# Size from the machine: a quarter of memory for PostgreSQL's shared_buffers,
# and whether the data disk is an SSD.
locals {
  shared_buffers_mb = floor(data.mcpai_host_facts.db.memory_bytes / 4 / 1048576)
  on_ssd            = alltrue([for d in data.mcpai_host_facts.db.disks : !d.rotational])
  has_gpu           = length(data.mcpai_host_facts.db.gpus) > 0
}
