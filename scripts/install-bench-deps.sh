#!/usr/bin/env bash
# The benchmarks' peer: Ansible from the distribution, with ansible.posix.
set -euo pipefail
if ! command -v ansible-playbook >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends ansible >/dev/null
fi
ansible-doc -t module ansible.posix.sysctl >/dev/null
