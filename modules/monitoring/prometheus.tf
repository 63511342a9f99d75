# Prometheus and the exporters its rules read, each optional, as containers
# in the host's network on the host that holds the rules and targets files:
# Prometheus loads those two files (their folders mounted read-only) with a
# prometheus.yml written here; the exporters are scrape jobs of the targets
# file. Every container runs as run_as, not root.

locals {
  url_host = strcontains(var.host, ":") ? "[${var.host}]" : var.host

  # An exporter listening on every address is scraped at the host's address,
  # so that a Prometheus elsewhere reaches it too; else on the loopback.
  exporters = {
    node     = var.node_exporter
    postgres = var.postgres_exporter
    redis    = var.redis_exporter
  }
  exporter_endpoints = { for job, e in local.exporters : job => {
    targets      = ["${e.listen_address == "0.0.0.0" ? local.url_host : e.listen_address}:${e.port}"]
    metrics_path = "/metrics"
    scheme       = "http"
    labels       = {}
  } if e.enabled }

  # The rules are checked before they replace the old ones: by promtool on
  # the host when given, else by the promtool of Prometheus's image, run
  # with the new file's folder mounted (the file is a temporary one there).
  rules_dir = dirname(var.rules_path)
  check_rules = (var.promtool != null ? [var.promtool, "check", "rules", "{}"] :
    var.prometheus.enabled && var.prometheus.check_rules ? [
      "docker", "run", "--rm", "--network=none", "--volume=${local.rules_dir}:${local.rules_dir}:ro", "--entrypoint=promtool",
      var.prometheus.image, "check", "rules", "{}",
    ] : null
  )

  # Where the containers see the files: one mount per folder, side by side
  # (a mount point inside a read-only mount could not be made).
  mounted = {
    config  = "/mcpai/config"
    rules   = "/mcpai/rules"
    file_sd = "/mcpai/file_sd"
  }
  prometheus_yml = yamlencode({
    global = {
      scrape_interval     = var.prometheus.scrape_interval
      evaluation_interval = var.prometheus.evaluation_interval
    }
    rule_files = ["${local.mounted.rules}/${basename(var.rules_path)}"]
    scrape_configs = [
      {
        job_name        = var.group_prefix
        file_sd_configs = [{ files = ["${local.mounted.file_sd}/${basename(var.targets_path)}"] }]
      },
      {
        job_name       = "prometheus"
        static_configs = [{ targets = ["127.0.0.1:${var.prometheus.port}"] }]
      },
    ]
  })

  # postgres_exporter 0.11 (Debian bookworm's) has no stat_statements
  # collector: this query gives the metrics that 0.12's collector does
  # (pg_stat_statements_calls_total and _seconds_total by user, datname and
  # queryid), which PostgresSlowQueries reads. The 100 statements with the
  # most time, as the collector keeps.
  postgres_queries = yamlencode({
    pg_stat_statements = {
      query  = <<-SQL
        SELECT r.rolname AS "user", d.datname, s.queryid::text AS queryid,
               sum(s.calls) AS calls_total, sum(s.total_exec_time) / 1000.0 AS seconds_total
        FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid JOIN pg_database d ON d.oid = s.dbid
        GROUP BY 1, 2, 3 ORDER BY seconds_total DESC LIMIT 100
      SQL
      master = true
      metrics = [
        { user = { usage = "LABEL", description = "Role that ran the statement" } },
        { datname = { usage = "LABEL", description = "Database the statement ran in" } },
        { queryid = { usage = "LABEL", description = "The statement's query id" } },
        { calls_total = { usage = "COUNTER", description = "Times the statement ran" } },
        { seconds_total = { usage = "COUNTER", description = "Time spent running the statement, in seconds" } },
      ]
    }
  })
  postgres_queries_file = var.postgres_exporter.enabled && var.postgres_exporter.stat_statements

  data_volume = var.prometheus.data_volume == null ? "${var.prometheus.name}-data" : var.prometheus.data_volume

  # Programs start through setpriv as run_as and its group of the same name.
  as_user = ["setpriv", "--reuid=${var.run_as}", "--regid=${var.run_as}", "--init-groups"]
  ssh     = merge(var.ssh, { host = var.host })
  run     = !var.validate_only
}

resource "mcpai_host_file" "prometheus_yml" {
  count = local.run && var.prometheus.enabled ? 1 : 0

  ssh                = local.ssh
  path               = "${var.config_dir}/prometheus.yml"
  mode               = "0644"
  content            = local.prometheus_yml
  create_directories = true

  # After the rules file, as the targets file, for folders they share.
  depends_on = [local.inputs, var.wait_for, mcpai_host_file.rules]
}

resource "mcpai_host_file" "postgres_queries" {
  count = local.run && local.postgres_queries_file ? 1 : 0

  ssh                = local.ssh
  path               = "${var.config_dir}/postgres-queries.yml"
  mode               = "0644"
  content            = local.postgres_queries
  create_directories = true

  # After prometheus.yml, in the same folder: the file written first creates
  # the folder, and on destroy it goes last, when the folder can be empty.
  depends_on = [local.inputs, var.wait_for, mcpai_host_file.rules, mcpai_host_file.prometheus_yml]
}

resource "mcpai_container" "prometheus" {
  count = local.run && var.prometheus.enabled ? 1 : 0

  ssh        = local.ssh
  name       = var.prometheus.name
  image      = var.prometheus.image
  entrypoint = concat(local.as_user, ["prometheus"])
  command = [
    "--config.file=${local.mounted.config}/prometheus.yml",
    "--storage.tsdb.path=/var/lib/prometheus/metrics2",
    "--storage.tsdb.retention.time=${var.prometheus.retention}",
    "--web.listen-address=${var.prometheus.listen_address}:${var.prometheus.port}",
  ]
  network_mode = "host"
  volumes = concat(
    [
      { source = var.config_dir, target = local.mounted.config, read_only = true },
      { source = local.rules_dir, target = local.mounted.rules, read_only = true },
      { source = dirname(var.targets_path), target = local.mounted.file_sd, read_only = true },
    ],
    # A named volume starts as a copy of the image's folder, owned by the
    # package's prometheus user; it outlives the container.
    local.data_volume == "" ? [] : [{ source = local.data_volume, target = "/var/lib/prometheus/metrics2", read_only = false }],
  )
  memory      = var.prometheus.memory
  health_path = "/-/ready"
  health_port = var.prometheus.port

  # Prometheus reads its configuration and rule files at start (the targets
  # file it watches): a new file, a new label, a new container. A label
  # rather than replace_triggered_by, whose replacement would remove this
  # container before a new rules file is checked, and leave none when
  # promtool refuses it; a changed container is changed after its files.
  labels = { "io.mcpai.monitoring.files-sha256" = sha256("${local.rules}${local.prometheus_yml}") }

  depends_on = [mcpai_host_file.rules, mcpai_host_file.targets, mcpai_host_file.prometheus_yml]
}

resource "mcpai_container" "node_exporter" {
  count = local.run && var.node_exporter.enabled ? 1 : 0

  ssh        = local.ssh
  name       = var.node_exporter.name
  image      = coalesce(var.node_exporter.image, var.prometheus.image)
  entrypoint = concat(local.as_user, ["prometheus-node-exporter"])
  command = [
    "--path.procfs=/host/proc",
    "--path.sysfs=/host/sys",
    "--web.listen-address=${var.node_exporter.listen_address}:${var.node_exporter.port}",
  ]
  # The host's network (its interfaces' counters) and its /proc and /sys.
  network_mode = "host"
  volumes = [
    { source = "/proc", target = "/host/proc", read_only = true },
    { source = "/sys", target = "/host/sys", read_only = true },
  ]
  health_path = "/metrics"
  health_port = var.node_exporter.port

  depends_on = [local.inputs, var.wait_for]
}

resource "mcpai_container" "postgres_exporter" {
  count = local.run && var.postgres_exporter.enabled ? 1 : 0

  ssh        = local.ssh
  name       = var.postgres_exporter.name
  image      = coalesce(var.postgres_exporter.image, var.prometheus.image)
  entrypoint = concat(local.as_user, ["prometheus-postgres-exporter"])
  command = concat(
    ["--web.listen-address=${var.postgres_exporter.listen_address}:${var.postgres_exporter.port}"],
    local.postgres_queries_file ? ["--extend.query-path=${local.mounted.config}/postgres-queries.yml"] : [],
  )
  sensitive_env = { DATA_SOURCE_NAME = var.postgres_exporter_data_source_name }
  network_mode  = "host"
  volumes       = local.postgres_queries_file ? [{ source = var.config_dir, target = local.mounted.config, read_only = true }] : []
  health_path   = "/metrics"
  health_port   = var.postgres_exporter.port

  labels = local.postgres_queries_file ? { "io.mcpai.monitoring.files-sha256" = sha256(local.postgres_queries) } : null

  depends_on = [local.inputs, var.wait_for, mcpai_host_file.postgres_queries]
}

resource "mcpai_container" "redis_exporter" {
  count = local.run && var.redis_exporter.enabled ? 1 : 0

  ssh        = local.ssh
  name       = var.redis_exporter.name
  image      = coalesce(var.redis_exporter.image, var.prometheus.image)
  entrypoint = concat(local.as_user, ["prometheus-redis-exporter"])
  command = [
    "-redis.addr=${var.redis_exporter.address}",
    "-web.listen-address=${var.redis_exporter.listen_address}:${var.redis_exporter.port}",
  ]
  sensitive_env = var.redis_exporter_password == null ? null : { REDIS_PASSWORD = var.redis_exporter_password }
  network_mode  = "host"
  health_path   = "/metrics"
  health_port   = var.redis_exporter.port

  depends_on = [local.inputs, var.wait_for]
}
