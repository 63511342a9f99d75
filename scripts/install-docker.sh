#!/usr/bin/env bash
# The two Docker engines the sandbox hosts run (see scripts/sandbox.sh):
#
#   h1: the distribution's Docker 20.10 (docker.io, with containerd and runc).
#   h2: a current dockerd, docker-proxy and runc built from the Go module
#       proxy into <repo>/.tools/bin, run with the distribution's containerd.
#       (The current dockerd starts docker-proxy with flags that the
#       distribution's 20.10 one lacks, so published ports need both.)
#
#   scripts/install-docker.sh
#
# Installs only what is missing and builds only what is not in .tools/bin
# (delete a binary there to rebuild it; the Go build cache makes a rebuild,
# or one in a fresh clone, take seconds). MCPAI_DOCKERD_VERSION and
# MCPAI_RUNC_VERSION pick other versions than @latest for a build.
# Quiet unless something fails; prints one summary line.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
TOOLS="$REPO/.tools/bin"
DOCKERD_MOD=github.com/moby/moby/v2/cmd/dockerd
DOCKER_PROXY_MOD=github.com/moby/moby/v2/cmd/docker-proxy
RUNC_MOD=github.com/opencontainers/runc
# Pinned, so the "current" engine the tests and CONTRIBUTING.md's figures use is
# reproducible; the environment variables override (e.g. "latest").
DOCKERD_VERSION=${MCPAI_DOCKERD_VERSION:-v2.0.0-beta.24}
RUNC_VERSION=${MCPAI_RUNC_VERSION:-v1.5.2}

die() { printf 'install-docker: ERROR: %s\n' "$*" >&2; exit 1; }

# Run "$@" with its output in a file that is shown only if it fails.
quietly() {
  local out rc=0
  out=$(mktemp)
  "$@" >"$out" 2>&1 || rc=$?
  if ((rc != 0)); then cat "$out" >&2; fi
  rm -f "$out"
  return "$rc"
}

installed() { [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]; }

ensure_packages() {
  local missing=() p
  # docker.io brings containerd and runc; libseccomp-dev and pkg-config are
  # for building runc with seccomp (cgo).
  # ca-certificates: go install fetches from the module proxy over HTTPS.
  for p in docker.io containerd runc libseccomp-dev pkg-config gcc libc6-dev ca-certificates; do
    installed "$p" || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  [[ $(id -u) -eq 0 ]] || die "missing packages (${missing[*]}) and not root"
  # The packages' scripts must not start a machine-wide dockerd or
  # containerd: policy-rc.d exit 101 = "do not start services" (as
  # sandbox.sh does), unless the machine has its own policy.
  local policy=/usr/sbin/policy-rc.d made_policy=0 rc=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && made_policy=1
  fi
  export DEBIAN_FRONTEND=noninteractive
  quietly apt-get update -qq &&
    quietly apt-get install -y -qq --no-install-recommends \
      -o Dpkg::Options::=--force-confold "${missing[@]}" || rc=$?
  if ((made_policy)); then rm -f "$policy"; fi
  ((rc == 0)) || die "apt-get install ${missing[*]} failed (rc=$rc)"
}

# go install into .tools/bin, unless the binary is there already.
ensure_built() {
  local bin=$1 mod=$2 version=$3
  shift 3
  [[ -x $TOOLS/$bin ]] && return 0
  command -v go >/dev/null || die "go is not on PATH (needed to build $bin)"
  mkdir -p "$TOOLS"
  # A temporary GOBIN, so that a failed or interrupted build never leaves a
  # half-written binary that the next run would take as built.
  local tmp
  tmp=$(mktemp -d "$TOOLS/.build.XXXXXX")
  if ! GOBIN=$tmp GOFLAGS=-buildvcs=false CGO_ENABLED=1 quietly go install "$@" "$mod@$version"; then
    rm -rf "$tmp"
    die "go install $* $mod@$version failed"
  fi
  mv "$tmp/$bin" "$TOOLS/$bin"
  rm -rf "$tmp"
}

main() {
  ensure_packages
  ensure_built dockerd "$DOCKERD_MOD" "$DOCKERD_VERSION"
  ensure_built docker-proxy "$DOCKER_PROXY_MOD" "$DOCKERD_VERSION"
  ensure_built runc "$RUNC_MOD" "$RUNC_VERSION" -tags seccomp
  local dist cur runc
  dist=$(/usr/sbin/dockerd --version) || die "/usr/sbin/dockerd --version failed"
  cur=$("$TOOLS/dockerd" --version) || die "$TOOLS/dockerd --version failed"
  # Whole output first: piping into "head -n1" races (runc writes line by
  # line, head may exit between writes, and SIGPIPE fails the pipeline).
  runc=$("$TOOLS/runc" --version) || die "$TOOLS/runc --version failed"
  runc=${runc%%$'\n'*}
  printf 'install-docker: distribution: %s | current (%s): %s, %s\n' "$dist" "$TOOLS" "$cur" "$runc"
}

main "$@"
