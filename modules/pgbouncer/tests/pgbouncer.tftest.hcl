# Plans against a mocked provider: no host is reached and no file written.
# The sizing refusals' messages, with their arithmetic, are checked word for
# word by internal/moduletest (expect_failures cannot read a message).
mock_provider "mcpai" {}

variables {
  host            = "10.0.0.2"
  image           = "mcpai-debian-stack:latest"
  server_host     = "10.0.0.1"
  user            = "app"
  password        = "it's-a-secret"
  databases       = ["app", "reports"]
  max_connections = 100
}

run "transaction_pooling" {
  command = plan

  assert {
    condition = output.settings == {
      listen_addr               = "0.0.0.0"
      listen_port               = "6432"
      unix_socket_dir           = ""
      auth_type                 = "md5"
      auth_file                 = "/etc/pgbouncer/userlist.txt"
      admin_users               = "app"
      pool_mode                 = "transaction"
      default_pool_size         = "20"
      reserve_pool_size         = "0"
      max_client_conn           = "1000"
      ignore_startup_parameters = "extra_float_digits"
    }
    error_message = "settings ${jsonencode(output.settings)} are not the guide's transaction pooling."
  }
  assert {
    condition     = output.server_connections == 40 && output.dsn == "postgresql://app@10.0.0.2:6432/app"
    error_message = "server_connections ${output.server_connections} (want 20 x 2 databases), dsn ${output.dsn}."
  }
  # The password is quoted for libpq, its quote doubled; the assertion
  # prints no content.
  assert {
    condition     = strcontains(nonsensitive(mcpai_host_file.ini.sensitive_content), "reports = host=10.0.0.1 port=5432 dbname=reports user=app password='it''s-a-secret'")
    error_message = "pgbouncer.ini's [databases] line for reports is not as PgBouncer reads it."
  }
  assert {
    condition     = nonsensitive(mcpai_host_file.userlist.sensitive_content) == "\"app\" \"md5${md5("it's-a-secretapp")}\"\n"
    error_message = "userlist.txt must hold md5(password + user)."
  }
  assert {
    condition     = mcpai_host_file.ini.path == "/etc/mcpai-pgbouncer/pgbouncer.ini" && mcpai_host_file.ini.mode == "0600"
    error_message = "pgbouncer.ini's path and mode."
  }
  assert {
    condition     = mcpai_container.pgbouncer.command == tolist(["pgbouncer", "-u", "postgres", "/etc/pgbouncer/pgbouncer.ini"]) && mcpai_container.pgbouncer.network_mode == "host" && mcpai_container.pgbouncer.volumes[0].read_only
    error_message = "the container runs PgBouncer as run_as, on the host's network, with the folder read-only."
  }
}

run "fits_exactly" {
  command = plan

  variables {
    databases         = ["app"]
    pool_mode         = "session"
    default_pool_size = 90
    reserve_pool_size = 7
    clients           = { replicas = 97, workers = 1, pool_size = 1 }
  }

  assert {
    condition     = output.server_connections == 97
    error_message = "97 server connections fit max_connections 100 - 3."
  }
}

run "host" {
  command = plan
  variables {
    host = "pgb; reboot"
  }
  expect_failures = [var.host]
}

run "name" {
  command = plan
  variables {
    name = "-pgbouncer"
  }
  expect_failures = [var.name]
}

run "image" {
  command = plan
  variables {
    image = "pg bouncer"
  }
  expect_failures = [var.image]
}

run "run_as" {
  command = plan
  variables {
    run_as = "root"
  }
  expect_failures = [var.run_as]
}

run "config_dir" {
  command = plan
  variables {
    config_dir = "/etc/../root"
  }
  expect_failures = [var.config_dir]
}

run "listen_addr" {
  command = plan
  variables {
    listen_addr = "localhost; reboot"
  }
  expect_failures = [var.listen_addr]
}

run "port" {
  command = plan
  variables {
    port = 0
  }
  expect_failures = [var.port]
}

run "server_host" {
  command = plan
  variables {
    server_host = "db; reboot"
  }
  expect_failures = [var.server_host]
}

run "server_port" {
  command = plan
  variables {
    server_port = 70000
  }
  expect_failures = [var.server_port]
}

run "user" {
  command = plan
  variables {
    user = "1app"
  }
  expect_failures = [var.user]
}

run "password" {
  command = plan
  variables {
    password = "a\nb"
  }
  expect_failures = [var.password]
}

run "databases" {
  command = plan
  variables {
    databases = ["pgbouncer"]
  }
  expect_failures = [var.databases]
}

run "pool_mode" {
  command = plan
  variables {
    pool_mode = "per-query"
  }
  expect_failures = [var.pool_mode]
}

run "default_pool_size" {
  command = plan
  variables {
    default_pool_size = 0
  }
  expect_failures = [var.default_pool_size]
}

run "reserve_pool_size" {
  command = plan
  variables {
    reserve_pool_size = -1
  }
  expect_failures = [var.reserve_pool_size]
}

run "max_client_conn" {
  command = plan
  variables {
    max_client_conn = 0
  }
  expect_failures = [var.max_client_conn]
}

run "max_connections" {
  command = plan
  variables {
    max_connections = 0.5
  }
  expect_failures = [var.max_connections]
}

run "superuser_reserved_connections" {
  command = plan
  variables {
    superuser_reserved_connections = 100
  }
  expect_failures = [var.superuser_reserved_connections]
}

run "instances" {
  command = plan
  variables {
    instances = 0
  }
  expect_failures = [var.instances]
}

run "clients_whole" {
  command = plan
  variables {
    clients = { replicas = 1, workers = 0, pool_size = 1 }
  }
  expect_failures = [var.clients]
}

run "memory" {
  command = plan
  variables {
    memory = "lots"
  }
  expect_failures = [var.memory]
}

run "timeouts" {
  command = plan
  variables {
    timeouts = { create = "ten minutes" }
  }
  expect_failures = [var.timeouts]
}

# (30 + 5) x 2 databases x 2 instances = 140 > 100 - 3.
run "pools_over_max_connections" {
  command = plan
  variables {
    default_pool_size = 30
    reserve_pool_size = 5
    instances         = 2
  }
  expect_failures = [var.default_pool_size]
}

run "clients_over_max_client_conn" {
  command = plan
  variables {
    max_client_conn = 50
    clients         = { replicas = 2, workers = 4, pool_size = 10 }
  }
  expect_failures = [var.clients]
}

run "session_clients_over_max_connections" {
  command = plan
  variables {
    pool_mode = "session"
    clients   = { replicas = 3, workers = 4, pool_size = 10 }
  }
  expect_failures = [var.clients]
}
