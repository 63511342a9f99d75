#!/usr/bin/env bash
# `make demo`: apply examples/stack (the whole MCPAI stack, modules/mcpai-stack)
# to the two sandbox hosts with the locally built provider, and print what
# changed on each host, layer by layer, read over SSH before and after.
# `make demo-destroy` (this script with "destroy") puts everything back and
# shows that nothing differs from before.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
SB="$REPO/.sandbox"
EXAMPLE="$REPO/examples/stack"
BEFORE="$SB/demo-before.json"

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
cd "$REPO"

tf() { terraform -chdir="$EXAMPLE" "$@" -no-color 2>&1 | grep -v -e 'Provider development overrides' -e 'dev_overrides' -e 'mcpai/mcpai in' -e 'may therefore not match' -e 'applying changes may cause' -e 'releases\.$' ; }
probe() { go run ./internal/stackprobe/cmd -hosts "$SB/hosts.json" "$@"; }
section() { printf '\n=== %s\n' "$*"; }

if [[ ${1:-} == destroy ]]; then
  if [[ -f $EXAMPLE/terraform.tfstate ]]; then
    section "terraform destroy: every layer puts back what it found"
    tf destroy -auto-approve -input=false | grep -E 'Destroy complete|Error' || true
  fi
  if [[ -f $BEFORE ]]; then
    section "the hosts now, against before the demo"
    probe -compare "$BEFORE"
    rm -f "$BEFORE"
  fi
  exit 0
fi

terraform -chdir="$EXAMPLE" get >/dev/null
# The reading before the first apply is kept, so that demo-destroy compares
# with the hosts as they were, however often the demo runs.
[[ -f $BEFORE ]] || probe -save "$BEFORE"

section "terraform apply: examples/stack on h2 (api+gpu) and h1 (db+cache)"
set +e
tf apply -auto-approve -input=false | grep -E -e '(Creation|Modifications) complete|Apply complete|Error|Warning:|^\s+on |^\S.*:$' | grep -v '^\s*$'
rc=${PIPESTATUS[0]}
set -e
[[ $rc -eq 0 ]] || { echo "terraform apply failed (exit $rc)"; exit "$rc"; }

section "what changed, per host and layer (read over SSH, not from Terraform)"
probe -compare "$BEFORE"

section "which layers each host got"
tf output hosts

section "drift: someone sets net.core.somaxconn on h1 by hand; terraform plan shows it"
addr=$(jq -r '.hosts[] | select(.name=="h1") | .address' "$SB/hosts.json")
ssh -i "$SB/id_ed25519" -o BatchMode=yes -o UserKnownHostsFile="$SB/known_hosts" "root@$addr" 'echo 1024 > /proc/sys/net/core/somaxconn'
tf plan -input=false | grep -E '^\s+[~+-] |Plan:' || true
section "terraform apply puts it back"
tf apply -auto-approve -input=false | grep -E 'Apply complete' || true

printf '\nThe stack stays applied. `make demo-destroy` puts every host back as it was.\n'
