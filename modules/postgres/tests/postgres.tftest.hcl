# Plans against a mocked provider: no server and no host is reached. The
# host's facts are mocked (16 GiB, 4 CPUs, no spinning disk); the PGTune
# function is the provider's own, which a mocked provider still runs.
# Terraform 1.11 cannot mock a nested list attribute such as disks (a tuple
# is refused, hashicorp/terraform#38369), so disks is empty here and the
# disk type from a real host's disks is left to the Go acceptance test.
mock_provider "mcpai" {
  mock_data "mcpai_host_facts" {
    defaults = {
      memory_bytes = 17179869184
      cpu_count    = 4
    }
  }
}

variables {
  host       = "10.0.0.1"
  db_version = 15
}

run "sized_from_the_host" {
  command = plan

  variables {
    connections = 100
    overrides   = { work_mem = "64MB" }
    indexes = {
      recent = { table = "events", columns = [{ name = "tenant" }, { name = "created_at", order = "desc" }] }
    }
  }

  assert {
    condition = output.sizing == {
      db_version     = 15
      db_type        = "web"
      connection_num = 100
      total_memory   = "16GB"
      cpu_num        = 4
      hd_type        = "ssd"
    }
    error_message = "sizing ${jsonencode(output.sizing)} is not the host's."
  }
  assert {
    condition     = jsonencode(output.settings) == jsonencode(merge(provider::mcpai::pgtune(output.sizing), { work_mem = "64MB" }))
    error_message = "settings must be PGTune's for the host, with the overrides winning."
  }
  assert {
    condition     = output.settings["shared_buffers"] == "4GB" && output.settings["max_connections"] == "100"
    error_message = "shared_buffers ${output.settings["shared_buffers"]} (want a quarter of 16GB), max_connections ${output.settings["max_connections"]}."
  }
  assert {
    condition     = mcpai_postgres_tuning.this[0].postgres.host == "10.0.0.1" && mcpai_postgres_tuning.this[0].ssh == null && mcpai_postgres_tuning.this[0].restart == "never"
    error_message = "without ssh_tunnel the server is reached directly and never restarted."
  }
  assert {
    condition     = output.index_names == tolist(["recent"]) && mcpai_postgres_index.this["recent"].columns[1].order == "desc"
    error_message = "the index is not planned as given."
  }
}

run "given_sizing_reads_no_facts" {
  command = plan

  variables {
    total_memory = "8GB"
    cpu_count    = 2
    disk_type    = "hdd"
    db_type      = "oltp"
  }

  assert {
    condition     = length(data.mcpai_host_facts.db) == 0
    error_message = "with memory, CPUs and disk given, the host's facts are not read."
  }
  assert {
    condition     = output.sizing.total_memory == "8GB" && output.sizing.cpu_num == 2 && output.sizing.hd_type == "hdd" && output.settings["shared_buffers"] == "2GB"
    error_message = "sizing ${jsonencode(output.sizing)}, shared_buffers ${output.settings["shared_buffers"]}."
  }
}

run "tunnel_and_pg_stat_statements" {
  command = plan

  variables {
    ssh_tunnel         = true
    restart            = "allowed"
    pg_stat_statements = {}
    overrides          = { shared_preload_libraries = "auto_explain" }
  }

  assert {
    condition     = output.settings["shared_preload_libraries"] == "auto_explain,pg_stat_statements" && output.settings["pg_stat_statements.track"] != null
    error_message = "pg_stat_statements must be added to the caller's libraries: ${jsonencode(output.settings)}"
  }
  assert {
    condition     = mcpai_postgres_tuning.this[0].postgres.host == "127.0.0.1" && mcpai_postgres_tuning.this[0].ssh.host == "10.0.0.1"
    error_message = "through the tunnel, the server is 127.0.0.1 on the host."
  }
}

run "validate_only" {
  command = plan
  variables {
    validate_only = true
    indexes       = { i = { table = "t", columns = [{ name = "a" }] } }
  }
  assert {
    condition     = length(mcpai_postgres_tuning.this) == 0 && length(mcpai_postgres_index.this) == 0 && length(data.mcpai_host_facts.db) == 0 && output.settings == {}
    error_message = "validate_only must read and manage nothing."
  }
}

run "host" {
  command = plan
  variables {
    host = "db; reboot"
  }
  expect_failures = [var.host]
}

run "port" {
  command = plan
  variables {
    port = 0
  }
  expect_failures = [var.port]
}

run "user" {
  command = plan
  variables {
    user = ""
  }
  expect_failures = [var.user]
}

run "database" {
  command = plan
  variables {
    database = ""
  }
  expect_failures = [var.database]
}

run "sslmode" {
  command = plan
  variables {
    sslmode = "on"
  }
  expect_failures = [var.sslmode]
}

run "restart" {
  command = plan
  variables {
    restart = "sometimes"
  }
  expect_failures = [var.restart]
}

run "restart_allowed_without_tunnel" {
  command = plan
  variables {
    restart = "allowed"
  }
  expect_failures = [var.restart]
}

run "restart_command" {
  command = plan
  variables {
    restart_command = ["pg_ctlcluster", ""]
  }
  expect_failures = [var.restart_command]
}

run "db_version" {
  command = plan
  variables {
    db_version = 9
  }
  expect_failures = [var.db_version]
}

run "db_type" {
  command = plan
  variables {
    db_type = "olap"
  }
  expect_failures = [var.db_type]
}

run "connections" {
  command = plan
  variables {
    connections = 5
  }
  expect_failures = [var.connections]
}

run "disk_type" {
  command = plan
  variables {
    disk_type = "floppy"
  }
  expect_failures = [var.disk_type]
}

run "total_memory" {
  command = plan
  variables {
    total_memory = "16G"
  }
  expect_failures = [var.total_memory]
}

run "cpu_count" {
  command = plan
  variables {
    cpu_count = 0
  }
  expect_failures = [var.cpu_count]
}

run "overrides" {
  command = plan
  variables {
    overrides = { "work_mem; DROP TABLE x" = "1" }
  }
  expect_failures = [var.overrides]
}

run "pg_stat_statements_without_restart" {
  command = plan
  variables {
    pg_stat_statements = {}
  }
  expect_failures = [var.pg_stat_statements]
}

run "indexes_name" {
  command = plan
  variables {
    indexes = { "" = { table = "t", columns = [{ name = "a" }] } }
  }
  expect_failures = [var.indexes]
}

run "indexes_order" {
  command = plan
  variables {
    indexes = { i = { table = "t", columns = [{ name = "a", order = "up" }] } }
  }
  expect_failures = [var.indexes]
}

run "indexes_method" {
  command = plan
  variables {
    indexes = { i = { table = "t", columns = [{ name = "a" }], method = "bloom" } }
  }
  expect_failures = [var.indexes]
}

run "pg_stat_statements_track" {
  command = plan
  variables {
    ssh_tunnel         = true
    restart            = "allowed"
    pg_stat_statements = { track = "some" }
  }
  expect_failures = [var.pg_stat_statements]
}
