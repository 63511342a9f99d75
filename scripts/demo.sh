#!/usr/bin/env bash
# `make demo`: apply the sandbox example with the locally built provider and
# show, on a real sshd host, what apply, drift and destroy do.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
SB="$REPO/.sandbox"
EXAMPLE="$REPO/examples/sandbox-demo"

# Use the provider from .bin instead of the registry; nothing is downloaded.
export TF_CLI_CONFIG_FILE="$SB/demo.tfrc"
cat >"$TF_CLI_CONFIG_FILE" <<TFRC
provider_installation {
  dev_overrides {
    "mcpai/mcpai" = "$REPO/.bin"
  }
  direct {}
}
TFRC
export TF_IN_AUTOMATION=1

addrs=$(grep -o '"address":"[^"]*"' "$SB/hosts.json")
addr=$(cut -d'"' -f4 <<<"${addrs%%$'\n'*}")
keys="net.core.somaxconn net.ipv4.tcp_fin_timeout net.ipv4.tcp_keepalive_time net.ipv4.tcp_rmem"
show() {
  echo "--- $1: live values on $addr"
  ssh -i "$SB/id_ed25519" -o BatchMode=yes -o UserKnownHostsFile="$SB/known_hosts" "root@$addr" \
    "for k in $keys; do printf '  %-30s %s\n' \$k \"\$(cat /proc/sys/\$(echo \$k | tr . /))\"; done; ls /etc/sysctl.d/"
}
tf() { terraform -chdir="$EXAMPLE" "$@"; }

tf get >/dev/null
show "before"
echo "=== terraform apply"
tf apply -auto-approve -input=false -no-color 2>&1 | grep -v -e '^Warning: Provider development overrides' -e 'dev_overrides' || true
show "after apply"

echo "=== someone changes net.core.somaxconn by hand; terraform plan shows the drift"
ssh -i "$SB/id_ed25519" -o BatchMode=yes -o UserKnownHostsFile="$SB/known_hosts" "root@$addr" 'echo 128 > /proc/sys/net/core/somaxconn'
tf plan -input=false -no-color 2>&1 | grep -E '^\s+[~+-]|Plan:' || true
echo "=== terraform apply puts it back"
tf apply -auto-approve -input=false -no-color 2>&1 | grep -E 'Apply complete' || true
show "after the second apply"

echo "=== terraform destroy restores what was there"
tf destroy -auto-approve -input=false -no-color 2>&1 | grep -E 'Destroy complete' || true
show "after destroy"
