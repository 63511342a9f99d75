#!/usr/bin/env bash
# `make demo`: apply examples/stack (the whole MCPAI stack, modules/mcpai-stack)
# to the two sandbox hosts with the locally built provider, and print what
# changed on each host, layer by layer, read over SSH before and after.
# `make demo-destroy` (this script with "destroy") puts everything back and
# shows that nothing differs from before. Terraform's full output goes to
# .sandbox/demo-<step>.log; a failing step prints its end and stops.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
SB="$REPO/.sandbox"
EXAMPLE="$REPO/examples/stack"
BEFORE="$SB/demo-before.json"
cd "$REPO"

if [[ ! -f $SB/hosts.json ]]; then
  if [[ ${1:-} == destroy ]]; then
    echo "No sandbox is running: nothing to put back."
    exit 0
  fi
  echo "No sandbox hosts: run \`make demo\` (it starts them) or scripts/sandbox.sh up 2." >&2
  exit 1
fi

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

# tf STEP ARGS...: terraform in the example, all output to the step's log;
# on failure the log's end is printed and the script stops.
tf() {
  local log="$SB/demo-$1.log"
  shift
  if ! terraform -chdir="$EXAMPLE" "$@" -no-color >"$log" 2>&1; then
    echo "terraform $* failed; the end of $log:" >&2
    tail -n 40 "$log" >&2
    exit 1
  fi
}
probe() { go run ./internal/stackprobe/cmd -hosts "$SB/hosts.json" -names h1,h2 "$@"; }
section() { printf '\n=== %s\n' "$*"; }

if [[ ${1:-} == destroy ]]; then
  if [[ -f $EXAMPLE/terraform.tfstate ]]; then
    section "terraform destroy: every layer puts back what it found"
    tf destroy destroy -auto-approve -input=false
    grep -E 'Destroy complete' "$SB/demo-destroy.log"
    rm -f "$EXAMPLE"/terraform.tfstate "$EXAMPLE"/terraform.tfstate.backup
  fi
  if [[ -f $BEFORE ]]; then
    section "the hosts now, against before the demo"
    probe -compare "$BEFORE"
    rm -f "$BEFORE"
  fi
  exit 0
fi

tf get get
# The reading before the first apply is kept, so that demo-destroy compares
# with the hosts as they were, however often the demo runs.
[[ -f $BEFORE ]] || probe -save "$BEFORE"

section "terraform apply: examples/stack on h2 (api+gpu) and h1 (db+cache)"
tf apply apply -auto-approve -input=false
grep -E '^(Apply complete|Warning:)' "$SB/demo-apply.log" | grep -v 'development overrides' | sort -u

section "what changed, per host and layer (read over SSH, not from Terraform)"
echo "(h1 and h2 are network namespaces of one machine and share its kernel: the kernel-wide values that h2"
echo " tunes, vm.*, fs.* and transparent huge pages, are shown once, under h1+h2.)"
probe -compare "$BEFORE"

section "which layers each host got"
tf output output hosts
cat "$SB/demo-output.log"

section "the API through Traefik on h2: a row into h1's PostgreSQL, read back, then from h1's Redis"
app=$(jq -r '.hosts[] | select(.name=="h2") | .address' "$SB/hosts.json")
curl -fsS --max-time 10 "http://$app/health" && echo
curl -fsS --max-time 10 -X POST -H 'Content-Type: application/json' -d '{"payload":"make demo"}' "http://$app/api/requests" && echo
curl -fsS --max-time 10 "http://$app/api/requests" | jq -c '{cache, count, last: .last[0]}'
curl -fsS --max-time 10 "http://$app/api/requests" | jq -c '{cache, count, last: .last[0]}'

section "drift: someone sets net.core.somaxconn on h1 by hand; terraform plan shows it"
db=$(jq -r '.hosts[] | select(.name=="h1") | "\(.user)@\(.address)"' "$SB/hosts.json")
ssh -i "$SB/id_ed25519" -o BatchMode=yes -o UserKnownHostsFile="$SB/known_hosts" "$db" 'echo 1024 > /proc/sys/net/core/somaxconn'
set +e
terraform -chdir="$EXAMPLE" plan -input=false -no-color -detailed-exitcode >"$SB/demo-plan.log" 2>&1
rc=$?
set -e
[[ $rc -eq 2 ]] || { echo "terraform plan exited $rc, expected 2 (changes); the end of $SB/demo-plan.log:" >&2; tail -n 40 "$SB/demo-plan.log" >&2; exit 1; }
grep -E '^\s+[~+-] |somaxconn|Plan:' "$SB/demo-plan.log" | grep -v 'mcpai/mcpai in'
section "terraform apply puts it back"
tf reapply apply -auto-approve -input=false
grep -E 'Apply complete' "$SB/demo-reapply.log"

echo; echo 'The stack stays applied. Run "make demo-destroy" to put every host back as it was.'
