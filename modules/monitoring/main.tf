# The guide's alerts and scrape targets for Prometheus, as two files on the
# Prometheus host: alerting rules (the API's p95 latency and 5xx ratio at
# Traefik, load-balanced servers down, slow PostgreSQL statements from
# postgres_exporter's pg_stat_statements collector) and a file_sd targets
# file with the metrics endpoints to scrape; recording rules for the
# guide's dashboard (cache hit ratio, PostgreSQL connection use, GPU memory
# use). Optionally (prometheus.tf) Prometheus itself and the exporters the
# rules read, as containers on the same host.

locals {
  # Terraform evaluates independent parts of a configuration at once: the
  # host is reached only after every input has passed its validation, so a
  # bad one touches nothing.
  inputs = [
    var.host, var.ssh, var.rules_path, var.targets_path, var.promtool, var.thresholds, var.rate_window,
    var.alert_labels, var.group_prefix, var.metrics_endpoints, var.validate_only, var.config_dir, var.run_as,
    var.prometheus, var.node_exporter, var.postgres_exporter, var.postgres_exporter_data_source_name,
    var.redis_exporter, var.redis_exporter_password,
  ]

  t = var.thresholds
  w = var.rate_window

  # Per statement, as postgres_exporter labels it: time spent over calls
  # made in the window, so a statement that is merely frequent does not fire.
  statement = "job, instance, datname, queryid"
  # Per exporter: one server behind each, whichever labels its version adds.
  exporter = "job, instance"

  groups = [
    {
      name = "${var.group_prefix}-api"
      rules = [
        {
          alert  = "APIHighP95Latency"
          expr   = "histogram_quantile(0.95, sum by (service, le) (rate(traefik_service_request_duration_seconds_bucket[${local.w}]))) > ${local.t.p95_latency_seconds}"
          for    = local.t.p95_latency_for
          labels = var.alert_labels
          annotations = {
            summary     = "p95 latency of {{ $labels.service }} above ${local.t.p95_latency_seconds}s"
            description = "95% of the requests Traefik sent to {{ $labels.service }} in the last ${local.w} took up to {{ $value | humanizeDuration }}."
          }
        },
        {
          alert  = "APIHigh5xxRatio"
          expr   = "sum by (service) (rate(traefik_service_requests_total{code=~\"5..\"}[${local.w}])) / sum by (service) (rate(traefik_service_requests_total[${local.w}])) > ${local.t.error_ratio}"
          for    = local.t.error_ratio_for
          labels = var.alert_labels
          annotations = {
            summary     = "5xx responses of {{ $labels.service }} above ${format("%.6g", local.t.error_ratio * 100)}%"
            description = "{{ $value | humanizePercentage }} of the responses of {{ $labels.service }} in the last ${local.w} were 5xx."
          }
        },
        {
          alert  = "APIServerDown"
          expr   = "traefik_service_server_up == 0"
          for    = local.t.server_down_for
          labels = var.alert_labels
          annotations = {
            summary     = "{{ $labels.url }} of {{ $labels.service }} fails its health check"
            description = "Traefik no longer sends {{ $labels.service }}'s requests to {{ $labels.url }}: its health check fails."
          }
        },
      ]
    },
    {
      name = "${var.group_prefix}-postgres"
      rules = [
        {
          alert  = "PostgresSlowQueries"
          expr   = "sum by (${local.statement}) (rate(pg_stat_statements_seconds_total[${local.w}])) / sum by (${local.statement}) (rate(pg_stat_statements_calls_total[${local.w}])) > ${local.t.slow_query_seconds}"
          for    = local.t.slow_query_for
          labels = var.alert_labels
          annotations = {
            summary     = "Statement {{ $labels.queryid }} in {{ $labels.datname }} takes above ${local.t.slow_query_seconds}s"
            description = "Statement {{ $labels.queryid }} in database {{ $labels.datname }} on {{ $labels.instance }} took {{ $value | humanizeDuration }} per call over the last ${local.w} (pg_stat_statements)."
          }
        },
      ]
    },
    {
      # The guide's dashboard figures that no exporter gives as such; a
      # recording rule records nothing while its inputs are absent (no
      # dcgm-exporter: no GPU series).
      name = "${var.group_prefix}-dashboard"
      rules = [
        {
          record = "mcpai:redis_cache_hit_ratio"
          expr   = "sum by (${local.exporter}) (rate(redis_keyspace_hits_total[${local.w}])) / (sum by (${local.exporter}) (rate(redis_keyspace_hits_total[${local.w}])) + sum by (${local.exporter}) (rate(redis_keyspace_misses_total[${local.w}])))"
        },
        {
          record = "mcpai:postgres_connections_used_ratio"
          expr   = "sum by (${local.exporter}) (pg_stat_activity_count) / max by (${local.exporter}) (pg_settings_max_connections)"
        },
        {
          record = "mcpai:gpu_memory_used_ratio"
          expr   = "DCGM_FI_DEV_FB_USED / (DCGM_FI_DEV_FB_USED + DCGM_FI_DEV_FB_FREE)"
        },
      ]
    },
  ]
  rules = yamlencode({ groups = local.groups })

  # file_sd target groups: the job and metrics path as labels, which
  # Prometheus takes over the scrape configuration's own.
  target_groups = [for job, e in merge(local.exporter_endpoints, var.metrics_endpoints) : {
    targets = e.targets
    labels  = merge(e.labels, { job = job, __metrics_path__ = e.metrics_path, __scheme__ = e.scheme })
  }]
  targets = endswith(var.targets_path, ".json") ? jsonencode(local.target_groups) : yamlencode(local.target_groups)
}

resource "mcpai_host_file" "rules" {
  count = var.validate_only ? 0 : 1

  ssh              = merge(var.ssh, { host = var.host })
  path             = var.rules_path
  mode             = "0644"
  content          = local.rules
  validate_command = local.check_rules
  # Missing folders (a fresh host's /etc/prometheus/rules) are created,
  # and removed on destroy when empty.
  create_directories = true

  depends_on = [local.inputs, var.wait_for]
}

resource "mcpai_host_file" "targets" {
  count = var.validate_only ? 0 : 1

  ssh                = merge(var.ssh, { host = var.host })
  path               = var.targets_path
  mode               = "0644"
  content            = local.targets
  create_directories = true

  # After the rules file, so that a parent folder both files lack (a fresh
  # host's /etc/prometheus) is created by the rules file and removed by it
  # last, once the targets file's folder is gone.
  depends_on = [local.inputs, var.wait_for, mcpai_host_file.rules]
}
