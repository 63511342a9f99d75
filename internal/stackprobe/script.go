package stackprobe

// probeScript runs on a host (as root, over SSH) and prints one
// "layer|key|value" line per tuned value it can read; a layer whose service
// the host does not run prints nothing. It is a fixed text: nothing in it
// comes from input.
const probeScript = `
for k in net.core.somaxconn net.ipv4.tcp_max_syn_backlog net.ipv4.tcp_fin_timeout net.ipv4.tcp_tw_reuse \
  net.ipv4.tcp_keepalive_time net.ipv4.tcp_keepalive_intvl net.ipv4.tcp_keepalive_probes net.ipv4.tcp_rmem \
  net.ipv4.tcp_wmem net.ipv4.tcp_congestion_control vm.swappiness vm.dirty_ratio vm.dirty_background_ratio \
  vm.max_map_count fs.file-max; do
  echo "host|$k|$(cat /proc/sys/$(echo $k | tr . /) 2>/dev/null | tr -s '\t ' '  ')"
done
echo "host|transparent_hugepage.enabled|$(cat /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null)"
echo "host|transparent_hugepage.defrag|$(cat /sys/kernel/mm/transparent_hugepage/defrag 2>/dev/null)"
echo "host|cpu0.scaling_governor|$(cat /sys/devices/system/cpu/cpu0/cpufreq/scaling_governor 2>/dev/null || echo none)"
echo "host|limits.d nofile|$(cat /etc/security/limits.d/*.conf 2>/dev/null | awk '$1=="*" && $3=="nofile" {printf "%s=%s ", $2, $4}')"
for f in /etc/mcpai /etc/mcpai/traefik /etc/mcpai/traefik/* /etc/prometheus /etc/prometheus/rules \
  /etc/prometheus/rules/* /etc/prometheus/file_sd /etc/prometheus/file_sd/*; do
  if [ -d "$f" ]; then echo "files|$f|folder"; elif [ -f "$f" ]; then echo "files|$f|$(md5sum <"$f" | cut -c1-12)"; fi
done
if [ -S /var/run/docker.sock ] && docker info >/dev/null 2>&1; then
  echo "docker|daemon.json|$(tr -d ' \n\t' 2>/dev/null </etc/docker/daemon.json)"
  echo "docker|logging/live-restore|$(docker info --format '{{.LoggingDriver}} live-restore={{.LiveRestoreEnabled}}')"
  docker ps -a --filter label=io.mcpai.managed-by --format '{{.Names}} {{.Image}} {{.State}}' | sort | while read -r name image state; do
    echo "containers|$name|$image $state"
  done
fi
if command -v psql >/dev/null && [ -d /var/run/postgresql ] && runuser -u postgres -- psql -AtXq -c 'SELECT 1' >/dev/null 2>&1; then
  # One query: current_setting() prints each value as SHOW does.
  runuser -u postgres -- psql -AtXq -F '|' -c "SELECT 'postgres', s, current_setting(s) FROM unnest(ARRAY[
    'shared_buffers', 'effective_cache_size', 'work_mem', 'maintenance_work_mem', 'max_connections', 'random_page_cost',
    'effective_io_concurrency', 'wal_buffers', 'max_wal_size', 'shared_preload_libraries', 'log_min_duration_statement']) s"
fi
if command -v redis-cli >/dev/null && [ -r /etc/redis/redis.conf ]; then
  export REDISCLI_AUTH="$(awk '$1=="requirepass" {print $2}' /etc/redis/redis.conf | tr -d '"')"
  if [ "$(redis-cli --no-auth-warning ping 2>/dev/null)" = PONG ]; then
    # One CONFIG GET (Redis 7 takes several names): name and value lines.
    redis-cli --no-auth-warning config get maxmemory maxmemory-policy appendonly save tcp-keepalive timeout \
      lazyfree-lazy-eviction | awk 'NR % 2 == 1 { name = $0; next } { print "redis|" name "|" $0 }'
  fi
fi
`
