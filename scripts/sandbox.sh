#!/usr/bin/env bash
# Disposable SSH test hosts for the provider's acceptance tests.
#
#   scripts/sandbox.sh up [N] [--light-from K]
#                               start (or re-check) hosts h1..hN (default 2);
#                               hK..hN light (sshd only), K >= 3
#   scripts/sandbox.sh down     remove everything `up` made
#   scripts/sandbox.sh status   show what is running
#
# What a host is and has (namespaces and private mounts, the network, the
# Docker engines and their images, PostgreSQL, Redis, the GPU mock, light
# hosts) is in CONTRIBUTING.md, "The sandbox". This script does what only the
# shell does (namespaces, mounts, veths, iptables, starting daemons);
# tools/sandboxctl speaks the hosts' Engine API (image builds, readiness,
# probes) and writes the images' build contexts, known_hosts and hosts.json.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
SB="$REPO/.sandbox"

NS_PREFIX="mcpai-h"            # netns mcpai-h<i>, outside veth end mcpai-h<i>o
NET_PREFIX="10.213"            # host i is 10.213.<i>.2, the machine 10.213.<i>.1
SUDO_USER_NAME="mcpai"         # passwordless sudo
NOPRIV_USER_NAME="mcpai-nopriv" # sudo needs the password
SUDO_UID=4401                  # high, fixed ids that are unlikely to clash
NOPRIV_UID=4402
PASSWORD="mcpai-test-password"
PASSPHRASE="mcpai-test-passphrase"
# Bumped whenever what a host gets changes: `up` rebuilds a running host whose
# .sandbox/h<i>/layout differs, instead of keeping it as it is.
LAYOUT=10
# scripts/debian-images.sh makes the images of real programs from Debian's
# packages (see ensure_images).
DEBIAN_IMAGES="$REPO/scripts/debian-images.sh"
# tools/sandboxctl (see the header), built by cmd_up.
SANDBOXCTL="$REPO/.bin/sandboxctl"
# What a host runs: full hosts every service, light ones sshd only.
FULL_SERVICES="sshd docker postgres redis"
LIGHT_SERVICES="sshd"
# `up --light-from K`: hosts from hK on are light (0: none).
LIGHT_FROM=0
# The mock NVIDIA stack (h2): hook log inside the host, and its CDI spec.
NVIDIA_HOOK_LOG_NAME="mcpai-nvidia-hook.log"   # in the host's /var/log
CDI_SPEC_NAME="mcpai-mock-gpu.yaml"            # in the host's /etc/cdi
TOOLS_BIN="$REPO/.tools/bin"   # scripts/install-docker.sh builds the current engine here
# Each host's PostgreSQL cluster (Debian's postgresql-15 and postgresql-common).
PG_VERSION=15
PG_CLUSTER=main
PG_BIN=/usr/lib/postgresql/$PG_VERSION/bin  # the machine side uses these, not pg_wrapper
PG_PORT=5432
PG_ROLE="mcpai"                # superuser, password $PASSWORD
PG_DATABASE="mcpai"
# Each host's Redis (Debian's redis-server).
REDIS_PORT=6379
REDIS_TLS_PORT=6380
REDIS_NOCONFIG_USER="noconfig"  # ACL user: everything but CONFIG
REDIS_NOCONFIG_PASSWORD="mcpai-noconfig-password"

log() { printf 'sandbox: %s\n' "$*" >&2; }
die() { printf 'sandbox: ERROR: %s\n' "$*" >&2; exit 1; }

usage() {
  sed -n '2,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

host_ns()   { echo "${NS_PREFIX}$1"; }
host_veth() { echo "${NS_PREFIX}$1o"; }
host_addr() { echo "${NET_PREFIX}.$1.2"; }
host_gw()   { echo "${NET_PREFIX}.$1.1"; }
host_dir()  { echo "$SB/h$1"; }
# What host $1 emulates: a cpufreq driver ("emulated" or "none") and the
# transparent_hugepage= on its boot command line ("" for none). Only h2.
host_cpufreq()     { if (($1 == 2)); then echo emulated; else echo none; fi; }
host_cmdline_thp() { if (($1 == 2)); then echo never; fi; }
# Which Docker engine host $1 runs: "current" (built from the Go module proxy
# into .tools/bin) on h2, "distribution" (docker.io, 20.10) elsewhere.
host_docker_engine() { if (($1 == 2)); then echo current; else echo distribution; fi; }
host_docker_sock() { echo "$(host_dir "$1")/run/docker.sock"; }
# Whether host $1 has the mock NVIDIA stack (hook, runtime name, CDI spec):
# only h2, whose current engine registers the "nvidia" device driver.
host_gpu_mock() { (($1 == 2)); }
# Machine-side paths of host $1's hook log and private /etc/cdi ("" without
# the mock).
host_nvidia_hook_log() { if host_gpu_mock "$1"; then echo "$(host_dir "$1")/log/$NVIDIA_HOOK_LOG_NAME"; fi; }
host_cdi_dir()         { if host_gpu_mock "$1"; then echo "$(host_dir "$1")/etc/cdi"; fi; }
# Machine-side paths of host $1's cluster: its /etc/postgresql/15/main,
# /var/lib/postgresql/15/main (PGDATA) and server log.
host_pg_conf_dir() { echo "$(host_dir "$1")/etc/postgresql/$PG_VERSION/$PG_CLUSTER"; }
host_pg_data_dir() { echo "$(host_dir "$1")/lib/postgresql/$PG_VERSION/$PG_CLUSTER"; }
host_pg_log()      { echo "$(host_dir "$1")/log/postgresql/postgresql-$PG_VERSION-$PG_CLUSTER.log"; }
# Machine-side paths of host $1's Redis: its /etc/redis/redis.conf, the
# server log, the pid file, and the CA that signed its TLS certificate.
host_redis_conf() { echo "$(host_dir "$1")/etc/redis/redis.conf"; }
host_redis_log()  { echo "$(host_dir "$1")/log/redis/redis-server.log"; }
host_redis_pidfile() { echo "$(host_dir "$1")/run/redis/redis-server.pid"; }
host_redis_ca()   { echo "$(host_dir "$1")/redis-tls/ca.crt"; }
# What host $1 runs: as this `up` asks (host_wanted_services), and as it was
# built (host_services, from <host dir>/services; hosts built before light
# hosts existed have every service). host_light: it runs sshd only.
host_wanted_services() {
  if ((LIGHT_FROM > 0 && $1 >= LIGHT_FROM)); then echo "$LIGHT_SERVICES"; else echo "$FULL_SERVICES"; fi
}
host_services() { cat "$(host_dir "$1")/services" 2>/dev/null || echo "$FULL_SERVICES"; }
host_light()    { [[ $(host_services "$1") == "$LIGHT_SERVICES" ]]; }

# Indexes of the hosts that exist now, from netns names and leftover veths, so
# that `down` also cleans up after a run that died half way (no hosts.json).
existing_indexes() {
  {
    ip netns list 2>/dev/null | awk '{print $1}' | sed -n "s/^${NS_PREFIX}\([0-9]\{1,3\}\)\$/\1/p"
    ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//' |
      sed -n "s/^${NS_PREFIX}\([0-9]\{1,3\}\)o\$/\1/p"
    if [[ -d "$SB" ]]; then
      find "$SB" -mindepth 1 -maxdepth 1 -type d -name 'h[0-9]*' -printf '%f\n' | sed 's/^h//'
    fi
  } | sort -nu
}

# ---------------------------------------------------------------------------
# Prerequisites
# ---------------------------------------------------------------------------

require_root() {
  [[ $(id -u) -eq 0 ]] || die "must run as root (network namespaces, bind mounts, sshd)"
}

# Install only what is missing; `apt-get update` is slow, so only then.
ensure_packages() {
  local -A need=(
    [/usr/sbin/sshd]=openssh-server
    [/usr/bin/ssh]=openssh-client
    [/usr/bin/ssh-keygen]=openssh-client
    [/usr/sbin/ip]=iproute2
    [/usr/bin/sudo]=sudo
    [/usr/bin/openssl]=openssl    # SHA-512 password hashes for the private shadow
    [/usr/bin/unshare]=util-linux
    [/usr/bin/flock]=util-linux
    [/usr/bin/nsenter]=util-linux
    [/usr/bin/curl]=curl          # scripts/debian-images.sh's Engine API calls
    [/usr/bin/jq]=jq
    ["$PG_BIN/postgres"]=postgresql-$PG_VERSION   # contrib (pg_stat_statements) included
    ["$PG_BIN/psql"]=postgresql-client-$PG_VERSION
    [/usr/bin/pg_createcluster]=postgresql-common
    [/usr/bin/redis-server]=redis-server        # makes the redis user: before hosts copy /etc/passwd
    [/usr/bin/redis-cli]=redis-tools
    [/usr/bin/mmdebstrap]=mmdebstrap            # the Debian images' root filesystem
  )
  local missing=() bin
  for bin in "${!need[@]}"; do
    [[ -x $bin ]] || missing+=("${need[$bin]}")
  done
  ((${#missing[@]})) || return 0
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  log "installing: ${missing[*]}"
  # Keep package scripts from starting a machine-wide sshd on 0.0.0.0:22 or
  # redis-server (policy-rc.d exit 101 = "do not start services"), unless
  # one exists.
  local policy=/usr/sbin/policy-rc.d made_policy=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && made_policy=1
  fi
  # apt's chatter (debconf notes included) goes to a file, shown on failure.
  local rc=0 aptlog
  aptlog=$(mktemp)
  {
    DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        -o Dpkg::Options::=--force-confold "${missing[@]}"
  } >"$aptlog" 2>&1 || rc=$?
  if ((made_policy)); then rm -f "$policy"; fi
  if ((rc != 0)); then
    cat "$aptlog" >&2; rm -f "$aptlog"
    die "apt-get install ${missing[*]} failed (rc=$rc)"
  fi
  rm -f "$aptlog"
}

ensure_machine_prereqs() {
  # The private sudoers.d only takes effect if the machine's sudoers reads it.
  grep -Eq '^[[:space:]]*[@#]includedir[[:space:]]+/etc/sudoers\.d[[:space:]]*$' /etc/sudoers ||
    die "/etc/sudoers has no '@includedir /etc/sudoers.d'; the hosts' private sudoers.d would be ignored"
  # Bind mounts need their mount points. These are the directories the
  # packages themselves create (sshd's privilege-separation dir is normally
  # made by its init script, which does not run here), so creating them
  # changes nothing that matters on the machine.
  mkdir -p /run/sshd /etc/sysctl.d /etc/sudoers.d /run/lock /home
  chmod 755 /run/sshd
  # Same for the tmpfiles, limits and systemd drop-in folders (libpam-modules
  # and systemd ship the first two; they exist here already). Nothing on the
  # machine reads /etc/systemd/system.conf.d but systemd as PID 1, which this
  # machine does not run, and an empty drop-in folder means the same to
  # systemd as none; so making it, and leaving it after `down`, is harmless.
  mkdir -p /etc/tmpfiles.d /etc/security/limits.d /etc/systemd/system.conf.d

  # Docker: scripts/install-docker.sh installs and builds it (`make sandbox`
  # runs it first). The engines are never started on the machine itself.
  local f
  for f in /usr/sbin/dockerd /usr/bin/docker /usr/bin/docker-init /usr/bin/containerd /usr/sbin/runc /etc/init.d/docker \
    "$TOOLS_BIN/dockerd" "$TOOLS_BIN/docker-proxy" "$TOOLS_BIN/runc"; do
    [[ -x $f ]] || die "$f is missing: run scripts/install-docker.sh first"
  done
  [[ -d /etc/docker ]] || die "/etc/docker is missing (it comes with docker.io): run scripts/install-docker.sh"
  getent group docker >/dev/null || die "no 'docker' group (docker.io makes it): run scripts/install-docker.sh"

  # PostgreSQL: the hosts' clusters run as the machine's postgres user (the
  # hosts' /etc/passwd is a copy of the machine's), from its binaries.
  getent passwd postgres >/dev/null || die "no 'postgres' user on the machine (postgresql-common makes it)"
  for f in "$PG_BIN/postgres" "$PG_BIN/initdb" "$PG_BIN/pg_ctl" "$PG_BIN/pg_isready" "$PG_BIN/psql" \
    /usr/bin/pg_createcluster /usr/bin/pg_ctlcluster /usr/bin/pg_lsclusters; do
    [[ -x $f ]] || die "$f is missing (postgresql-$PG_VERSION, postgresql-common)"
  done
  [[ -f /usr/share/postgresql/$PG_VERSION/extension/pg_stat_statements.control ]] ||
    die "pg_stat_statements is missing from postgresql-$PG_VERSION"

  # Redis: the hosts' servers run as the machine's redis user, started by the
  # package's init script.
  getent passwd redis >/dev/null || die "no 'redis' user on the machine (redis-server makes it)"
  for f in /usr/bin/redis-server /usr/bin/redis-cli /etc/init.d/redis-server /etc/redis/redis.conf \
    /etc/default/redis-server; do
    [[ -e $f ]] || die "$f is missing (redis-server, redis-tools)"
  done

  mkdir -p "$SB"
  # Mount points: the hosts' /var/lib/docker, /var/lib/containerd (which
  # docker.io does not ship; dockerd would make them on first start),
  # /etc/postgresql and /var/lib/postgresql (postgresql-common ships these,
  # so here they normally exist, and are left exactly as they are), and
  # /etc/redis and /var/lib/redis (likewise, from redis-server), and /etc/cdi
  # (h2's mock CDI spec; nothing on the machine reads it, as no dockerd runs
  # here), and /etc/mcpai and /etc/prometheus (Traefik's configuration and
  # Prometheus's rules and targets, which the api-service and monitoring
  # modules write, each host its own), and /var/lib/mcpai (the provider's
  # ledger of what it wrote, each host its own). The ones made here are listed
  # in $SB/mountpoints; `down` removes them.
  local dir mode
  for dir in /var/lib/docker /var/lib/containerd /etc/postgresql /var/lib/postgresql /etc/redis /var/lib/redis \
    /etc/cdi /etc/mcpai /etc/prometheus /var/lib/mcpai; do
    if [[ ! -e $dir ]]; then
      mode=755
      if [[ $dir == */docker || $dir == */containerd ]]; then mode=710; fi
      mkdir -m "$mode" "$dir"
      echo "$dir" >>"$SB/mountpoints"
    fi
  done
}

# ---------------------------------------------------------------------------
# Keys shared by all hosts
# ---------------------------------------------------------------------------

ensure_client_keys() {
  mkdir -p "$SB"
  chmod 755 "$SB"
  [[ -f $SB/id_ed25519 ]] ||
    ssh-keygen -q -t ed25519 -N '' -C mcpai-sandbox -f "$SB/id_ed25519"
  [[ -f $SB/id_ed25519_enc ]] ||
    ssh-keygen -q -t ed25519 -N "$PASSPHRASE" -C mcpai-sandbox-enc -f "$SB/id_ed25519_enc"
  [[ -f $SB/id_ed25519_unauthorized ]] ||
    ssh-keygen -q -t ed25519 -N '' -C mcpai-sandbox-unauthorized -f "$SB/id_ed25519_unauthorized"
  # authorized_keys for every user on every host: the plain and encrypted
  # keys, never the "unauthorized" one.
  cat "$SB/id_ed25519.pub" "$SB/id_ed25519_enc.pub" >"$SB/authorized_keys"
  # Used by the checks below (and handy for tests) to feed a password or a
  # passphrase to ssh without a terminal: SSH_ASKPASS_REQUIRE=force.
  # shellcheck disable=SC2016  # $MCPAI_SANDBOX_SECRET is for the askpass script
  printf '#!/bin/sh\nprintf "%%s\\n" "$MCPAI_SANDBOX_SECRET"\n' >"$SB/askpass.sh"
  chmod 755 "$SB/askpass.sh"
}

# ---------------------------------------------------------------------------
# One host
# ---------------------------------------------------------------------------

# sshd of host $1 runs, is in the host's netns and listens on port 22.
host_healthy() {
  local i=$1 ns pid
  ns=$(host_ns "$i")
  [[ -e /run/netns/$ns ]] || return 1
  pid=$(cat "$(host_dir "$i")/sshd.pid" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ && -d /proc/$pid ]] || return 1
  [[ $(cat "/proc/$pid/comm" 2>/dev/null) == sshd ]] || return 1
  # Compare namespace inodes: a stale pid file could name an unrelated sshd.
  [[ $(stat -L -c %i "/proc/$pid/ns/net") == $(stat -L -c %i "/run/netns/$ns") ]] || return 1
  local listening
  listening=$(ip netns exec "$ns" ss -Hltn "sport = :22") || return 1
  [[ -n $listening ]]
}

# The ids of the containers host $1's dockerd knows (from its private
# /var/lib/docker, as the machine sees it).
host_container_ids() {
  local d
  d="$(host_dir "$1")/lib/docker/containers"
  if [[ -d $d ]]; then find "$d" -mindepth 1 -maxdepth 1 -type d -printf '%f\n'; fi
}

# Every process of host $1: those in its netns (sshd, sessions, dockerd,
# containerd, containerd-shim, docker-proxy, ...), the given extra pids, and
# all their descendants: containers run in network namespaces of their own,
# as children of their containerd-shim. Also whatever is still in one of its
# containers' cgroups, in case a shim died and left a container behind.
host_pids() {
  local i=$1 ns id roots=()
  shift
  ns=$(host_ns "$i")
  roots=("$@")
  if [[ -e /run/netns/$ns ]]; then
    mapfile -t -O "${#roots[@]}" roots < <(ip netns pids "$ns" 2>/dev/null || true)
  fi
  for id in $(host_container_ids "$i"); do
    [[ $id =~ ^[0-9a-f]{64}$ ]] || continue
    mapfile -t -O "${#roots[@]}" roots < <(cat /sys/fs/cgroup/*/docker/"$id"/cgroup.procs 2>/dev/null || true)
  done
  ((${#roots[@]})) || return 0
  ps -e -o pid=,ppid= | awk -v roots="${roots[*]}" '
    { kids[$2] = kids[$2] " " $1 }
    END {
      n = split(roots, q, " ")
      for (h = 1; h <= n; h++) seen[q[h]] = 1
      for (h = 1; h <= n; h++) {
        m = split(kids[q[h]], k, " ")
        for (j = 1; j <= m; j++) if (!(k[j] in seen)) { seen[k[j]] = 1; q[++n] = k[j] }
      }
      for (p in seen) print p
    }'
}

# Kill every process of host $1 (sshd, sessions, dockerd and its containers,
# anything tests started in it), which also drops its private mount
# namespace and so all its bind mounts, then delete the netns and the veth,
# and the cgroups its containers left in the machine's (shared) cgroup
# hierarchies. Safe when nothing exists.
host_teardown() {
  local i=$1 ns veth dir pids=() pid extra=()
  ns=$(host_ns "$i"); veth=$(host_veth "$i"); dir=$(host_dir "$i")
  # The sshd from the pid file too, in case its netns was deleted under it.
  pid=$(cat "$dir/sshd.pid" 2>/dev/null || true)
  if [[ $pid =~ ^[0-9]+$ && $(cat "/proc/$pid/comm" 2>/dev/null || true) == sshd ]]; then
    extra+=("$pid")
  fi
  # PostgreSQL first, with a fast shutdown (SIGINT to the postmaster): a
  # killed postmaster would leave its shared memory behind (SysV segments and
  # /dev/shm are the machine's). Its pid file may be stale: it is ours only
  # if its working directory is this host's data directory.
  local pm data
  data=$(host_pg_data_dir "$i")
  pm=$(head -n1 "$data/postmaster.pid" 2>/dev/null || true)
  if [[ $pm =~ ^[0-9]+$ && $(cat "/proc/$pm/comm" 2>/dev/null || true) == postgres &&
        $(stat -L -c %d:%i "/proc/$pm/cwd" 2>/dev/null || true) == $(stat -c %d:%i "$data") ]]; then
    extra+=("$pm")
    kill -INT "$pm" 2>/dev/null || true
    for _ in $(seq 100); do          # up to 10 s for the shutdown checkpoint
      [[ $(awk '{print $3}' "/proc/$pm/stat" 2>/dev/null || echo Z) != Z ]] || break
      sleep 0.1
    done
  fi
  mapfile -t pids < <(host_pids "$i" "${extra[@]}")
  if ((${#pids[@]})); then
    kill -TERM "${pids[@]}" 2>/dev/null || true
    # Up to 3 s for a clean exit. A zombie counts as gone: this machine's
    # pid 1 reaps orphans only after a second or so.
    for _ in $(seq 30); do
      local alive=0
      for pid in "${pids[@]}"; do
        if [[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || echo Z) != Z ]]; then alive=1; fi
      done
      ((alive)) || break
      sleep 0.1
    done
    kill -KILL "${pids[@]}" 2>/dev/null || true
  fi
  if [[ -e /run/netns/$ns ]]; then ip netns del "$ns"; fi
  # Deleting the netns destroys eth0 and with it the peer, but not at once:
  # the peer may still show here, and be gone by the time it is deleted.
  # This is for a veth left behind by a run that died before moving eth0
  # into the netns.
  if ip link show "$veth" &>/dev/null && ! ip link del "$veth" 2>/dev/null && ip link show "$veth" &>/dev/null; then
    die "h$i: cannot delete $veth"
  fi
  rm -f "$dir/sshd.pid"
  # A killed container's cgroups stay behind (empty) in the machine's
  # hierarchies: /sys/fs/cgroup/<controller>/docker/<id>. rmdir removes only
  # empty ones; the docker/ parent goes too once no host uses it.
  local id c
  for id in $(host_container_ids "$i"); do
    [[ $id =~ ^[0-9a-f]{64}$ ]] || continue
    for c in /sys/fs/cgroup/*/docker/"$id"; do
      if [[ -d $c ]]; then rmdir "$c" 2>/dev/null || true; fi
    done
  done
  for c in /sys/fs/cgroup/*/docker; do
    if [[ -d $c ]]; then rmdir "$c" 2>/dev/null || true; fi
  done
}

# Private copies of the files the host sees in place of the machine's. A
# light host (host_wanted_services) gets the same folders, but no Redis
# configuration or Docker init script: nothing starts those there.
write_host_files() {
  local i=$1 dir hash today
  dir=$(host_dir "$i")
  # Start clean, but keep the host key (known_hosts stays valid across
  # rebuilds) and the log (tests count "Accepted" lines in it).
  mkdir -p "$dir"
  find "$dir" -mindepth 1 -maxdepth 1 \
    ! -name 'ssh_host_*_key*' ! -name sshd.log -exec rm -rf {} +
  mkdir -p "$dir/etc" "$dir/sysctl.d" "$dir/root/.ssh" "$dir/home" "$dir/log"
  # <etc_dir> in hosts.json is $dir/etc: these are read as <etc_dir>/tmpfiles.d
  # etc. straight from the machine. All start empty (tests rely on it).
  mkdir -p "$dir/etc/tmpfiles.d" "$dir/etc/security/limits.d" "$dir/etc/systemd/system.conf.d"
  chmod 755 "$dir/etc" "$dir/etc/tmpfiles.d" "$dir/etc/security" "$dir/etc/security/limits.d" \
    "$dir/etc/systemd" "$dir/etc/systemd/system.conf.d"
  chmod 700 "$dir/root"
  chmod 755 "$dir/log"
  touch "$dir/sshd.log"

  # The host's /run: what sshd (its privilege-separation dir) and sudo (time
  # stamps, in /run/lock: see sudoers.d below) need; dockerd and containerd
  # make the rest. Also the machine-wide /run/mcpai.lock becomes per host.
  mkdir -p "$dir/run/sshd" "$dir/run/lock"
  chmod 755 "$dir/run" "$dir/run/sshd"
  chmod 1777 "$dir/run/lock"        # like the real /run/lock

  # Docker: private /etc/docker (<etc_dir>/docker, empty: no daemon.json),
  # /var/lib/docker, /var/lib/containerd, and /var/log/docker.log (the init
  # script appends the daemon's output there).
  mkdir -p "$dir/etc/docker" "$dir/lib/docker" "$dir/lib/containerd"
  # Private, empty /etc/mcpai and /etc/prometheus: the folders below them
  # (traefik/, rules/, file_sd/) are the modules' to create and remove.
  install -d -m 755 "$dir/etc/mcpai" "$dir/etc/prometheus"
  # Private, empty /var/lib/mcpai: the provider's ledger (records of the files
  # it wrote) is per host.
  install -d -m 755 "$dir/lib/mcpai"
  chmod 755 "$dir/etc/docker" "$dir/lib"
  chmod 710 "$dir/lib/docker" "$dir/lib/containerd"
  install -m 640 -g docker /dev/null "$dir/log/docker.log"
  # PostgreSQL: private /etc/postgresql (<etc_dir>/postgresql),
  # /var/lib/postgresql, /var/run/postgresql and /var/log/postgresql, empty
  # and owned as postgresql-common makes them; pg_createcluster fills them.
  install -d -m 755 -o postgres -g postgres "$dir/etc/postgresql" "$dir/lib/postgresql"
  install -d -m 2775 -o postgres -g postgres "$dir/run/postgresql"
  install -d -m 1775 -o root -g postgres "$dir/log/postgresql"
  # Redis: private /etc/redis, /var/lib/redis and /var/log/redis, owned as
  # redis-server makes them (/run/redis: its init script makes it).
  install -d -m 2770 -o redis -g redis "$dir/etc/redis"
  install -d -m 750 -o redis -g redis "$dir/lib/redis"
  install -d -m 2750 -o redis -g adm "$dir/log/redis"
  host_wanted_services "$i" >"$dir/services"
  if ! host_light "$i"; then
    write_redis_files "$i"
    write_docker_init "$dir/docker.init"
  fi
  if [[ $(host_docker_engine "$i") == current ]]; then
    # Exactly the current dockerd, docker-proxy and runc, for HOST_INIT to
    # lay over /usr/sbin (hard links where possible: no copy of 140 MB). The
    # current dockerd starts docker-proxy with -use-listen-fd, which the
    # distribution's lacks: published ports fail with that one.
    mkdir -p "$dir/sbin"
    ln -f "$TOOLS_BIN/dockerd" "$TOOLS_BIN/docker-proxy" "$TOOLS_BIN/runc" "$dir/sbin/" 2>/dev/null ||
      cp "$TOOLS_BIN/dockerd" "$TOOLS_BIN/docker-proxy" "$TOOLS_BIN/runc" "$dir/sbin/"
  fi
  if host_gpu_mock "$i"; then
    # The mock NVIDIA stack (see CONTRIBUTING.md, "The sandbox"): the hook,
    # and the runtime name as a link to the host's own runc, in the overlay
    # on /usr/sbin (on the init script's PATH, so dockerd finds the hook at
    # every start); the CDI spec in a private /etc/cdi; an empty hook log.
    mkdir -p "$dir/sbin"
    install -m 755 "$SB/gpu-mock/nvidia-container-runtime-hook" "$dir/sbin/"
    ln -sfn runc "$dir/sbin/nvidia-container-runtime"
    install -d -m 755 "$dir/etc/cdi"
    write_cdi_spec "$i"
    install -m 644 /dev/null "$dir/log/$NVIDIA_HOOK_LOG_NAME"
  fi
  # The machine's cgroup mounts, which HOST_INIT repeats: `ip netns exec`
  # mounts a fresh /sys without them, and dockerd needs them.
  findmnt -rn -R -o TARGET,FSTYPE,FS-OPTIONS /sys/fs/cgroup | awk '
    $1 == "/sys/fs/cgroup" && $2 == "tmpfs" { print "tmpfs . mode=0755"; next }
    $1 == "/sys/fs/cgroup" { print $2, ".", $3; next }
    $2 == "cgroup" || $2 == "cgroup2" { sub("^/sys/fs/cgroup/", "", $1); print $2, $1, $3 }' >"$dir/cgroups"
  [[ -s $dir/cgroups ]] || die "h$i: the machine has no cgroup mounts under /sys/fs/cgroup"

  [[ -f $dir/ssh_host_ed25519_key ]] ||
    ssh-keygen -q -t ed25519 -N '' -C "mcpai-sandbox-h$i" -f "$dir/ssh_host_ed25519_key"
  # A second host key, as stock servers have: known_hosts and hosts.json name
  # only the ed25519 one, so clients must ask for the algorithm they know.
  [[ -f $dir/ssh_host_ecdsa_key ]] ||
    ssh-keygen -q -t ecdsa -N '' -C "mcpai-sandbox-h$i" -f "$dir/ssh_host_ecdsa_key"

  # /root: only authorized_keys. The machine's root .bashrc (pyenv, ~150 ms)
  # must not run for every command over SSH.
  install -m 600 "$SB/authorized_keys" "$dir/root/.ssh/authorized_keys"
  chmod 700 "$dir/root/.ssh"

  # Users live only in these copies; the machine's /etc is never edited.
  # /bin/sh as shell so no bashrc of any kind is read.
  local u
  for u in "$SUDO_USER_NAME" "$NOPRIV_USER_NAME"; do
    local uid=$SUDO_UID
    [[ $u == "$NOPRIV_USER_NAME" ]] && uid=$NOPRIV_UID
    if getent passwd "$uid" >/dev/null && [[ $(getent passwd "$uid" | cut -d: -f1) != "$u" ]]; then
      log "warning: uid $uid is already used on the machine by $(getent passwd "$uid" | cut -d: -f1)"
    fi
    mkdir -p "$dir/home/$u/.ssh"
    install -m 600 "$SB/authorized_keys" "$dir/home/$u/.ssh/authorized_keys"
    chmod 700 "$dir/home/$u/.ssh"
    chmod 755 "$dir/home/$u"
    chown -R "$uid:$uid" "$dir/home/$u"
  done
  chmod 755 "$dir/home"

  local names="^(${SUDO_USER_NAME}|${NOPRIV_USER_NAME}):"
  hash=$(openssl passwd -6 "$PASSWORD")
  # Last-change day must not be 0: with UsePAM no, sshd would then demand a
  # password change and refuse non-interactive logins.
  today=$(($(date +%s) / 86400))
  { grep -Ev "$names" /etc/passwd || true
    echo "$SUDO_USER_NAME:x:$SUDO_UID:$SUDO_UID:mcpai sandbox sudo user:/home/$SUDO_USER_NAME:/bin/sh"
    echo "$NOPRIV_USER_NAME:x:$NOPRIV_UID:$NOPRIV_UID:mcpai sandbox user:/home/$NOPRIV_USER_NAME:/bin/sh"
  } >"$dir/etc/passwd"
  { grep -Ev "$names" /etc/group || true
    echo "$SUDO_USER_NAME:x:$SUDO_UID:"
    echo "$NOPRIV_USER_NAME:x:$NOPRIV_UID:"
  } >"$dir/etc/group"
  { grep -Ev "$names" /etc/shadow || true
    echo "$SUDO_USER_NAME:$hash:$today:0:99999:7:::"
    echo "$NOPRIV_USER_NAME:$hash:$today:0:99999:7:::"
  } >"$dir/etc/shadow"
  chmod 644 "$dir/etc/passwd" "$dir/etc/group"
  chown root:shadow "$dir/etc/shadow" 2>/dev/null || true
  chmod 640 "$dir/etc/shadow"

  # sudoers.d: the machine's entries plus ours (sudo wants root, 0440).
  mkdir -p "$dir/etc/sudoers.d"
  cp -a /etc/sudoers.d/. "$dir/etc/sudoers.d/" 2>/dev/null || true
  cat >"$dir/etc/sudoers.d/mcpai-sandbox" <<EOF
# Written by scripts/sandbox.sh; only this host sees it.
# Keep sudo's timestamps and lecture marks out of the machine's /run/sudo and
# /var/lib/sudo: time stamps go to the host-private /run/lock, no lecture.
Defaults timestampdir=/run/lock/sudo-ts
Defaults lecture=never
$SUDO_USER_NAME ALL=(ALL:ALL) NOPASSWD: ALL
$NOPRIV_USER_NAME ALL=(ALL:ALL) ALL
EOF
  chmod 440 "$dir/etc/sudoers.d/mcpai-sandbox"
  chown -R root:root "$dir/etc/sudoers.d"
  chmod 755 "$dir/etc/sudoers.d"

  # `sysctl --system` also reads /etc/sysctl.conf; a private copy keeps
  # edits to it inside the host too.
  if [[ -f /etc/sysctl.conf ]]; then cp /etc/sysctl.conf "$dir/etc/sysctl.conf"; fi

  # The emulated kernel bits (see CONTRIBUTING.md, "The sandbox"): HOST_INIT
  # mounts what exists.
  if [[ $(host_cpufreq "$i") == emulated ]]; then
    echo "0-1" >"$dir/cpus"         # the CPUs to emulate, as in .../cpu/online
  fi
  if [[ -n $(host_cmdline_thp "$i") ]]; then
    # The machine's command line minus any transparent_hugepage=, with ours
    # among the kernel's own parameters: before " -- ", after which the
    # words belong to init.
    local line kparams rest=""
    line=$(sed -E 's/(^| )transparent_hugepage=[^ ]*//g; s/^ +//' /proc/cmdline)
    kparams=$line
    if [[ $line == *" -- "* ]]; then kparams=${line%% -- *}; rest=" -- ${line#* -- }"; fi
    printf '%s transparent_hugepage=%s%s\n' "$kparams" "$(host_cmdline_thp "$i")" "$rest" >"$dir/cmdline"
    chmod 444 "$dir/cmdline"
  fi

  # sshd writes wtmp/btmp/lastlog for pty sessions: private empty copies
  # in the host's private /var/log.
  local f
  for f in wtmp btmp lastlog; do
    if [[ -f /var/log/$f ]]; then install -m 664 /dev/null "$dir/log/$f"; fi
  done

  cat >"$dir/sshd_config" <<EOF
# Written by scripts/sandbox.sh for test host h$i.
ListenAddress $(host_addr "$i"):22
HostKey $dir/ssh_host_ecdsa_key
HostKey $dir/ssh_host_ed25519_key
PidFile $dir/sshd.pid
# LogLevel INFO: one "Accepted ..." line per authenticated connection in
# $dir/sshd.log (sshd -E); tests count these to count connections.
LogLevel INFO
# No PAM: passwords are checked against the private /etc/shadow directly,
# and no PAM session modules touch the machine.
UsePAM no
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication yes
KbdInteractiveAuthentication no
AuthorizedKeysFile .ssh/authorized_keys
# Tests may loosen modes on homes or key files; don't lock them out for it.
StrictModes no
MaxSessions 10
# Tests may dial many connections at once; the default 10:30:100 drops
# unauthenticated connections at random from the 11th on.
MaxStartups 100
UseDNS no
PrintMotd no
PrintLastLog no
Subsystem sftp internal-sftp
AllowStreamLocalForwarding yes
AllowTcpForwarding yes
EOF
  echo "$LAYOUT" >"$dir/layout"
}

# The machine's /etc/init.d/docker as the hosts run it: `ulimit -n 1048576`
# (and -u/-p unlimited) exceed this machine's hard limits and would stop the
# script under `set -e`, so they may fail; and cgroupfs_mount is skipped,
# because it would mount every enabled controller (net_cls, perf_event,
# hugetlb, ...) as new v1 hierarchies, which are machine-wide: HOST_INIT has
# mounted what the machine mounts.
write_docker_init() {
  local out=$1 src=/etc/init.d/docker
  sed -E -e 's/^([[:space:]]*)(ulimit -[npu] [0-9a-z]+)[[:space:]]*$/\1\2 2>\/dev\/null || true/' \
    -e 's/^([[:space:]]*)cgroupfs_mount[[:space:]]*$/\1: # cgroupfs_mount: the sandbox host has its cgroups mounted already/' \
    "$src" >"$out"
  chmod 755 "$out"
  # The package's script changed if these did not apply: better to stop here.
  [[ $(grep -c '^[[:space:]]*ulimit -[npu] .* || true$' "$out") -eq 3 &&
     $(grep -c '^[[:space:]]*: # cgroupfs_mount' "$out") -eq 1 ]] ||
    die "$src is not the script sandbox.sh knows (ulimit/cgroupfs_mount lines): check write_docker_init"
}

# Host $1's Redis: a CA (<host dir>/redis-tls, which the machine side reads)
# and a server certificate for its address signed by it (in /etc/redis/tls),
# and redis.conf from the package's, with a pristine copy for repairs.
write_redis_files() {
  local i=$1 dir addr ca etc src=/etc/redis/redis.conf
  dir=$(host_dir "$i"); addr=$(host_addr "$i")
  ca=$dir/redis-tls; etc=$dir/etc/redis
  mkdir -p "$ca"; chmod 755 "$ca"
  install -d -m 750 -o redis -g redis "$etc/tls"
  local out
  out=$({
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
      -subj "/CN=mcpai sandbox h$i Redis CA" -keyout "$ca/ca.key" -out "$ca/ca.crt" \
      -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign &&
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$addr" \
      -keyout "$etc/tls/server.key" -out "$ca/server.csr" &&
    openssl x509 -req -in "$ca/server.csr" -CA "$ca/ca.crt" -CAkey "$ca/ca.key" -set_serial "0x$(openssl rand -hex 8)" \
      -days 3650 -out "$etc/tls/server.crt" -extfile <(printf '%s\n' "subjectAltName=IP:$addr,IP:127.0.0.1" \
        basicConstraints=CA:FALSE keyUsage=critical,digitalSignature extendedKeyUsage=serverAuth) &&
    openssl verify -CAfile "$ca/ca.crt" -verify_ip "$addr" "$etc/tls/server.crt"
  } 2>&1) || die "h$i: making the Redis TLS certificates failed: $out"
  rm -f "$ca/server.csr"
  chmod 600 "$ca/ca.key"; chmod 644 "$ca/ca.crt"
  cp "$ca/ca.crt" "$etc/tls/ca.crt"
  chown redis:redis "$etc/tls/ca.crt" "$etc/tls/server.crt" "$etc/tls/server.key"
  chmod 644 "$etc/tls/ca.crt" "$etc/tls/server.crt"; chmod 600 "$etc/tls/server.key"

  # The package's defaults that hosts.json and the init script rely on.
  local want
  for want in "port $REDIS_PORT" "daemonize yes" "pidfile /run/redis/redis-server.pid" \
    "logfile /var/log/redis/redis-server.log" "dir /var/lib/redis"; do
    grep -qx "$want" "$src" || die "$src lacks '$want': check write_redis_files"
  done
  [[ $(grep -c '^bind ' "$src") -eq 1 ]] || die "$src has not exactly one 'bind' line: check write_redis_files"
  { sed "s/^bind .*/bind 127.0.0.1 $addr/" "$src"
    cat <<EOF

# Added by scripts/sandbox.sh for test host h$i.
requirepass $PASSWORD
user $REDIS_NOCONFIG_USER on >$REDIS_NOCONFIG_PASSWORD ~* &* +@all -config
tls-port $REDIS_TLS_PORT
tls-cert-file /etc/redis/tls/server.crt
tls-key-file /etc/redis/tls/server.key
tls-ca-cert-file /etc/redis/tls/ca.crt
tls-auth-clients no
EOF
  } >"$dir/redis.conf.pristine"
  chmod 644 "$dir/redis.conf.pristine"
  install -m 640 -o redis -g redis "$dir/redis.conf.pristine" "$etc/redis.conf"
  # The init script's `ulimit -n $ULIMIT` (65536) exceeds this machine's hard
  # limit and prints an error on every start: no ULIMIT in the host's copy.
  sed 's/^ULIMIT=/#ULIMIT=/' /etc/default/redis-server >"$dir/redis.default"
  chmod 644 "$dir/redis.default"
}

# Runs as root inside the host's netns and a fresh private mount namespace:
# bind the private copies, then start sshd (under tini, see the end). Its
# processes and dockerd's keep the mount namespace (and so these mounts)
# alive; they vanish with them.
# shellcheck disable=SC2016
HOST_INIT='
set -eu
d=$1
mount -n --bind "$d/etc/passwd"     /etc/passwd
mount -n --bind "$d/etc/shadow"     /etc/shadow
mount -n --bind "$d/etc/group"      /etc/group
mount -n --bind "$d/etc/sudoers.d"  /etc/sudoers.d
mount -n --bind "$d/sysctl.d"       /etc/sysctl.d
mount -n --bind "$d/etc/tmpfiles.d" /etc/tmpfiles.d
mount -n --bind "$d/etc/security/limits.d" /etc/security/limits.d
mount -n --bind "$d/etc/systemd/system.conf.d" /etc/systemd/system.conf.d
if [ -f "$d/etc/sysctl.conf" ]; then mount -n --bind "$d/etc/sysctl.conf" /etc/sysctl.conf; fi
mount -n --bind "$d/root"           /root
mount -n --bind "$d/home"           /home
# /run and /var/log: $d/run holds /run/sshd and /run/lock, $d/log the login
# records; dockerd adds docker.sock, docker.pid, ... and docker.log.
mount -n --bind "$d/run"            /run
mount -n --bind "$d/log"            /var/log
# Docker: private state and configuration, and the patched init script.
mount -n --bind "$d/etc/docker"     /etc/docker
mount -n --bind "$d/lib/docker"     /var/lib/docker
mount -n --bind "$d/lib/containerd" /var/lib/containerd
# (Light hosts have no init script: they run no dockerd.)
if [ -f "$d/docker.init" ]; then mount -n --bind "$d/docker.init" /etc/init.d/docker; fi
# PostgreSQL: the cluster "15 main" (configuration, data, and the home of
# the postgres user); /var/run/postgresql and /var/log/postgresql are in the
# private /run and /var/log already.
mount -n --bind "$d/etc/postgresql" /etc/postgresql
mount -n --bind "$d/lib/postgresql" /var/lib/postgresql
# Redis: redis.conf (which CONFIG REWRITE replaces: the folder, not the file)
# and tls/, and its data; /run/redis and /var/log/redis are private already.
mount -n --bind "$d/etc/redis"      /etc/redis
mount -n --bind "$d/lib/redis"      /var/lib/redis
if [ -f "$d/redis.default" ]; then mount -n --bind "$d/redis.default" /etc/default/redis-server; fi
# The mock CDI spec (h2): a private /etc/cdi. The hook and the runtime name
# come with the overlay on /usr/sbin below.
if [ -d "$d/etc/cdi" ]; then mount -n --bind "$d/etc/cdi" /etc/cdi; fi
# Files the api-service and monitoring modules write (Traefik, Prometheus).
mount -n --bind "$d/etc/mcpai"      /etc/mcpai
mount -n --bind "$d/etc/prometheus" /etc/prometheus
# The ledger of the files the provider wrote.
mount -n --bind "$d/lib/mcpai"      /var/lib/mcpai
# The current engine (h2): its dockerd, docker-proxy and runc in place of
# those of the distribution (/usr/bin/runc is a link to /usr/sbin/runc),
# through a read-only overlay on /usr/sbin rather than bind mounts on files:
# runc 1.2+ runs "runc init" from an overlayfs whose lower layer is the
# folder of its own path, which would show the file under a bind mount, i.e.
# the runc of the distribution ("can not get final child PID from pipe").
# The same overlay adds the mock nvidia-container-runtime-hook and
# nvidia-container-runtime (a link to runc) where $d/sbin has them (h2).
if [ -d "$d/sbin" ]; then
  mount -n -t overlay -o "ro,lowerdir=$d/sbin:/usr/sbin" mcpai-engine /usr/sbin
fi
# The cgroup mounts of the machine (the same hierarchies), which the fresh
# /sys of `ip netns exec` lacks: "<fstype> <path under /sys/fs/cgroup> <options>".
while read -r type rel opts; do
  if [ "$rel" = . ]; then
    mount -n -t "$type" -o "$opts" "mcpai-$type" /sys/fs/cgroup
  else
    mkdir -p "/sys/fs/cgroup/$rel"
    mount -n -t "$type" -o "$opts" "mcpai-$type" "/sys/fs/cgroup/$rel"
  fi
done <"$d/cgroups"
# Emulated cpufreq: a tmpfs in place of /sys/devices/system/cpu. /sys here is
# the sysfs that `ip netns exec` mounted for this netns, and this mount
# namespace is private, so neither the machine nor other hosts see it.
if [ -f "$d/cpus" ]; then
  cpus=$(cat "$d/cpus")
  c=/sys/devices/system/cpu
  mount -n -t tmpfs -o mode=0755,size=64k,nosuid,nodev,noexec mcpai-cpufreq "$c"
  umask 022
  for f in online possible present; do echo "$cpus" >"$c/$f"; done
  for n in $(seq "${cpus%-*}" "${cpus#*-}"); do
    mkdir -p "$c/cpu$n/cpufreq"
    echo "conservative ondemand userspace powersave performance schedutil" \
      >"$c/cpu$n/cpufreq/scaling_available_governors"
    echo schedutil >"$c/cpu$n/cpufreq/scaling_governor"
  done
  chown -R 0:0 "$c"
  find "$c" -type f -exec chmod 0644 {} +
fi
# Emulated boot command line, read-only like the real one.
if [ -f "$d/cmdline" ]; then
  mount -n --bind "$d/cmdline" /proc/cmdline
  mount -n -o remount,bind,ro /proc/cmdline
fi
# sshd in the foreground under tini (docker-init) as a child subreaper: the
# daemons started over SSH (dockerd, by `service docker start|restart`) are
# re-parented to it, and it reaps them as soon as they exit. The pid 1 of
# this machine reaps orphans only after a second or so, and the init
# script (start-stop-daemon --stop) waits for that on every stop.
setsid /usr/bin/docker-init -s -- /usr/sbin/sshd -D -f "$d/sshd_config" -E "$d/sshd.log" \
  </dev/null >>"$d/sshd.log" 2>&1 &
'

# ---------------------------------------------------------------------------
# Docker in a host
# ---------------------------------------------------------------------------

build_sandboxctl() {
  command -v go >/dev/null || die "go is needed to build $REPO/tools/sandboxctl"
  # -buildvcs=false: root building in another user's clone, git refuses to
  # tell the version ("dubious ownership"), which would fail the build.
  (cd "$REPO" && CGO_ENABLED=0 GOFLAGS=-buildvcs=false go build -o "$SANDBOXCTL" ./tools/sandboxctl) || die "building tools/sandboxctl failed"
}

# sandboxctl <command> [flags] on host $1's docker.sock.
host_sandboxctl() {
  local i=$1 cmd=$2
  "$SANDBOXCTL" "$cmd" -socket "$(host_docker_sock "$i")" "${@:3}"
}

docker_ping() { host_sandboxctl "$1" ping 2>/dev/null; }

docker_log_tail() {
  local log
  log="$(host_dir "$1")/log/docker.log"
  printf '%s ends with:\n' "$log"
  tail -n 30 "$log" 2>/dev/null || true
}

# `service docker start` in host $1 as root over SSH, as an admin would (so
# that dockerd, like the ones tests restart, lives under the host's reaper),
# then wait up to 30 s for the Engine API; check that the right engine
# answers.
docker_start() {
  local i=$1 out
  ssh_base
  out=$("${SSH[@]}" -o BatchMode=yes -i "$SB/id_ed25519" "root@$(host_addr "$i")" \
        'service docker start' </dev/null 9<&- 2>&1) ||
    die "h$i: 'service docker start' failed: $out
$(docker_log_tail "$i")"
  out=$(host_sandboxctl "$i" wait-engine -engine "$(host_docker_engine "$i")" -timeout 30s 2>&1) ||
    die "h$i: $out ($(host_docker_sock "$i"))
$(docker_log_tail "$i")"
}

# The images every engine has (see CONTRIBUTING.md), each built in host $1's
# engine where missing or, for a labelled one, where its label differs from
# its build context's (tests may have removed it, or its program changed):
# those FROM scratch, the Debian images (scripts/debian-images.sh loads
# those from the root filesystem cmd_up built), then those FROM them.
ensure_images() {
  local i=$1
  host_sandboxctl "$i" images -dir "$SB" -host "h$i" scratch ||
    die "h$i: building the sandbox's images failed (see above)"
  "$DEBIAN_IMAGES" load "$i" "$(host_docker_sock "$i")" 9<&- ||
    die "h$i: loading the Debian images failed (see above)"
  host_sandboxctl "$i" images -dir "$SB" -host "h$i" debian ||
    die "h$i: building the images FROM the Debian images failed (see above)"
}

# Host $1's mock CDI spec: kind nvidia.com/gpu, devices "0", "1" and "all",
# which only set NVIDIA_VISIBLE_DEVICES (no device nodes). CDI version 0.6.0:
# the engine's tags.cncf.io/container-device-interface v1.1.1 takes 0.3.0 to
# 1.1.0. Rewritten only where it differs (dockerd watches the folder).
write_cdi_spec() {
  local f n
  f="$(host_cdi_dir "$1")/$CDI_SPEC_NAME"
  {
    printf '%s\n' "# Written by scripts/sandbox.sh: mock GPUs for tests (no GPU, no device nodes)." \
      'cdiVersion: "0.6.0"' 'kind: nvidia.com/gpu' 'devices:'
    for n in 0 1 all; do
      printf '  - name: "%s"\n    containerEdits:\n      env:\n        - NVIDIA_VISIBLE_DEVICES=%s\n' "$n" "$n"
    done
  } >"$f.tmp"
  if cmp -s "$f.tmp" "$f"; then rm -f "$f.tmp"; else chmod 644 "$f.tmp"; mv "$f.tmp" "$f"; fi
}

# ---------------------------------------------------------------------------
# PostgreSQL in a host
# ---------------------------------------------------------------------------

# A shell command run as root in host $1 over SSH, as an admin would (daemons
# it starts live under the host's reaper); stdout and stderr together.
host_root_sh() {
  ssh_base
  "${SSH[@]}" -o BatchMode=yes -i "$SB/id_ed25519" "root@$(host_addr "$1")" "$2" </dev/null 9<&- 2>&1
}

# SQL from the machine to host $1's cluster over TCP (<address>:5432), as
# the tests connect: pg_sql <i> <sql>. No ~/.psqlrc, never a prompt.
pg_sql() {
  PGPASSWORD=$PASSWORD PGCONNECT_TIMEOUT=5 "$PG_BIN/psql" -X -w -qAt -v ON_ERROR_STOP=1 \
    -h "$(host_addr "$1")" -p "$PG_PORT" -U "$PG_ROLE" -d "$PG_DATABASE" -c "$2"
}

# Host $1's cluster accepts connections on <address>:5432 and the password
# login of $PG_ROLE, and listens where hosts.json says (127.0.0.1 too, for
# tunnels: a test may have changed listen_addresses).
pg_ok() {
  "$PG_BIN/pg_isready" -q -t 3 -h "$(host_addr "$1")" -p "$PG_PORT" -U "$PG_ROLE" -d "$PG_DATABASE" &&
    [[ $(pg_sql "$1" "select current_setting('listen_addresses')" 2>/dev/null) == "127.0.0.1,$(host_addr "$1")" ]]
}

# pg_ok within $2 seconds.
pg_wait() {
  local i=$1 n
  for ((n = $2 * 10; n > 0; n--)); do
    pg_ok "$i" && return 0
    sleep 0.1
  done
  pg_ok "$i"
}

pg_log_tail() {
  local log
  log=$(host_pg_log "$1")
  printf '%s ends with:\n' "$log"
  tail -n 30 "$log" 2>/dev/null || true
}

pg_postmaster_pid() {
  head -n1 "$(host_pg_data_dir "$1")/postmaster.pid" 2>/dev/null || echo none
}

# The cluster of a freshly started host $1 (after write_outputs: over SSH),
# made and started inside it the Debian way: pg_createcluster (initdb
# without fsync: the sandbox is disposable), listening on 127.0.0.1 and the
# host's address, password (scram-sha-256) logins from the machine's side of
# the veth and from the other hosts (pg_hba_line), then pg_ctlcluster start and the role and database, as postgres
# over the local socket (peer).
# The pg_hba.conf line for password logins from the machine and the other
# hosts, and the comment above it.
PG_HBA_COMMENT="# The machine (scripts/sandbox.sh, tests) and the other sandbox hosts."
pg_hba_line() { echo "host all all ${NET_PREFIX}.0.0/16 scram-sha-256"; }

# pg_hba_allow_hosts <i>: a kept host's cluster (made by an older sandbox.sh,
# which allowed the machine only) takes logins from the other hosts too.
pg_hba_allow_hosts() {
  local i=$1 hba out
  hba="$(host_pg_conf_dir "$i")/pg_hba.conf"
  [[ -f $hba ]] && ! grep -qxF "$(pg_hba_line)" "$hba" || return 0
  printf '\n%s\n%s\n' "$PG_HBA_COMMENT" "$(pg_hba_line)" >>"$hba"
  out=$(host_root_sh "$i" "pg_ctlcluster $PG_VERSION $PG_CLUSTER reload") ||
    die "h$i: reloading PostgreSQL after adding '$(pg_hba_line)' to pg_hba.conf failed: $out"
  log "h$i: PostgreSQL takes logins from the other hosts too (pg_hba.conf)"
}

host_postgres_up() {
  local i=$1 addr out pw
  addr=$(host_addr "$i")
  pw=${PASSWORD//"'"/"''"}          # as an SQL string literal
  out=$(host_root_sh "$i" "set -eu
cd /                                 # psql as postgres cannot read /root
pg_createcluster --locale C.UTF-8 -p $PG_PORT -o listen_addresses=127.0.0.1,$addr \
  $PG_VERSION $PG_CLUSTER -- --no-sync
printf '%s\n' '' '$PG_HBA_COMMENT' '$(pg_hba_line)' >>/etc/postgresql/$PG_VERSION/$PG_CLUSTER/pg_hba.conf
pg_ctlcluster $PG_VERSION $PG_CLUSTER start
runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 \
  -c \"CREATE ROLE $PG_ROLE LOGIN SUPERUSER PASSWORD '$pw'\" \
  -c 'CREATE DATABASE $PG_DATABASE OWNER $PG_ROLE'") ||
    die "h$i: creating and starting PostgreSQL $PG_VERSION $PG_CLUSTER failed: $out
$(pg_log_tail "$i")"
  pg_wait "$i" 30 || die "h$i: PostgreSQL does not take the password login of $PG_ROLE on $addr:$PG_PORT
$(pg_log_tail "$i")"
  log "h$i: PostgreSQL $PG_VERSION $PG_CLUSTER pid $(pg_postmaster_pid "$i") on $addr:$PG_PORT and 127.0.0.1:$PG_PORT"
}

# Host $1 was kept, but its cluster does not answer: a test may have stopped
# it, or left a setting it refuses (in postgresql.auto.conf, ALTER SYSTEM's
# file). Start it (restart it if it runs), and if that does not do, empty
# postgresql.auto.conf and start it again. Fails if it still does not answer.
pg_repair() {
  local i=$1 out auto
  auto="$(host_pg_data_dir "$i")/postgresql.auto.conf"
  # pg_ctlcluster waits until the server takes connections, or fails.
  if out=$(host_root_sh "$i" "if pg_ctlcluster $PG_VERSION $PG_CLUSTER status >/dev/null 2>&1; then
  pg_ctlcluster $PG_VERSION $PG_CLUSTER restart
else
  pg_ctlcluster $PG_VERSION $PG_CLUSTER start
fi"); then
    if pg_wait "$i" 2; then
      log "h$i: PostgreSQL did not answer; (re)started it (pid $(pg_postmaster_pid "$i"))"
      return 0
    fi
    log "h$i: PostgreSQL runs, but not as promised (listen_addresses 127.0.0.1,$(host_addr "$i"), password login of $PG_ROLE to $PG_DATABASE)"
  else
    log "h$i: PostgreSQL does not start: $out"
  fi
  if [[ -f $auto ]]; then
    log "h$i: emptying postgresql.auto.conf, which held:"
    grep -v '^#' "$auto" | sed 's/^/    /' >&2 || true
  fi
  if out=$(host_root_sh "$i" "pg_ctlcluster $PG_VERSION $PG_CLUSTER stop -m fast >/dev/null 2>&1 ||
  pg_ctlcluster $PG_VERSION $PG_CLUSTER stop -m immediate >/dev/null 2>&1 || true
a=/var/lib/postgresql/$PG_VERSION/$PG_CLUSTER/postgresql.auto.conf
printf '%s\n' '# Do not edit this file manually!' '# It will be overwritten by the ALTER SYSTEM command.' >\$a
chown postgres:postgres \$a && chmod 600 \$a
pg_ctlcluster $PG_VERSION $PG_CLUSTER start") && pg_wait "$i" 2; then
    log "h$i: PostgreSQL started with an empty postgresql.auto.conf (pid $(pg_postmaster_pid "$i"))"
    return 0
  fi
  log "h$i: PostgreSQL still does not start: $out"
  pg_log_tail "$i" >&2
  return 1
}

# ---------------------------------------------------------------------------
# Redis in a host
# ---------------------------------------------------------------------------

# redis-cli from the machine to host $1's Redis, as the tests connect:
# redis_cli <i> [tls] [redis-cli options and command...], as the default
# user (password $PASSWORD) unless the options name another.
redis_cli() {
  local i=$1 port=$REDIS_PORT tls=()
  shift
  if [[ ${1:-} == tls ]]; then
    shift; port=$REDIS_TLS_PORT; tls=(--tls --cacert "$(host_redis_ca "$i")")
  fi
  timeout 5 redis-cli "${tls[@]}" -h "$(host_addr "$i")" -p "$port" -a "$PASSWORD" --no-auth-warning "$@" 2>&1
}

# Host $1's Redis answers PING on <address>:6379 and (TLS) :6380 as the
# default user, and the noconfig user logs in.
redis_ok() {
  [[ $(redis_cli "$1" ping) == PONG && $(redis_cli "$1" tls ping) == PONG &&
     $(redis_cli "$1" --user "$REDIS_NOCONFIG_USER" --pass "$REDIS_NOCONFIG_PASSWORD" ping) == PONG ]]
}

# redis_ok within $2 seconds.
redis_wait() {
  local i=$1 n
  for ((n = $2 * 10; n > 0; n--)); do
    redis_ok "$i" && return 0
    sleep 0.1
  done
  redis_ok "$i"
}

redis_log_tail() {
  local log
  log=$(host_redis_log "$1")
  printf '%s ends with:\n' "$log"
  tail -n 20 "$log" 2>/dev/null || true
}

redis_pid() {
  cat "$(host_redis_pidfile "$1")" 2>/dev/null || echo none
}

# Redis in a freshly started host $1 (after write_outputs: over SSH), by
# its init script. That exits 0 even when the server fails: PING decides.
host_redis_up() {
  local i=$1 out
  out=$(host_root_sh "$i" 'service redis-server start') ||
    die "h$i: 'service redis-server start' failed: $out
$(redis_log_tail "$i")"
  redis_wait "$i" 10 || die "h$i: Redis does not answer on $(host_addr "$i"):$REDIS_PORT and :$REDIS_TLS_PORT (TLS): $out
$(redis_log_tail "$i")"
  log "h$i: Redis pid $(redis_pid "$i") on $(host_addr "$i"):$REDIS_PORT and :$REDIS_TLS_PORT (TLS)"
}

# Host $1 was kept, but its Redis does not answer as promised: a test may
# have stopped it, or left a redis.conf it refuses. Restart it, and if that
# does not do, put back the pristine redis.conf and restart it again.
redis_repair() {
  local i=$1 out dir
  dir=$(host_dir "$i")
  if out=$(host_root_sh "$i" 'service redis-server restart') && redis_wait "$i" 3; then
    log "h$i: Redis did not answer; restarted it (pid $(redis_pid "$i"))"
    return 0
  fi
  log "h$i: Redis does not answer after a restart ($out); putting back the pristine redis.conf"
  diff "$dir/redis.conf.pristine" "$(host_redis_conf "$i")" 2>&1 | sed 's/^/    /' >&2 || true
  install -m 640 -o redis -g redis "$dir/redis.conf.pristine" "$(host_redis_conf "$i")"
  if out=$(host_root_sh "$i" 'service redis-server restart') && redis_wait "$i" 3; then
    log "h$i: Redis started with the pristine redis.conf (pid $(redis_pid "$i"))"
    return 0
  fi
  log "h$i: Redis still does not answer: $out"
  redis_log_tail "$i" >&2
  return 1
}

# authorized_keys of a host that is kept, in case the client keys were
# regenerated since it was built.
refresh_authorized_keys() {
  local f dir
  dir=$(host_dir "$1")
  for f in "$dir/root/.ssh/authorized_keys" "$dir/home"/*/.ssh/authorized_keys; do
    if [[ -f $f ]]; then cat "$SB/authorized_keys" >"$f"; fi
  done
}

# The machine forwards between the sandbox's veths and nowhere else. Linux
# checks forwarding only on the interface a packet comes in by, so a packet
# from a host to any other address (a host being rebuilt, or a default route
# someone adds inside a host) would leave by the machine's own routes: an
# unreachable route for the sandbox's /16 (the hosts' own /24 routes are
# more specific) and a FORWARD rule that drops what comes from a veth and
# goes out by anything else keep it in. `down` removes both.
FORWARD_GUARD=(-i "mcpai-h+" ! -o "mcpai-h+" -m comment --comment "mcpai sandbox: forward between its veths only" -j DROP)
forward_guard_up() {
  ip route replace unreachable "${NET_PREFIX}.0.0/16" ||
    die "cannot add the unreachable route for ${NET_PREFIX}.0.0/16"
  iptables -C FORWARD "${FORWARD_GUARD[@]}" 2>/dev/null || iptables -I FORWARD 1 "${FORWARD_GUARD[@]}" ||
    die "cannot add the FORWARD rule that keeps the sandbox's traffic in"
}
forward_guard_down() {
  while iptables -D FORWARD "${FORWARD_GUARD[@]}" 2>/dev/null; do :; done
  ip route del unreachable "${NET_PREFIX}.0.0/16" 2>/dev/null || true
}

# host_routes <i>: host $1 reaches the other hosts through the machine (see
# CONTRIBUTING.md, "The sandbox"); again for a kept host, made by an older
# sandbox.sh.
host_routes() {
  local i=$1
  forward_guard_up
  ip -n "$(host_ns "$i")" route replace "${NET_PREFIX}.0.0/16" via "$(host_gw "$i")" ||
    die "h$i: cannot route ${NET_PREFIX}.0.0/16 through the machine"
  echo 1 >"/proc/sys/net/ipv4/conf/$(host_veth "$i")/forwarding" ||
    die "h$i: cannot turn on forwarding on $(host_veth "$i")"
}

host_up() {
  local i=$1 ns veth dir addr gw
  ns=$(host_ns "$i"); veth=$(host_veth "$i"); dir=$(host_dir "$i")
  addr=$(host_addr "$i"); gw=$(host_gw "$i")

  if host_healthy "$i" && [[ $(cat "$dir/layout" 2>/dev/null) != "$LAYOUT" ]]; then
    log "h$i: built by an older sandbox.sh; rebuilding"
  elif host_healthy "$i" && [[ $(host_services "$i") != "$(host_wanted_services "$i")" ]]; then
    log "h$i: runs '$(host_services "$i")', asked for '$(host_wanted_services "$i")'; rebuilding"
  elif host_healthy "$i" && host_light "$i"; then
    refresh_authorized_keys "$i"
    host_routes "$i"
    log "h$i: already running, light (sshd pid $(cat "$dir/sshd.pid"))"
    return 0
  elif host_healthy "$i" && ! docker_ping "$i"; then
    # E.g. a test left a daemon.json that dockerd refuses: start over with
    # an empty /etc/docker.
    log "h$i: its dockerd does not answer; rebuilding"
  elif host_healthy "$i" && ! pg_ok "$i" && ! pg_repair "$i"; then
    # E.g. a broken postgresql.conf or pg_hba.conf, or a dropped role.
    log "h$i: its PostgreSQL does not start even with an empty postgresql.auto.conf; rebuilding"
  elif host_healthy "$i" && ! redis_ok "$i" && ! redis_repair "$i"; then
    log "h$i: its Redis does not start even with the pristine redis.conf; rebuilding"
  elif host_healthy "$i" && host_gpu_mock "$i" &&
       ! cmp -s "$SB/gpu-mock/nvidia-container-runtime-hook" "$dir/sbin/nvidia-container-runtime-hook"; then
    # Its /usr/sbin overlay is read-only and its lower folder must not change
    # under it.
    log "h$i: its mock NVIDIA hook is not the current build; rebuilding"
  elif host_healthy "$i"; then
    # Leave it running (tests may be using it); refresh authorized_keys and
    # the images only.
    refresh_authorized_keys "$i"
    host_routes "$i"
    pg_hba_allow_hosts "$i"
    ensure_images "$i"
    if host_gpu_mock "$i"; then write_cdi_spec "$i"; fi
    log "h$i: already running (sshd pid $(cat "$dir/sshd.pid"), dockerd pid $(cat "$dir/run/docker.pid" 2>/dev/null), postgres pid $(pg_postmaster_pid "$i"), redis pid $(redis_pid "$i"))"
    return 0
  fi
  # Half-built or dead: start over from nothing.
  host_teardown "$i"

  # Refuse to shadow an address someone else put on the machine.
  local addrs
  addrs=$(ip -4 -o addr show)
  if grep -v " $veth " <<<"$addrs" | grep -q " ${NET_PREFIX}\.$i\."; then
    die "h$i: ${NET_PREFIX}.$i.0/24 is already in use on the machine"
  fi

  write_host_files "$i"

  ip netns add "$ns"
  ip link add "$veth" type veth peer name eth0 netns "$ns"
  ip addr add "$gw/24" dev "$veth"
  ip link set "$veth" up
  ip -n "$ns" link set lo up
  ip -n "$ns" addr add "$addr/24" dev eth0
  ip -n "$ns" link set eth0 up
  # Deliberately no default route inside (see CONTRIBUTING.md, "The sandbox").
  host_routes "$i"

  # 9<&-: the lock on this script must not live on in the host's daemons.
  ip netns exec "$ns" unshare --mount --propagation private \
    /bin/sh -c "$HOST_INIT" sh "$dir" 9<&- ||
    die "h$i: sshd failed to start; see $dir/sshd.log"

  for _ in $(seq 50); do             # up to 5 s for the listener
    host_healthy "$i" && break
    sleep 0.1
  done
  host_healthy "$i" || die "h$i: sshd is not listening on $addr:22; see $dir/sshd.log"
  FRESH+=("$i")
  log "h$i: started at $addr (sshd pid $(cat "$dir/sshd.pid"))"
}

# Docker in a freshly started host $1 (after write_outputs: over SSH).
host_docker_up() {
  local i=$1 dir
  dir=$(host_dir "$i")
  docker_start "$i"
  ensure_images "$i"
  # A container of the test image runs and answers on a port published on
  # the host's address; with the mock NVIDIA stack, one with --gpus all
  # starts and the hook logs it.
  local probe=(-addr "$(host_addr "$i")") gpu="" out
  if host_gpu_mock "$i"; then
    probe+=(-gpu-hook-log "$(host_nvidia_hook_log "$i")"); gpu=", mock GPUs"
  fi
  out=$(host_sandboxctl "$i" probe "${probe[@]}" 2>&1) || die "h$i: $out
$(docker_log_tail "$i")"
  log "h$i: dockerd pid $(cat "$dir/run/docker.pid") ($(host_docker_engine "$i") engine) runs the test image$gpu"
}

# ---------------------------------------------------------------------------
# Outputs: known_hosts and hosts.json
# ---------------------------------------------------------------------------

# known_hosts and hosts.json for hosts 1..$1 (known_hosts-only: just
# known_hosts, for the hosts that have a host key: before host_up, those kept
# from an earlier `up`, which host_up may reach). sandboxctl writes them from
# what this script set the hosts up with.
write_outputs() {
  local count=$1 what=${2:-hosts-json} i special=() list
  local -A hosts=()
  for ((i = 1; i <= count; i++)); do
    if [[ $(host_docker_engine "$i") == current ]]; then hosts[current-engine]+=",$i"; fi
    if host_gpu_mock "$i"; then hosts[gpu-mock]+=",$i"; fi
    if [[ $(host_cpufreq "$i") == emulated ]]; then hosts[emulated-cpufreq]+=",$i"; fi
    if [[ $(host_cmdline_thp "$i") == never ]]; then hosts[thp-never]+=",$i"; fi
  done
  for list in "${!hosts[@]}"; do special+=("-$list" "${hosts[$list]#,}"); done
  SANDBOX_PASSWORD=$PASSWORD SANDBOX_PASSPHRASE=$PASSPHRASE \
  SANDBOX_REDIS_NOCONFIG_PASSWORD=$REDIS_NOCONFIG_PASSWORD \
    "$SANDBOXCTL" "$what" -dir "$SB" -count "$count" "${special[@]}" \
      -ns-prefix "$NS_PREFIX" -net-prefix "$NET_PREFIX" \
      -sudo-user "$SUDO_USER_NAME" -nopriv-user "$NOPRIV_USER_NAME" \
      -hook-log-name "$NVIDIA_HOOK_LOG_NAME" \
      -pg-version "$PG_VERSION" -pg-cluster "$PG_CLUSTER" -pg-port "$PG_PORT" \
      -pg-role "$PG_ROLE" -pg-database "$PG_DATABASE" \
      -redis-port "$REDIS_PORT" -redis-tls-port "$REDIS_TLS_PORT" \
      -redis-noconfig-user "$REDIS_NOCONFIG_USER" ||
    die "sandboxctl $what failed (see above)"
}

# ---------------------------------------------------------------------------
# Real checks over SSH
# ---------------------------------------------------------------------------

ssh_base() {
  # -F /dev/null: ignore the machine's ~/.ssh/config; only our known_hosts.
  SSH=(ssh -F /dev/null -o IdentitiesOnly=yes -o ConnectTimeout=5
       -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$SB/known_hosts"
       -o GlobalKnownHostsFile=/dev/null -o LogLevel=ERROR)
}

# The services of full host $1 (Docker, the mock NVIDIA stack where
# promised, PostgreSQL, Redis), from the machine and from $2, what root's
# checks in verify_host printed inside the host.
verify_services() {
  local i=$1 inside=$2 out=$2
  # The docker.sock and /etc/docker seen over SSH are those hosts.json names.
  local docker_pid
  docker_pid=$(cat "$(host_dir "$i")/run/docker.pid" 2>/dev/null || echo none)
  grep -qx "docker_pid=$docker_pid" <<<"$out" ||
    die "h$i: /var/run/docker.pid inside is not $(host_dir "$i")/run/docker.pid ($docker_pid): $out"
  [[ $(sed -n 's/^etc_docker: //p' <<<"$out" | sort) == \
     "$(find "$(host_dir "$i")/etc/docker" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort)" ]] ||
    die "h$i: /etc/docker inside is not $(host_dir "$i")/etc/docker: $out"
  docker_ping "$i" || die "h$i: dockerd does not answer on $(host_docker_sock "$i")"
  # The mock NVIDIA stack where promised, and nowhere else: the hook and
  # the runtime name (resolving to runc) on root's PATH, the CDI spec in
  # /etc/cdi and its devices in dockerd's discovered devices.
  if host_gpu_mock "$i"; then
    local devices
    if ! { grep -qx "nvidia_hook=/usr/sbin/nvidia-container-runtime-hook" <<<"$out" &&
           grep -qx "nvidia_runtime=/usr/sbin/runc" <<<"$out" && grep -q "^cdi=.*$CDI_SPEC_NAME" <<<"$out"; }; then
      die "h$i: the mock NVIDIA hook, runtime or CDI spec is missing: $out"
    fi
    devices=$(host_sandboxctl "$i" check-cdi 2>&1) ||
      die "h$i: $devices (spec $(host_cdi_dir "$i")/$CDI_SPEC_NAME)"
  else
    grep -qx "nvidia_hook=" <<<"$out" || die "h$i: has an nvidia-container-runtime-hook, expected none: $out"
  fi
  # PostgreSQL: online for pg_lsclusters, password login over TCP inside the
  # host (what an SSH tunnel reaches) and peer login of postgres on its
  # socket; from the machine, the cluster whose files hosts.json names
  # (same system identifier), with pg_stat_statements available.
  local data sysid
  data=$(host_pg_data_dir "$i")
  awk '$1 == "pg_ls:" && $2 == v && $3 == c && $4 == p && $5 == "online"' \
    v="$PG_VERSION" c="$PG_CLUSTER" p="$PG_PORT" <<<"$out" | grep -q . ||
    die "h$i: pg_lsclusters does not show $PG_VERSION $PG_CLUSTER online on port $PG_PORT: $out"
  grep -qx "pg_tcp_local=$PG_ROLE" <<<"$out" ||
    die "h$i: password login to 127.0.0.1:$PG_PORT inside the host failed: $out"
  grep -qx "pg_socket=postgres" <<<"$out" || die "h$i: peer login of postgres on the socket failed: $out"
  out=$(pg_sql "$i" "select current_setting('data_directory'), current_setting('config_file'),
                            (select system_identifier from pg_control_system()),
                            (select count(*) from pg_available_extensions where name = 'pg_stat_statements')" 2>&1) ||
    die "h$i: password login as $PG_ROLE to $(host_addr "$i"):$PG_PORT failed: $out"
  sysid=$("$PG_BIN/pg_controldata" "$data" 2>/dev/null | sed -n 's/^Database system identifier: *//p')
  [[ $out == "/var/lib/postgresql/$PG_VERSION/$PG_CLUSTER|/etc/postgresql/$PG_VERSION/$PG_CLUSTER/postgresql.conf|$sysid|1" ]] ||
    die "h$i: PostgreSQL: expected the cluster in $data (system identifier '$sysid') with pg_stat_statements available, got: $out"
  [[ -f $(host_pg_conf_dir "$i")/postgresql.conf && -s $(host_pg_log "$i") ]] ||
    die "h$i: $(host_pg_conf_dir "$i")/postgresql.conf or $(host_pg_log "$i") is missing"
  # Redis: PING on 127.0.0.1 inside the host; from the machine, plain and TLS
  # (verified against hosts.json's CA), the server whose pid file and
  # redis.conf hosts.json names, running as redis; noconfig gets NOPERM on
  # CONFIG.
  local rpid info
  rpid=$(redis_pid "$i")
  grep -qx "redis_local=PONG" <<<"$inside" ||
    die "h$i: redis-cli ping on 127.0.0.1:$REDIS_PORT inside the host failed: $inside"
  grep -qx "redis_pid=$rpid" <<<"$inside" ||
    die "h$i: /run/redis/redis-server.pid inside is not $(host_redis_pidfile "$i") ($rpid): $inside"
  redis_ok "$i" || die "h$i: Redis does not answer PING (plain, TLS, or as $REDIS_NOCONFIG_USER)"
  info=$(redis_cli "$i" tls info server | tr -d '\r')
  if ! { grep -qx "process_id:$rpid" <<<"$info" && grep -qx "config_file:/etc/redis/redis.conf" <<<"$info"; }; then
    die "h$i: Redis: expected pid $rpid with /etc/redis/redis.conf, got: $info"
  fi
  [[ $(stat -c %U "/proc/$rpid") == redis && -f $(host_redis_conf "$i") && -f $(host_redis_log "$i") ]] ||
    die "h$i: Redis pid $rpid does not run as redis, or $(host_redis_conf "$i") or $(host_redis_log "$i") is missing"
  out=$(redis_cli "$i" --user "$REDIS_NOCONFIG_USER" --pass "$REDIS_NOCONFIG_PASSWORD" config get port)
  [[ $out == NOPERM* ]] || die "h$i: CONFIG GET as $REDIS_NOCONFIG_USER: expected NOPERM, got: $out"
}

verify_host() {
  local i=$1 addr out key="$SB/id_ed25519"
  addr=$(host_addr "$i")
  ssh_base

  # Also the private drop-in folders, and the emulated kernel bits where
  # promised (and nowhere else). Read only: tests may be using the host now.
  # shellcheck disable=SC2016  # $HOME etc. expand on the host
  out=$("${SSH[@]}" -o BatchMode=yes -i "$key" "root@$addr" \
        'cat /proc/sys/net/core/somaxconn; ls -A /etc/sysctl.d; echo "home=$HOME"
         for d in /etc/tmpfiles.d /etc/security/limits.d /etc/systemd/system.conf.d; do
           [ -d "$d" ] || echo "missing $d"
         done
         c=/sys/devices/system/cpu/cpu0/cpufreq
         if [ -d $c ]; then
           echo "governor=$(cat $c/scaling_governor)"
           echo "available=$(cat $c/scaling_available_governors)"
         else echo cpufreq=none; fi
         echo "thp=$(sed "s/ -- .*//" /proc/cmdline | tr " " "\n" | sed -n "s/^transparent_hugepage=//p")"
         [ -S /var/run/docker.sock ] && echo "docker_pid=$(cat /var/run/docker.pid)"
         ls -A /etc/docker | sed "s/^/etc_docker: /"
         pg_lsclusters -h | sed "s/^/pg_ls: /"
         echo "pg_tcp_local=$(PGPASSWORD='"$PASSWORD"' psql -X -w -qAt -h 127.0.0.1 -p '"$PG_PORT"' \
           -U '"$PG_ROLE"' -d '"$PG_DATABASE"' -c "select current_user" 2>&1)"
         echo "pg_socket=$(cd / && runuser -u postgres -- psql -X -qAt -c "select current_user" 2>&1)"
         echo "redis_local=$(redis-cli -a '"$PASSWORD"' --no-auth-warning ping 2>&1)"
         echo "redis_pid=$(cat /run/redis/redis-server.pid 2>/dev/null)"
         echo "nvidia_hook=$(command -v nvidia-container-runtime-hook)"
         echo "nvidia_runtime=$(readlink -f "$(command -v nvidia-container-runtime)" 2>/dev/null)"
         echo "cdi=$(ls -A /etc/cdi 2>/dev/null | tr "\n" " ")"') ||
    die "h$i: root login with $key failed"
  [[ $(head -n1 <<<"$out") =~ ^[0-9]+$ ]] || die "h$i: unexpected output from root: $out"
  grep -qx "home=/root" <<<"$out" || die "h$i: root's home is not /root: $out"
  ! grep -q '^missing ' <<<"$out" || die "h$i: private folders missing: $out"
  if [[ $(host_cpufreq "$i") == emulated ]]; then
    local gov avail
    gov=$(sed -n 's/^governor=//p' <<<"$out"); avail=$(sed -n 's/^available=//p' <<<"$out")
    [[ -n $gov && " $avail " == *" $gov "* ]] ||
      die "h$i: emulated cpufreq: governor '$gov' not in '$avail': $out"
  else
    grep -qx cpufreq=none <<<"$out" || die "h$i: has a cpufreq driver, expected none: $out"
  fi
  grep -qx "thp=$(host_cmdline_thp "$i")" <<<"$out" ||
    die "h$i: /proc/cmdline transparent_hugepage= is not '$(host_cmdline_thp "$i")': $out"
  if host_light "$i"; then
    ! grep -q '^docker_pid=' <<<"$out" || die "h$i: a light host, but a dockerd runs: $out"
  else
    verify_services "$i" "$out"
  fi

  out=$("${SSH[@]}" -o BatchMode=yes -i "$key" "$SUDO_USER_NAME@$addr" \
        'sudo -n true && echo sudo-ok') ||
    die "h$i: $SUDO_USER_NAME: login or 'sudo -n true' failed: $out"
  [[ $out == sudo-ok ]] || die "h$i: $SUDO_USER_NAME: unexpected output: $out"

  # nopriv: `sudo -n` must refuse; with the password on stdin it must work.
  out=$("${SSH[@]}" -o BatchMode=yes -i "$key" "$NOPRIV_USER_NAME@$addr" \
        "if sudo -n true 2>&1; then echo nopass-ok; fi
         echo '$PASSWORD' | sudo -S -p '' true && echo withpass-ok" 2>&1) ||
    die "h$i: $NOPRIV_USER_NAME: login failed: $out"
  grep -q 'a password is required' <<<"$out" ||
    die "h$i: $NOPRIV_USER_NAME: 'sudo -n true' did not ask for a password: $out"
  ! grep -q nopass-ok <<<"$out" || die "h$i: $NOPRIV_USER_NAME: sudo worked without a password"
  grep -q withpass-ok <<<"$out" || die "h$i: $NOPRIV_USER_NAME: sudo with password failed: $out"

  # Password login (no key offered), fed through askpass.
  out=$(MCPAI_SANDBOX_SECRET=$PASSWORD SSH_ASKPASS="$SB/askpass.sh" SSH_ASKPASS_REQUIRE=force \
        "${SSH[@]}" -o BatchMode=no -o PubkeyAuthentication=no \
        -o PreferredAuthentications=password -o NumberOfPasswordPrompts=1 \
        "$SUDO_USER_NAME@$addr" 'echo pw-ok' </dev/null) ||
    die "h$i: password login as $SUDO_USER_NAME failed"
  [[ $out == pw-ok ]] || die "h$i: password login: unexpected output: $out"

  # Encrypted key, passphrase through askpass.
  out=$(MCPAI_SANDBOX_SECRET=$PASSPHRASE SSH_ASKPASS="$SB/askpass.sh" SSH_ASKPASS_REQUIRE=force \
        "${SSH[@]}" -o BatchMode=no -o PasswordAuthentication=no -o IdentityAgent=none \
        -i "$SB/id_ed25519_enc" "root@$addr" 'echo enc-ok' </dev/null) ||
    die "h$i: login with the encrypted key failed"
  [[ $out == enc-ok ]] || die "h$i: encrypted key: unexpected output: $out"

  # The unauthorized key must be refused.
  if "${SSH[@]}" -o BatchMode=yes -i "$SB/id_ed25519_unauthorized" "root@$addr" true 2>/dev/null; then
    die "h$i: the unauthorized key was accepted"
  fi
}

# ---------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------

cmd_up() {
  local count=2 i start
  while (($#)); do
    case $1 in
      --light-from)
        (($# >= 2)) || usage
        if ! [[ $2 =~ ^[0-9]+$ ]] || ((10#$2 < 3)); then
          die "--light-from K: K must be 3 or more (h1 and h2 always run every service), got '$2'"
        fi
        LIGHT_FROM=$((10#$2))
        shift 2;;
      --light-from=*) set -- --light-from "${1#*=}" "${@:2}";;
      *)
        if ! [[ $1 =~ ^[0-9]+$ ]] || ((10#$1 < 1 || 10#$1 > 254)); then die "N must be 1..254, got '$1'"; fi
        count=$((10#$1))
        shift;;
    esac
  done
  start=$EPOCHREALTIME
  require_root
  ensure_packages
  ensure_machine_prereqs
  case "$REPO" in
    /root | /root/* | /home | /home/*)
      die "the repo ($REPO) is under /root or /home, which each host replaces";;
  esac
  ensure_client_keys

  # Hosts beyond N (from an earlier `up M`, M > N) go away, so hosts.json
  # describes exactly what runs.
  for i in $(existing_indexes); do
    if ((i > count)); then
      log "h$i: removing (beyond N=$count)"
      host_teardown "$i"
      rm -rf "$(host_dir "$i")"
    fi
  done

  # The Debian images' root filesystem (cached: nothing to do on a warm
  # machine), built while the Go programs build; 9<&-: the lock on this
  # script must not outlive this run in it.
  local debian_pid
  "$DEBIAN_IMAGES" build 9<&- & debian_pid=$!
  # A step below that dies must not leave the build running on its own.
  trap 'kill "$debian_pid" 2>/dev/null || true' EXIT
  build_sandboxctl
  # The Go programs and the images' build contexts.
  "$SANDBOXCTL" contexts -repo "$REPO" -dir "$SB" -debian-recipe "$("$DEBIAN_IMAGES" hash)" ||
    die "writing the images' build contexts failed (see above)"
  wait "$debian_pid" || die "building the Debian images' root filesystem failed (see above)"
  trap - EXIT
  FRESH=()
  write_outputs "$count" known-hosts  # host_up repairs kept hosts over SSH
  for ((i = 1; i <= count; i++)); do host_up "$i"; done
  write_outputs "$count"
  # Docker, PostgreSQL and Redis in the full hosts started just now, all in
  # parallel.
  local pids=() failed=0
  for i in "${FRESH[@]}"; do
    if host_light "$i"; then continue; fi
    host_docker_up "$i" & pids+=($!)
    host_postgres_up "$i" & pids+=($!)
    host_redis_up "$i" & pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i" || failed=1; done
  ((failed == 0)) || die "starting Docker, PostgreSQL or Redis failed (see above)"
  # Each check is a fresh connection (~0.2 s here); hosts go in parallel.
  pids=()
  for ((i = 1; i <= count; i++)); do verify_host "$i" & pids+=($!); done
  for i in "${pids[@]}"; do wait "$i" || failed=1; done
  ((failed == 0)) || die "verification failed (see above)"

  printf 'sandbox: %d host(s) up and verified in %.1fs (%s)\n' "$count" \
    "$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN{print b - a}')" \
    "$SB/hosts.json"
  for ((i = 1; i <= count; i++)); do
    printf '  h%d  %s:22  netns %s  users root, %s, %s  log %s\n' "$i" "$(host_addr "$i")" \
      "$(host_ns "$i")" "$SUDO_USER_NAME" "$NOPRIV_USER_NAME" "$(host_dir "$i")/sshd.log"
    if host_light "$i"; then
      printf '      light: sshd only\n'
      continue
    fi
    printf '      docker (%s engine)  %s  log %s\n' "$(host_docker_engine "$i")" \
      "$(host_docker_sock "$i")" "$(host_dir "$i")/log/docker.log"
    if host_gpu_mock "$i"; then
      printf '      mock GPUs (--gpus, CDI nvidia.com/gpu=0|1|all)  hook log %s  CDI %s\n' \
        "$(host_nvidia_hook_log "$i")" "$(host_cdi_dir "$i")"
    fi
    printf '      postgres %s %s  %s:%d  role/db %s/%s  log %s\n' "$PG_VERSION" "$PG_CLUSTER" \
      "$(host_addr "$i")" "$PG_PORT" "$PG_ROLE" "$PG_DATABASE" "$(host_pg_log "$i")"
    printf '      redis  %s:%d (TLS :%d, CA %s)  log %s\n' "$(host_addr "$i")" "$REDIS_PORT" \
      "$REDIS_TLS_PORT" "$(host_redis_ca "$i")" "$(host_redis_log "$i")"
  done
}

cmd_down() {
  require_root
  local i any=0
  for i in $(existing_indexes); do
    host_teardown "$i"
    log "h$i: removed"
    any=1
  done
  # The mount points `up` made on the machine, if still empty.
  local dir
  if [[ -f $SB/mountpoints ]]; then
    while read -r dir; do
      if [[ -n $dir && -d $dir ]]; then rmdir "$dir" 2>/dev/null || log "left $dir (not empty)"; fi
    done <"$SB/mountpoints"
  fi
  forward_guard_down
  rm -rf "$SB"
  # `ip netns add` made /run/netns (a bind mount onto itself); undo that too
  # when no other namespace lives there, so the machine is as it was.
  if [[ -d /run/netns && -z $(ls -A /run/netns) ]]; then
    if mountpoint -q /run/netns; then umount -n /run/netns || true; fi
    rmdir /run/netns 2>/dev/null || true
  fi
  ((any)) || log "nothing was up"
}

cmd_status() {
  require_root
  [[ -x $SANDBOXCTL ]] || build_sandboxctl
  local i any=0 dir pid accepted state
  for i in $(existing_indexes); do
    any=1
    dir=$(host_dir "$i")
    pid=$(cat "$dir/sshd.pid" 2>/dev/null || echo -)
    accepted=$(grep -c 'Accepted ' "$dir/sshd.log" 2>/dev/null || true)
    if host_healthy "$i"; then state=up; else state=BROKEN; fi
    if host_light "$i"; then
      printf 'h%d  %-6s  %s:22  netns %s  sshd pid %s  accepted %s  light (sshd only)\n' "$i" "$state" \
        "$(host_addr "$i")" "$(host_ns "$i")" "$pid" "${accepted:-0}"
      continue
    fi
    local docker="dockerd DOWN"
    if docker_ping "$i"; then
      docker="dockerd pid $(cat "$dir/run/docker.pid" 2>/dev/null) ($(host_docker_engine "$i"))"
    fi
    local postgres="postgres DOWN"
    if "$PG_BIN/pg_isready" -q -t 2 -h "$(host_addr "$i")" -p "$PG_PORT" -U "$PG_ROLE" -d "$PG_DATABASE"; then
      postgres="postgres pid $(pg_postmaster_pid "$i")"
    fi
    local redis="redis DOWN"
    if [[ $(redis_cli "$i" ping) == PONG ]]; then redis="redis pid $(redis_pid "$i")"; fi
    printf 'h%d  %-6s  %s:22  netns %s  sshd pid %s  accepted %s  %s  %s  %s\n' "$i" "$state" \
      "$(host_addr "$i")" "$(host_ns "$i")" "$pid" "${accepted:-0}" "$docker" "$postgres" "$redis"
  done
  ((any)) || { echo "no hosts"; return 0; }
  if [[ -f $SB/hosts.json ]]; then echo "hosts.json: $SB/hosts.json"; fi
}

main() {
  local cmd=${1:-}
  [[ -n $cmd ]] || usage
  shift
  # One sandbox.sh at a time: lock the script file itself, which needs no
  # extra file and survives `down` removing .sandbox/.
  exec 9<"${BASH_SOURCE[0]}"
  flock 9
  case "$cmd" in
    up) (($# <= 3)) || usage; cmd_up "$@";;
    down) (($# == 0)) || usage; cmd_down;;
    status) (($# == 0)) || usage; cmd_status;;
    *) usage;;
  esac
}

main "$@"
