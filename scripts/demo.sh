#!/usr/bin/env bash
# `make demo`: apply examples/stack (the whole MCPAI stack, modules/mcpai-stack)
# to the two sandbox hosts and the VM host with the locally built provider,
# and print what changed on each host, layer by layer, read over SSH before
# and after. The sandbox hosts share this machine's kernel, so its
# kernel-wide settings are tuned on the VM (its own kernel) instead: the
# machine's kernel is never written, however the demo ends, and the script
# shows it is as it was.
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
if [[ ${1:-} != destroy && ! -f $SB/vms.json ]]; then
  echo "No VM host: run \`make demo\` (it starts it) or make vm." >&2
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
probe() { go run ./internal/stackprobe/cmd -hosts "$SB/hosts.json" -vms "$SB/vms.json" -names h1,h2,v1 "$@"; }
# The machine's own kernel, as h1 (a network namespace of it) reads it.
machine_kernel() { go run ./internal/stackprobe/cmd -hosts "$SB/hosts.json" -names h1 -kernel -compare "$BEFORE"; }
section() { printf '\n=== %s\n' "$*"; }

if [[ ${1:-} == destroy ]]; then
  if [[ -f $EXAMPLE/terraform.tfstate ]]; then
    # The state has resources on the VM host: destroy needs it up and running.
    if [[ ! -f $SB/vms.json ]]; then
      echo "The demo's state has resources on the VM host, which is down: run \`make vm\`, then \`make demo-destroy\`." >&2
      exit 1
    fi
    scripts/vm.sh resume
    section "terraform destroy: every layer puts back what it found"
    tf destroy destroy -auto-approve -input=false
    grep -E 'Destroy complete' "$SB/demo-destroy.log"
    rm -f "$EXAMPLE"/terraform.tfstate "$EXAMPLE"/terraform.tfstate.backup
  fi
  if [[ -f $BEFORE ]]; then
    section "the hosts now, against before the demo"
    if [[ -f $SB/vms.json ]]; then probe -compare "$BEFORE"; else machine_kernel; fi
    rm -f "$BEFORE"
  fi
  exit 0
fi

# `make test` leaves its VMs paused: continue them (and set their clocks).
scripts/vm.sh resume
tf get get
# The reading before the first apply is kept, so that demo-destroy compares
# with the hosts as they were, however often the demo runs.
[[ -f $BEFORE ]] || probe -save "$BEFORE"

# load_results FILE: the stack's load_test output, as JSON, into FILE.
load_results() {
  terraform -chdir="$EXAMPLE" output -no-color -json load_test 2>/dev/null >"$1" ||
    { echo "terraform output load_test failed" >&2; exit 1; }
}

section "before tuning: the stack without the host layer and with uvicorn's defaults, then the load test"
echo "(terraform apply -var tuned=false: one uvicorn worker per container, asyncio, h11, access log on;"
echo " PostgreSQL, Redis and Docker are tuned in both runs)"
tf apply-untuned apply -auto-approve -input=false -var tuned=false
load_results "$SB/demo-load-before.json"
jq -r '"load test: \(.results.requests) requests, p50 \(.results.p50_ms) ms, p95 \(.results.p95_ms) ms, \(.results.rps * 10 | round / 10) requests/s"' "$SB/demo-load-before.json"

section "terraform apply: examples/stack on h2 (api+gpu), h1 (db+cache) and v1 (the host layer), tuned"
tf apply apply -auto-approve -input=false
grep -E '^(Apply complete|Warning:)' "$SB/demo-apply.log" | grep -v 'development overrides' | sort -u
load_results "$SB/demo-load-after.json"

section "load test through Traefik, before and after tuning (Locust's own statistics)"
echo "Measured on the sandbox: network namespaces of one 2-core machine, where Locust, Traefik, the API, PostgreSQL"
echo "and Redis share the same two cores. $(jq -r '"\(.users) users without pauses for the configured duration, the guide'"'"'s task mix, against \(.target)"' "$SB/demo-load-after.json")."
jq -rn --slurpfile b "$SB/demo-load-before.json" --slurpfile a "$SB/demo-load-after.json" '
  def r: . * 1000 | round / 1000 | tostring;
  def row(name; key): [name, ($b[0].results[key] | r), ($a[0].results[key] | r)];
  (["", "before", "after"], ["---", "---", "---"],
   row("requests"; "requests"), row("failures"; "failures"), row("requests/s"; "rps"),
   row("p50 ms"; "p50_ms"), row("p95 ms"; "p95_ms"), row("p99 ms"; "p99_ms"), row("max ms"; "max_ms"))
  | "| " + join(" | ") + " |"'

section "what changed, per host and layer (read over SSH, not from Terraform)"
echo "(h1 and h2 are network namespaces of this machine and share its kernel, which the demo leaves alone:"
echo " the kernel-wide values, vm.*, fs.* and transparent huge pages, are tuned on v1, a VM with its own kernel.)"
probe -compare "$BEFORE"

section "this machine's own kernel, against before the demo"
machine_kernel

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
