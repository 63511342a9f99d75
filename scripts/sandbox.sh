#!/usr/bin/env bash
# Disposable SSH test hosts for the provider's acceptance tests.
#
#   scripts/sandbox.sh up [N]   start (or re-check) hosts h1..hN (default 2)
#   scripts/sandbox.sh down     remove everything `up` made
#   scripts/sandbox.sh status   show what is running
#
# A "host" is a network namespace (mcpai-h<i>, reached at 10.213.<i>.2 over a
# veth pair) plus a private mount namespace that belongs to its own sshd. In
# that mount namespace, host-private copies are bind-mounted over /etc/passwd,
# /etc/shadow, /etc/group, /etc/sudoers.d, /etc/sysctl.d, /etc/sysctl.conf,
# /etc/tmpfiles.d, /etc/security/limits.d, /etc/systemd/system.conf.d, /root,
# /home, /run/lock and the login records, so tests can add users' files,
# write sysctl, tmpfiles, limits and systemd drop-in files and change net.*
# sysctls without touching the machine. The sysctl.d, tmpfiles.d, limits.d and
# system.conf.d copies start empty. vm.*, fs.*, kernel.* and the rest of /sys
# are still shared with the machine: tests that write those must restore them.
#
# Host h2 (when it exists) also emulates a cpufreq driver, which this machine
# lacks: a private tmpfs over /sys/devices/system/cpu with online/possible/
# present "0-1" and cpu0, cpu1 cpufreq/scaling_available_governors and
# cpufreq/scaling_governor (writable by root, "schedutil" at start), and a
# private /proc/cmdline that is the machine's plus "transparent_hugepage=never"
# among the kernel parameters (before any " -- ").
# hosts.json says which host has what ("cpufreq", "cmdline_thp").
#
# State lives in <repo>/.sandbox/; tests read <repo>/.sandbox/hosts.json.
# The hosts have no default route: they can talk to the machine (10.213.<i>.1)
# and nothing else, so no test traffic can leave the machine.
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
LAYOUT=3

log() { printf 'sandbox: %s\n' "$*" >&2; }
die() { printf 'sandbox: ERROR: %s\n' "$*" >&2; exit 1; }

usage() {
  sed -n '2,6p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
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
  )
  local missing=() bin
  for bin in "${!need[@]}"; do
    [[ -x $bin ]] || missing+=("${need[$bin]}")
  done
  ((${#missing[@]})) || return 0
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  log "installing: ${missing[*]}"
  # Keep package scripts from starting a machine-wide sshd on 0.0.0.0:22
  # (policy-rc.d exit 101 = "do not start services"), unless one exists.
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
  ip netns exec "$ns" ss -Hltn "sport = :22" | grep -q .
}

# Kill every process of host $1 (sshd, sessions, anything tests started in
# it), which also drops its private mount namespace and so all its bind
# mounts, then delete the netns and the veth. Safe when nothing exists.
host_teardown() {
  local i=$1 ns veth dir pids=() pid
  ns=$(host_ns "$i"); veth=$(host_veth "$i"); dir=$(host_dir "$i")
  if [[ -e /run/netns/$ns ]]; then
    mapfile -t pids < <(ip netns pids "$ns" 2>/dev/null || true)
  fi
  # The sshd from the pid file too, in case its netns was deleted under it.
  pid=$(cat "$dir/sshd.pid" 2>/dev/null || true)
  if [[ $pid =~ ^[0-9]+$ && $(cat "/proc/$pid/comm" 2>/dev/null || true) == sshd ]]; then
    pids+=("$pid")
  fi
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
  # Deleting the netns destroys eth0 and with it the peer; this is for a
  # veth left behind by a run that died before moving eth0 into the netns.
  if ip link show "$veth" &>/dev/null; then ip link del "$veth"; fi
  rm -f "$dir/sshd.pid"
}

# Private copies of the files the host sees in place of the machine's.
write_host_files() {
  local i=$1 dir hash today
  dir=$(host_dir "$i")
  # Start clean, but keep the host key (known_hosts stays valid across
  # rebuilds) and the log (tests count "Accepted" lines in it).
  mkdir -p "$dir"
  find "$dir" -mindepth 1 -maxdepth 1 \
    ! -name 'ssh_host_*_key*' ! -name sshd.log -exec rm -rf {} +
  mkdir -p "$dir/etc" "$dir/sysctl.d" "$dir/root/.ssh" "$dir/home" "$dir/lock" "$dir/log"
  # <etc_dir> in hosts.json is $dir/etc: these are read as <etc_dir>/tmpfiles.d
  # etc. straight from the machine. All start empty (tests rely on it).
  mkdir -p "$dir/etc/tmpfiles.d" "$dir/etc/security/limits.d" "$dir/etc/systemd/system.conf.d"
  chmod 755 "$dir/etc" "$dir/etc/tmpfiles.d" "$dir/etc/security" "$dir/etc/security/limits.d" \
    "$dir/etc/systemd" "$dir/etc/systemd/system.conf.d"
  chmod 700 "$dir/root"
  chmod 1777 "$dir/lock"            # like the real /run/lock
  touch "$dir/sshd.log"

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

  # The emulated kernel bits (see the header): HOST_INIT mounts what exists.
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

  # sshd writes wtmp/btmp/lastlog for pty sessions: private empty copies.
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

# Runs as root inside the host's netns and a fresh private mount namespace:
# bind the private copies, then exec sshd. sshd daemonizes and its process
# keeps the mount namespace (and so these mounts) alive; they vanish with it.
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
mount -n --bind "$d/lock"           /run/lock
for f in wtmp btmp lastlog; do
  if [ -f "$d/log/$f" ]; then mount -n --bind "$d/log/$f" "/var/log/$f"; fi
done
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
exec /usr/sbin/sshd -f "$d/sshd_config" -E "$d/sshd.log"
'

host_up() {
  local i=$1 ns veth dir addr gw
  ns=$(host_ns "$i"); veth=$(host_veth "$i"); dir=$(host_dir "$i")
  addr=$(host_addr "$i"); gw=$(host_gw "$i")

  if host_healthy "$i" && [[ $(cat "$dir/layout" 2>/dev/null) != "$LAYOUT" ]]; then
    log "h$i: built by an older sandbox.sh; rebuilding"
  elif host_healthy "$i"; then
    # Leave it running (tests may be using it); only refresh authorized_keys
    # in case the client keys were regenerated since it was built.
    local f
    for f in "$dir/root/.ssh/authorized_keys" "$dir/home"/*/.ssh/authorized_keys; do
      if [[ -f $f ]]; then cat "$SB/authorized_keys" >"$f"; fi
    done
    log "h$i: already running (sshd pid $(cat "$dir/sshd.pid"))"
    return 0
  fi
  # Half-built or dead: start over from nothing.
  host_teardown "$i"

  # Refuse to shadow an address someone else put on the machine.
  if ip -4 -o addr show | grep -v " $veth " | grep -q " ${NET_PREFIX}\.$i\."; then
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
  # Deliberately no default route inside: the host can reach only the machine.

  ip netns exec "$ns" unshare --mount --propagation private \
    /bin/sh -c "$HOST_INIT" sh "$dir" ||
    die "h$i: sshd failed to start; see $dir/sshd.log"

  for _ in $(seq 50); do             # up to 5 s for the listener
    host_healthy "$i" && break
    sleep 0.1
  done
  host_healthy "$i" || die "h$i: sshd is not listening on $addr:22; see $dir/sshd.log"
  log "h$i: started at $addr (sshd pid $(cat "$dir/sshd.pid"))"
}

# ---------------------------------------------------------------------------
# Outputs: known_hosts and hosts.json
# ---------------------------------------------------------------------------

json_str() {
  local s=$1
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  printf '"%s"' "$s"
}

host_key_line() {  # "ssh-ed25519 AAAA..." without the comment
  awk '{print $1" "$2}' "$(host_dir "$1")/ssh_host_ed25519_key.pub"
}

write_outputs() {
  local count=$1 i sep=""
  : >"$SB/known_hosts.tmp"
  for ((i = 1; i <= count; i++)); do
    echo "$(host_addr "$i") $(host_key_line "$i")" >>"$SB/known_hosts.tmp"
  done
  mv "$SB/known_hosts.tmp" "$SB/known_hosts"

  {
    printf '{"hosts":['
    for ((i = 1; i <= count; i++)); do
      printf '%s\n  {' "$sep"
      printf '"name":%s,' "$(json_str "h$i")"
      printf '"address":%s,' "$(json_str "$(host_addr "$i")")"
      printf '"port":22,'
      printf '"user":"root",'
      printf '"private_key_path":%s,' "$(json_str "$SB/id_ed25519")"
      printf '"encrypted_key_path":%s,' "$(json_str "$SB/id_ed25519_enc")"
      printf '"encrypted_key_passphrase":%s,' "$(json_str "$PASSPHRASE")"
      printf '"unauthorized_key_path":%s,' "$(json_str "$SB/id_ed25519_unauthorized")"
      printf '"known_hosts_path":%s,' "$(json_str "$SB/known_hosts")"
      printf '"host_key":%s,' "$(json_str "$(host_key_line "$i")")"
      printf '"sudo_user":%s,' "$(json_str "$SUDO_USER_NAME")"
      printf '"nopriv_user":%s,' "$(json_str "$NOPRIV_USER_NAME")"
      printf '"password":%s,' "$(json_str "$PASSWORD")"
      printf '"sshd_log":%s,' "$(json_str "$(host_dir "$i")/sshd.log")"
      printf '"netns":%s,' "$(json_str "$(host_ns "$i")")"
      printf '"sysctl_dir":%s,' "$(json_str "$(host_dir "$i")/sysctl.d")"
      printf '"etc_dir":%s,' "$(json_str "$(host_dir "$i")/etc")"
      printf '"cpufreq":%s,' "$(json_str "$(host_cpufreq "$i")")"
      printf '"cmdline_thp":%s' "$(json_str "$(host_cmdline_thp "$i")")"
      printf '}'
      sep=","
    done
    printf '\n]}\n'
  } >"$SB/hosts.json.tmp"
  mv "$SB/hosts.json.tmp" "$SB/hosts.json"
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
         echo "thp=$(sed "s/ -- .*//" /proc/cmdline | tr " " "\n" | sed -n "s/^transparent_hugepage=//p")"') ||
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
  local count=${1:-2} i start
  if ! [[ $count =~ ^[0-9]+$ ]] || ((count < 1 || count > 254)); then
    die "N must be 1..254, got '$count'"
  fi
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

  for ((i = 1; i <= count; i++)); do host_up "$i"; done
  write_outputs "$count"
  # Each check is a fresh connection (~0.2 s here); hosts go in parallel.
  local pids=() failed=0
  for ((i = 1; i <= count; i++)); do verify_host "$i" & pids+=($!); done
  for i in "${pids[@]}"; do wait "$i" || failed=1; done
  ((failed == 0)) || die "verification failed (see above)"

  printf 'sandbox: %d host(s) up and verified in %.1fs (%s)\n' "$count" \
    "$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN{print b - a}')" \
    "$SB/hosts.json"
  for ((i = 1; i <= count; i++)); do
    printf '  h%d  %s:22  netns %s  users root, %s, %s  log %s\n' "$i" "$(host_addr "$i")" \
      "$(host_ns "$i")" "$SUDO_USER_NAME" "$NOPRIV_USER_NAME" "$(host_dir "$i")/sshd.log"
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
  local i any=0 dir pid accepted state
  for i in $(existing_indexes); do
    any=1
    dir=$(host_dir "$i")
    pid=$(cat "$dir/sshd.pid" 2>/dev/null || echo -)
    accepted=$(grep -c 'Accepted ' "$dir/sshd.log" 2>/dev/null || true)
    if host_healthy "$i"; then state=up; else state=BROKEN; fi
    printf 'h%d  %-6s  %s:22  netns %s  sshd pid %s  accepted %s\n' "$i" "$state" \
      "$(host_addr "$i")" "$(host_ns "$i")" "$pid" "${accepted:-0}"
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
    up) (($# <= 1)) || usage; cmd_up "$@";;
    down) (($# == 0)) || usage; cmd_down;;
    status) (($# == 0)) || usage; cmd_status;;
    *) usage;;
  esac
}

main "$@"
