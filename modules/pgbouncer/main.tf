# PgBouncer in front of PostgreSQL, the guide's connection pooling: one
# container on a Docker host, in the host's network, with pgbouncer.ini and
# userlist.txt written on the host and mounted read-only. Transaction
# pooling by default; the pools are checked against the server's
# max_connections when planning (variables.tf), before any host is touched.

locals {
  # Terraform evaluates independent parts of a configuration at once: the
  # files and the container are planned only after every input has passed
  # its validation, so a bad one touches nothing.
  inputs = [
    var.host, var.ssh, var.name, var.image, var.run_as, var.config_dir, var.listen_addr, var.port, var.server_host,
    var.server_port, var.user, var.password, var.databases, var.pool_mode, var.default_pool_size,
    var.reserve_pool_size, var.max_client_conn, var.max_connections, var.superuser_reserved_connections,
    var.instances, var.clients, var.memory, var.timeouts,
  ]

  ssh      = merge(var.ssh, { host = var.host })
  url_host = strcontains(var.host, ":") ? "[${var.host}]" : var.host

  # Where the container reads the files: the folder is mounted whole, so a
  # file replaced on the host (a new inode) is seen by a new container.
  container_dir = "/etc/pgbouncer"

  # The [pgbouncer] section, without secrets.
  settings = {
    listen_addr       = var.listen_addr
    listen_port       = tostring(var.port)
    unix_socket_dir   = "" # no socket: clients come over TCP, and the image's /var/run/postgresql may be missing
    auth_type         = "md5"
    auth_file         = "${local.container_dir}/userlist.txt"
    admin_users       = var.user
    pool_mode         = var.pool_mode
    default_pool_size = tostring(var.default_pool_size)
    reserve_pool_size = tostring(var.reserve_pool_size)
    max_client_conn   = tostring(var.max_client_conn)
    # Drivers send it at startup (JDBC, asyncpg); PgBouncer would refuse them.
    ignore_startup_parameters = "extra_float_digits"
  }

  # PgBouncer logs in to the server with the password from the connection
  # string (an md5 secret cannot answer the server's SCRAM challenge): a
  # single-quoted value, a quote doubled.
  server_password = "'${replace(var.password, "'", "''")}'"
  ini = join("\n", concat(
    ["; Written by Terraform (mcpai pgbouncer module).", "[databases]"],
    [for d in var.databases : "${d} = host=${var.server_host} port=${var.server_port} dbname=${d} user=${var.user} password=${local.server_password}"],
    ["", "[pgbouncer]"],
    [for k in sort(keys(local.settings)) : "${k} = ${local.settings[k]}"],
    [""],
  ))

  # Clients authenticate with md5 against "md5" + md5(password + user).
  userlist = "\"${var.user}\" \"md5${md5("${var.password}${var.user}")}\"\n"

  dsn = "postgresql://${var.user}@${local.url_host}:${var.port}/${var.databases[0]}"
}

resource "mcpai_host_file" "ini" {
  ssh                = local.ssh
  path               = "${var.config_dir}/pgbouncer.ini"
  mode               = "0600"
  sensitive_content  = local.ini
  create_directories = true

  depends_on = [local.inputs]
}

resource "mcpai_host_file" "userlist" {
  ssh                = local.ssh
  path               = "${var.config_dir}/userlist.txt"
  mode               = "0600"
  sensitive_content  = local.userlist
  create_directories = true

  # After pgbouncer.ini, in the same folder: the ini, written first, creates
  # the folder, and on destroy it goes last, when the folder can be empty
  # (at once, the one that created it could find the other still there).
  depends_on = [local.inputs, mcpai_host_file.ini]
}

resource "mcpai_container" "pgbouncer" {
  ssh   = local.ssh
  name  = var.name
  image = var.image
  # PgBouncer reads both files as root (they are root's, 0600), then
  # switches to run_as: it refuses to run as root.
  command = ["pgbouncer", "-u", var.run_as, "${local.container_dir}/pgbouncer.ini"]

  # The host's network: the server sees the host's address (its pg_hba
  # rules for the host apply), and clients reach PgBouncer on the host's
  # addresses without a NAT hop.
  network_mode = "host"
  volumes      = [{ source = var.config_dir, target = local.container_dir, read_only = true }]
  memory       = var.memory
  timeouts     = var.timeouts

  lifecycle {
    # PgBouncer reads its files at start: a new file, a new container.
    replace_triggered_by = [mcpai_host_file.ini, mcpai_host_file.userlist]
  }

  depends_on = [mcpai_host_file.ini, mcpai_host_file.userlist]
}
