#!/usr/bin/env bash
# The GPU checks, for a session lent a GPU machine (the device tool runs
# this in a copy of the working tree there). Prepare here first:
#
#   scripts/device-check.sh build    # test binaries into .device/
#
# then run on the GPU machine, with $OUT the folder that comes back:
#
#   scripts/device-check.sh run
#
# What it checks: the host-facts script and parser (what mcpai_host_facts
# runs over SSH) against the real nvidia-smi, under every shell there; and,
# where a Docker engine with the NVIDIA toolkit runs, that a GPU request
# shaped as mcpai_gpu_model_runner sends it (--gpus all / device ids)
# reaches a container. It only reads and runs containers it removes.
set -uo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
DEV="$REPO/.device"

build() {
  mkdir -p "$DEV"
  (cd "$REPO" &&
    CGO_ENABLED=0 go test -c -o "$DEV/hostfacts.test" ./internal/hostfacts &&
    CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$DEV/modelserver" ./internal/acctest/testdata/modelserver)
}

run() {
  local out=${OUT:?OUT must name the folder to fill}
  nvidia-smi >"$out/nvidia-smi.txt" 2>&1
  nvidia-smi -L >>"$out/nvidia-smi.txt" 2>&1
  nvidia-smi --query-gpu=index,name,memory.total,driver_version,uuid --format=csv,noheader,nounits >>"$out/nvidia-smi.txt" 2>&1
  for t in docker dockerd containerd nvidia-ctk nvidia-container-runtime nvidia-container-runtime-hook nvidia-cdi-hook sshd; do
    printf '%s: %s\n' "$t" "$(command -v "$t" || echo missing)"
  done >"$out/tools.txt"
  (cd "$REPO/internal/hostfacts" &&
    MCPAI_EXPECT_GPUS=1 "$DEV/hostfacts.test" -test.v -test.count=1 -test.run 'TestLiveGPUs|TestLiveScript' -record=device-gpu.txt)
  echo "hostfacts rc=$?"
  cp "$REPO/internal/hostfacts/testdata/device-gpu.txt" "$out/" 2>/dev/null
  if docker info >"$out/docker-info.txt" 2>&1; then
    local ctx
    ctx=$(mktemp -d)
    cp "$DEV/modelserver" "$ctx/" &&
      printf 'FROM scratch\nCOPY modelserver /modelserver\nENTRYPOINT ["/modelserver"]\n' >"$ctx/Dockerfile" &&
      docker build -q -t mcpai-model:device "$ctx" >>"$out/docker-gpu.txt" 2>&1
    for req in all '"device=0"'; do
      echo "--- docker run --gpus $req" >>"$out/docker-gpu.txt"
      docker run --rm --gpus "$req" -e MODELSERVER_MODE=exit -e MODELSERVER_EXIT_AFTER=0s -e MODELSERVER_EXIT_CODE=0 \
        mcpai-model:device >>"$out/docker-gpu.txt" 2>&1
      echo "rc=$?" >>"$out/docker-gpu.txt"
    done
    docker rmi mcpai-model:device >/dev/null 2>&1
  else
    echo "no Docker engine: the container GPU path is not checked here" >>"$out/docker-gpu.txt"
  fi
  return 0
}

case ${1:-} in
build) build ;;
run) run ;;
*) echo "usage: $0 build|run" >&2; exit 2 ;;
esac
