# Plans against a mocked provider: no Redis server and no host is reached.
# The host's facts are mocked, so maxmemory is sized from a known memory.
mock_provider "mcpai" {
  mock_data "mcpai_host_facts" {
    defaults = {
      memory_bytes = 8589934592 # 8 GiB
    }
  }
}

variables {
  address = "10.0.0.1:6379"
}

run "guide_defaults" {
  command = plan

  assert {
    condition     = output.maxmemory == "4096mb"
    error_message = "maxmemory ${output.maxmemory}, want half of the host's 8 GiB."
  }
  assert {
    condition = output.settings == {
      "maxmemory"                = "4096mb"
      "maxmemory-policy"         = "allkeys-lru"
      "tcp-keepalive"            = "60"
      "timeout"                  = "300"
      "save"                     = "900 1 300 10 60 10000"
      "appendonly"               = "no"
      "lazyfree-lazy-eviction"   = "yes"
      "lazyfree-lazy-expire"     = "yes"
      "lazyfree-lazy-server-del" = "yes"
      "lazyfree-lazy-user-del"   = "yes"
      "replica-lazy-flush"       = "yes"
    }
    error_message = "settings are not the guide's."
  }
  assert {
    condition     = mcpai_redis_config.redis[0].redis.address == "10.0.0.1:6379" && mcpai_redis_config.redis[0].ssh == null
    error_message = "the resource does not connect directly to address."
  }
}

run "persistence_none_fraction_tunnel" {
  command = plan

  variables {
    address            = "127.0.0.1:6379"
    ssh_host           = "10.0.0.2"
    maxmemory_fraction = 0.25
    persistence        = "none"
    lazyfree           = null
  }

  assert {
    condition     = output.maxmemory == "2048mb"
    error_message = "maxmemory ${output.maxmemory}, want a quarter of the SSH host's 8 GiB."
  }
  assert {
    condition     = output.settings["save"] == "" && output.settings["appendonly"] == "no" && !contains(keys(output.settings), "appendfsync")
    error_message = "persistence none must turn snapshots and the AOF off."
  }
  assert {
    condition     = length([for k in keys(output.settings) : k if startswith(k, "lazyfree") || k == "replica-lazy-flush"]) == 0
    error_message = "lazyfree = null still sets lazyfree parameters."
  }
  assert {
    condition     = data.mcpai_host_facts.redis[0].ssh.host == "10.0.0.2" && mcpai_redis_config.redis[0].ssh.host == "10.0.0.2"
    error_message = "the facts and the tunnel must use ssh_host."
  }
}

run "persistence_aof_explicit_maxmemory" {
  command = plan

  variables {
    persistence = "aof"
    maxmemory   = "1gb"
    extra_settings = {
      hz = "20"
    }
  }

  assert {
    condition     = length(data.mcpai_host_facts.redis) == 0
    error_message = "with maxmemory given, the host's facts are not read."
  }
  assert {
    condition     = output.settings["maxmemory"] == "1gb" && output.settings["appendonly"] == "yes" && output.settings["appendfsync"] == "everysec" && output.settings["save"] == ""
    error_message = "aof settings: ${jsonencode(output.settings)}"
  }
  assert {
    condition     = output.settings["hz"] == "20"
    error_message = "extra_settings are not applied."
  }
}

run "validate_only" {
  command = plan

  variables {
    validate_only = true
  }

  assert {
    condition     = length(mcpai_redis_config.redis) == 0 && length(data.mcpai_host_facts.redis) == 0
    error_message = "validate_only must manage and read nothing."
  }
}

run "address_without_port" {
  command = plan
  variables {
    address = "10.0.0.1"
  }
  expect_failures = [var.address]
}

run "address_port_out_of_range" {
  command = plan
  variables {
    address = "10.0.0.1:70000"
  }
  expect_failures = [var.address]
}

run "username" {
  command = plan
  variables {
    username = "two words"
  }
  expect_failures = [var.username]
}

run "ssh_host" {
  command = plan
  variables {
    ssh_host = "host; reboot"
  }
  expect_failures = [var.ssh_host]
}

run "maxmemory_units" {
  command = plan
  variables {
    maxmemory = "8 GB"
  }
  expect_failures = [var.maxmemory]
}

run "maxmemory_fraction" {
  command = plan
  variables {
    maxmemory_fraction = 1
  }
  expect_failures = [var.maxmemory_fraction]
}

run "maxmemory_policy" {
  command = plan
  variables {
    maxmemory_policy = "lru"
  }
  expect_failures = [var.maxmemory_policy]
}

run "persistence" {
  command = plan
  variables {
    persistence = "both"
  }
  expect_failures = [var.persistence]
}

run "rdb_save" {
  command = plan
  variables {
    rdb_save = "900"
  }
  expect_failures = [var.rdb_save]
}

run "tcp_keepalive" {
  command = plan
  variables {
    tcp_keepalive = -1
  }
  expect_failures = [var.tcp_keepalive]
}

run "timeout" {
  command = plan
  variables {
    timeout = 1.5
  }
  expect_failures = [var.timeout]
}

run "extra_settings_name" {
  command = plan
  variables {
    extra_settings = { "maxmemory maxclients" = "1" }
  }
  expect_failures = [var.extra_settings]
}

run "extra_settings_secret" {
  command = plan
  variables {
    extra_settings = { requirepass = "x" }
  }
  expect_failures = [var.extra_settings]
}
