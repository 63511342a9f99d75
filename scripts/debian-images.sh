#!/usr/bin/env bash
# Container images of real programs, from Debian bookworm's packages, for the
# sandbox hosts' Docker engines (scripts/sandbox.sh). No registry is reachable
# here, but Debian's package mirror is: the images are a root filesystem made
# by mmdebstrap, imported into each engine through the Engine API.
#
#   scripts/debian-images.sh build
#       the root filesystem, once per recipe: cached as
#       $MCPAI_IMAGES_CACHE (/var/cache/mcpai-images)/<recipe hash>/rootfs.tar
#   scripts/debian-images.sh load <i> [<docker.sock>]
#       the images in sandbox host h<i>'s engine (socket: the one given, else
#       h<i>'s "docker_socket" in .sandbox/hosts.json); skips each image that
#       is there and up to date
#   scripts/debian-images.sh hash
#       prints the recipe hash
#
# The recipe (between recipe:begin and recipe:end below: suite, mirror,
# package list, dpkg path excludes and the customize function) is hashed with
# sha256 into the cache folder's name: change any of it and `build` makes a
# new root filesystem (about 2 minutes on this 2-core machine) and removes
# the older ones. `build` holds a lock (flock on <cache>/.lock), so two runs
# never build at once, and builds in <hash>.tmp, renamed to <hash> only when
# rootfs.tar is complete: an interrupted build leaves no half cache (the next
# one starts over).
#
# What the root filesystem holds (Debian bookworm, no Recommends):
#   Python: python3-locust 2.12, python3-fastapi 0.92, python3-uvicorn
#     0.17.6, python3-uvloop, python3-httptools, python3-prometheus-client,
#     python3-asyncpg (PostgreSQL driver), python3-redis
#   Services: pgbouncer 1.18, prometheus 2.42 (with promtool),
#     prometheus-node-exporter, prometheus-postgres-exporter,
#     prometheus-redis-exporter (commands named so, in /usr/bin)
#   ca-certificates; a user locust (uid 1000, group locust gid 1000, home
#   /home/locust), as in Locust's official image; the packages' own users
#   postgres (pgbouncer refuses to run as root: --user postgres) and
#   prometheus.
# Two repairs of Debian's packages (see customize): python3-locust 2.12.1-1
# lost its version (`locust --version` said "locust "), put back from dpkg;
# python3-uvicorn has no uvicorn command, so /usr/local/bin/uvicorn runs
# `python3 -m uvicorn`.
# Trimmed: no documentation but the copyright files, no man or info pages, no
# translations, no moment-timezone raw data (211 MB; dpkg path-exclude, kept
# in the image for later installs), no apt package lists or cache; C.UTF-8 is
# the only locale (glibc's own). customize runs every program once: a build
# whose programs do not start fails.
#
# Images `load` makes in an engine (every one labelled
# org.mcpai.debian.recipe=<recipe hash>):
#   mcpai-debian:<first 12 of the recipe hash>
#       the root filesystem, imported (POST /images/create?fromSrc=-), with
#       ENV PATH and LANG=C.UTF-8 and CMD ["/bin/sh"]: the base of the two
#       below, imported once per engine and recipe (the slow part).
#   mcpai-locust:latest
#       Locust to the contract of Locust's official image (locustio/locust):
#       ENTRYPOINT ["locust"], USER locust (uid 1000), WORKDIR /home/locust,
#       ENV PYTHONUNBUFFERED=1, EXPOSE 8089 5557; `docker run
#       mcpai-locust:latest -f locustfile.py ...` as with the official one.
#   mcpai-debian-stack:latest
#       the same root filesystem, no ENTRYPOINT, CMD ["/bin/sh"], USER root:
#       run PgBouncer, Prometheus, promtool, the exporters or Python (FastAPI
#       under uvicorn) with an explicit entrypoint or command, e.g.
#       `docker run --entrypoint prometheus mcpai-debian-stack:latest
#       --config.file=...` or `... mcpai-debian-stack:latest uvicorn main:app
#       --loop uvloop --http httptools`.
# Those two are built FROM the base with the classic builder through /build
# (both engines run it; metadata only, no new layer), and carry the label
# org.mcpai.sandbox.source=<a hash of the recipe and of their Dockerfile>, as
# scripts/sandbox.sh's other images do: `load` rebuilds one that is missing
# or whose label differs, and skips the rest (a second `scripts/sandbox.sh
# up` adds nothing). When it replaces an image, it removes the one it
# replaced and base images of older recipes (unless a container uses them).
#
# Figures on this 2-core machine (2026-12): build 85-100 s (mostly download
# and dpkg), rootfs.tar 358 MB; import into Docker 20.10 (h1, overlay2) about
# 5-6 s plus 3 s for the two images; into the current engine (h2, containerd
# image store) about 26-28 s plus 10-17 s (each Dockerfile instruction costs
# about 1.5 s there, so the Dockerfiles have few); a `load` that finds both
# images up to date takes 0.2-0.3 s.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
SELF="$REPO/scripts/debian-images.sh"
CACHE_ROOT=${MCPAI_IMAGES_CACHE:-/var/cache/mcpai-images}
HOSTS_JSON="$REPO/.sandbox/hosts.json"

BASE_REPO="mcpai-debian"
LOCUST_IMAGE="mcpai-locust:latest"
STACK_IMAGE="mcpai-debian-stack:latest"
# Labels: the recipe of the root filesystem (base and both images), and the
# hash of what an image was built from (the label scripts/sandbox.sh uses).
RECIPE_LABEL="org.mcpai.debian.recipe"
SOURCE_LABEL="org.mcpai.sandbox.source"
IMPORT_MAX_TIME=900   # seconds for one import (curl --max-time)

log() { printf 'debian-images: %s\n' "$*" >&2; }
die() { printf 'debian-images: ERROR: %s\n' "$*" >&2; exit 1; }

usage() {
  sed -n '2,16p' "$SELF" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# Seconds since $1 (an $EPOCHREALTIME), one decimal.
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.1f", b - a}'; }

# recipe:begin: everything up to recipe:end is hashed into the cache's name.
SUITE=bookworm
MIRROR=http://deb.debian.org/debian   # the mirror scripts/vm.sh uses
PACKAGES=(
  python3-locust python3-fastapi python3-uvicorn python3-uvloop python3-httptools
  python3-prometheus-client python3-asyncpg python3-redis
  pgbouncer prometheus prometheus-node-exporter prometheus-postgres-exporter
  prometheus-redis-exporter ca-certificates
)
# Paths dpkg never writes (they stay in /etc/dpkg/dpkg.cfg.d/99mmdebstrap).
DPKG_OPTS=(
  'path-exclude=/usr/share/doc/*'
  'path-include=/usr/share/doc/*/copyright'
  'path-exclude=/usr/share/man/*'
  'path-exclude=/usr/share/info/*'
  'path-exclude=/usr/share/locale/*'
  'path-include=/usr/share/locale/locale.alias'
  'path-exclude=/usr/share/lintian/*'
  # moment-timezone's raw time zone data, 211 MB in 144 JSON files, which
  # nothing here reads: Prometheus's classic UI (which depends on
  # libjs-moment-timezone) loads moment-timezone-with-data.min.js only.
  'path-exclude=/usr/share/javascript/moment-timezone/data/*'
)

# customize ROOTFS: run by mmdebstrap (--customize-hook) on the finished
# tree, before its own cleanup (which removes apt's lists and cache).
customize() {
  local r=$1
  # Locust's official image runs as "locust", uid 1000, home /home/locust.
  chroot "$r" groupadd --gid 1000 locust
  chroot "$r" useradd --uid 1000 --gid 1000 --create-home --home-dir /home/locust \
    --shell /bin/bash locust
  # Debian's python3-locust 2.12.1-1 lost its version in packaging (built
  # without setuptools_scm's git data): locust/_version.py says version = ''
  # and the dist-info says 0.0.0, so `locust --version` prints "locust " and
  # the web UI no version. Put back the package's upstream version, from
  # dpkg, where it is missing (a later package that fixes it is left alone).
  local v py=/usr/lib/python3/dist-packages/locust
  v=$(chroot "$r" dpkg-query -W -f='${source:Upstream-Version}' python3-locust)
  if [[ $(cat "$r$py/_version.py") == "version = ''" ]]; then
    printf "version = '%s'\n" "$v" >"$r$py/_version.py"
    sed -i "s/^Version: 0\.0\.0$/Version: $v/" "$r"/usr/lib/python3/dist-packages/locust-*.dist-info/METADATA
    chroot "$r" python3 -m py_compile "$py/_version.py"
  fi
  # Debian's python3-uvicorn has no uvicorn command (only `python3 -m
  # uvicorn`): add the one pip would install, so that the usual command line
  # (`uvicorn main:app --host ...`) works.
  printf '#!/bin/sh\nexec /usr/bin/python3 -m uvicorn "$@"\n' >"$r/usr/local/bin/uvicorn"
  chmod 755 "$r/usr/local/bin/uvicorn"
  # What dpkg wrote before its path excludes took effect, locales other than
  # C.UTF-8 (glibc's own), and apt's lists and caches.
  rm -rf "$r"/usr/share/man/* "$r"/usr/share/info/* "$r"/usr/share/lintian/*
  find "$r/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete 2>/dev/null || true
  find "$r/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} + 2>/dev/null || true
  find "$r/usr/lib/locale" -mindepth 1 -maxdepth 1 ! -name C.utf8 -exec rm -rf {} + 2>/dev/null || true
  rm -rf "$r"/var/lib/apt/lists/* "$r"/var/cache/apt/* "$r"/var/cache/debconf/*-old "$r"/var/log/apt/*
  # Each program in the image answers; a package that lost a file to the
  # trimming would show here, not in a test.
  local out
  out=$(chroot "$r" /bin/sh -ec '
    test "$(locust --version)" = "locust '"$v"'"
    uvicorn --version
    pgbouncer --version
    prometheus --version
    promtool --version
    prometheus-node-exporter --version
    prometheus-postgres-exporter --version
    prometheus-redis-exporter --version
    python3 -c "import fastapi, uvicorn, uvloop, httptools, prometheus_client, redis, asyncpg"
  ' 2>&1) || die "a program in the root filesystem does not run: $out"
}
# recipe:end

RECIPE=$(sed -n '/^# recipe:begin/,/^# recipe:end/p' "$SELF" | sha256sum | cut -d' ' -f1)
CACHE="$CACHE_ROOT/$RECIPE"
TARBALL="$CACHE/rootfs.tar"
BASE_IMAGE="$BASE_REPO:${RECIPE:0:12}"

# ---------------------------------------------------------------------------
# build
# ---------------------------------------------------------------------------

cmd_build() {
  if [[ -f $TARBALL ]]; then
    log "root filesystem up to date: $TARBALL ($(du -h "$TARBALL" | cut -f1))"
    return 0
  fi
  [[ $(id -u) == 0 ]] || die "build must run as root (mmdebstrap --mode=root)"
  if ! command -v mmdebstrap >/dev/null; then
    log "installing mmdebstrap"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap >/dev/null
  fi
  mkdir -p "$CACHE_ROOT"
  exec 8>"$CACHE_ROOT/.lock"
  flock 8                             # one build at a time
  if [[ -f $TARBALL ]]; then          # another run built it while we waited
    log "root filesystem up to date: $TARBALL ($(du -h "$TARBALL" | cut -f1))"
    return 0
  fi
  local start=$EPOCHREALTIME tmp="$CACHE.tmp" opts=() o
  rm -rf "$tmp"                       # an interrupted build's leftovers
  mkdir -p "$tmp"
  for o in "${DPKG_OPTS[@]}"; do opts+=(--dpkgopt="$o"); done
  log "building the root filesystem of recipe ${RECIPE:0:12} (Debian $SUITE, mmdebstrap): ${PACKAGES[*]}"
  # mmdebstrap's temporary tree goes in $tmp too, so that nothing is left
  # elsewhere. The hook runs this script again for customize (mmdebstrap
  # runs hooks with sh -c, the root filesystem as $1); its path goes in the
  # environment, not into the hook's text, so no character in it is code.
  MCPAI_DEBIAN_IMAGES=$SELF TMPDIR=$tmp mmdebstrap --mode=root --variant=apt --aptopt='APT::Install-Recommends "false"' \
    --quiet "${opts[@]}" --include="$(IFS=,; echo "${PACKAGES[*]}")" \
    --customize-hook='"$MCPAI_DEBIAN_IMAGES" customize-rootfs "$1"' \
    "$SUITE" "$tmp/rootfs.tar" "$MIRROR" ||
    die "mmdebstrap failed (the partial build in $tmp goes at the next build)"
  printf '%s\n' "${PACKAGES[@]}" >"$tmp/packages"
  # Older recipes' caches (not this one, not a build in progress).
  find "$CACHE_ROOT" -mindepth 1 -maxdepth 1 -type d ! -name "$RECIPE" ! -name '*.tmp' -exec rm -rf {} +
  mv "$tmp" "$CACHE"
  log "built $TARBALL in $(since "$start") s: $(du -h "$TARBALL" | cut -f1) ($(stat -c %s "$TARBALL") bytes)"
}

# ---------------------------------------------------------------------------
# load
# ---------------------------------------------------------------------------

# api <path> [curl options...]: the Engine API on $SOCK. Unversioned paths
# get the engine's own API version, so the same calls work on both engines.
api() {
  local path=$1
  shift
  curl -sS --fail-with-body --max-time 300 --unix-socket "$SOCK" "$@" "http://localhost$path"
}

uri() { jq -rn --arg s "$1" '$s|@uri'; }

# label <image> <label>: the image's label, "" when the image or label is missing.
label() {
  api "/images/$(uri "$1")/json" 2>/dev/null | jq -r --arg l "$2" '.Config.Labels[$l] // ""' 2>/dev/null || true
}

image_id() { api "/images/$(uri "$1")/json" 2>/dev/null | jq -r '.Id // ""' 2>/dev/null || true; }

# Import the root filesystem as $BASE_IMAGE unless the engine has it.
ensure_base() {
  [[ $(label "$BASE_IMAGE" "$RECIPE_LABEL") == "$RECIPE" ]] && return 0
  [[ -f $TARBALL ]] || die "no root filesystem for recipe ${RECIPE:0:12}: run scripts/debian-images.sh build"
  local start=$EPOCHREALTIME query c out
  query="fromSrc=-&repo=$BASE_REPO&tag=${RECIPE:0:12}&message=$(uri "scripts/debian-images.sh: Debian $SUITE, recipe $RECIPE")"
  for c in 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
           'ENV LANG=C.UTF-8' 'CMD ["/bin/sh"]' "LABEL $RECIPE_LABEL=$RECIPE"; do
    query+="&changes=$(uri "$c")"
  done
  # -T streams the file (--data-binary would read it all into memory first).
  out=$(curl -sS --fail-with-body --max-time "$IMPORT_MAX_TIME" --unix-socket "$SOCK" -X POST \
          -H 'Content-Type: application/x-tar' -T "$TARBALL" "http://localhost/images/create?$query" 2>&1) ||
    die "$HOST: importing $TARBALL as $BASE_IMAGE failed: $out"
  # A failed import can still answer 200, with the error in the JSON stream.
  ! grep -q '"error' <<<"$out" || die "$HOST: importing $TARBALL as $BASE_IMAGE failed: $out"
  [[ $(label "$BASE_IMAGE" "$RECIPE_LABEL") == "$RECIPE" ]] ||
    die "$HOST: $BASE_IMAGE is missing or unlabelled after its import: $out"
  log "$HOST: imported $BASE_IMAGE ($(du -h "$TARBALL" | cut -f1)) in $(since "$start") s"
}

# dockerfile <image>: the Dockerfile of one of the two images, FROM the base,
# but for the label of its own hash, which ensure_image adds to its last line
# (a LABEL). Few instructions: on the current engine (containerd image store)
# each costs about 1.5 s, even one that only sets metadata.
dockerfile() {
  printf 'FROM %s\n' "$BASE_IMAGE"
  case $1 in
    "$LOCUST_IMAGE") cat <<'EOF'
ENV PYTHONUNBUFFERED=1
EXPOSE 8089 5557
USER locust
WORKDIR /home/locust
ENTRYPOINT ["locust"]
LABEL org.opencontainers.image.title="mcpai Locust (Debian python3-locust 2.12)" org.opencontainers.image.description="Locust 2.12 from Debian bookworm packages (python3-locust), built by the mcpai project without a registry (scripts/debian-images.sh) to the contract of the official Locust image locustio/locust: ENTRYPOINT locust, USER locust (uid 1000), WORKDIR /home/locust"
EOF
      ;;
    # CMD ["/bin/sh"], PATH and LANG come from the base.
    "$STACK_IMAGE") cat <<'EOF'
LABEL org.opencontainers.image.title="mcpai Debian stack (PgBouncer, Prometheus, exporters, FastAPI)" org.opencontainers.image.description="Debian bookworm packages, built by the mcpai project without a registry (scripts/debian-images.sh): pgbouncer 1.18, prometheus 2.42 and promtool, prometheus-node-exporter, prometheus-postgres-exporter, prometheus-redis-exporter, python3 with fastapi, uvicorn, uvloop, httptools, prometheus_client, asyncpg, redis and locust; no entrypoint, give one"
EOF
      ;;
    *) die "no Dockerfile for $1";;
  esac
}

# ensure_image <image>: built FROM the base unless the engine has it with the
# label of its current Dockerfile. Sets BUILT=1 when it built.
ensure_image() {
  local image=$1 body want old out start ctx
  body=$(dockerfile "$image")
  want=$(printf '%s\n%s\n' "$RECIPE" "$body" | sha256sum | cut -d' ' -f1)
  [[ $(label "$image" "$SOURCE_LABEL") == "$want" ]] && return 0
  ensure_base
  start=$EPOCHREALTIME
  old=$(image_id "$image")
  ctx=$(mktemp -d)
  printf '%s %s=%s\n' "$body" "$SOURCE_LABEL" "$want" >"$ctx/Dockerfile"
  out=$(tar -C "$ctx" -cf - Dockerfile |
        api "/build?t=$(uri "$image")&rm=1&forcerm=1" -X POST -H 'Content-Type: application/x-tar' \
          --data-binary @- 2>&1) || { rm -rf "$ctx"; die "$HOST: building $image failed: $out"; }
  rm -rf "$ctx"
  # A failed build still answers 200, with the error in the JSON stream.
  ! grep -q '"error' <<<"$out" || die "$HOST: building $image failed: $out"
  [[ $(label "$image" "$SOURCE_LABEL") == "$want" ]] ||
    die "$HOST: $image is missing or has another $SOURCE_LABEL after its build: $out"
  # The image it replaced, unless a container still uses it.
  if [[ -n $old && $old != "$(image_id "$image")" ]]; then
    api "/images/$old" -X DELETE >/dev/null 2>&1 || true
  fi
  BUILT=1
  log "$HOST: built $image in $(since "$start") s"
}

cmd_load() {
  (($# >= 1 && $# <= 2)) || usage
  [[ $1 =~ ^[0-9]+$ ]] || die "load: host index must be a number, got '$1'"
  HOST="h$1"
  SOCK=${2:-}
  if [[ -z $SOCK ]]; then
    [[ -f $HOSTS_JSON ]] || die "no $HOSTS_JSON: give the socket, or run scripts/sandbox.sh up"
    SOCK=$(jq -r --arg n "$HOST" '.hosts[] | select(.name == $n) | .docker_socket // ""' "$HOSTS_JSON")
    [[ -n $SOCK ]] || die "$HOSTS_JSON names no docker_socket for $HOST"
  fi
  [[ -S $SOCK ]] || die "$HOST: $SOCK is not a socket"
  local start=$EPOCHREALTIME ref
  BUILT=0
  ensure_image "$LOCUST_IMAGE"
  ensure_image "$STACK_IMAGE"
  if ((BUILT)); then
    # Base images of older recipes (their children went above, or are in use).
    for ref in $(api "/images/json?filters=$(uri "{\"reference\":[\"$BASE_REPO\"]}")" |
                 jq -r '.[].RepoTags[]? // empty'); do
      [[ $ref == "$BASE_IMAGE" || $ref != "$BASE_REPO":* ]] || api "/images/$(uri "$ref")" -X DELETE >/dev/null 2>&1 || true
    done
    log "$HOST: $LOCUST_IMAGE and $STACK_IMAGE ready in $(since "$start") s"
  else
    log "$HOST: $LOCUST_IMAGE and $STACK_IMAGE up to date (recipe ${RECIPE:0:12}; checked in $(since "$start") s)"
  fi
}

main() {
  local cmd=${1:-}
  [[ -n $cmd ]] || usage
  shift
  case $cmd in
    build) (($# == 0)) || usage; cmd_build;;
    load) cmd_load "$@";;
    hash) echo "$RECIPE";;
    customize-rootfs) (($# == 1)) || usage; customize "$1";;   # mmdebstrap's hook
    *) usage;;
  esac
}

main "$@"
