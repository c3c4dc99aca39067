#!/usr/bin/env bash
# Pipelining over an 8-Edge-TPU board (the edgetpu-x8 preset, modeled: every figure is an
# ESTIMATE from the simulator): inference time (one inference alone in the pipeline),
# throughput (queues full) and energy per inference against K = 1..8, int8, with Coral's
# parameter-count cut (params) and frugal's optimal cut side by side.
# Usage: bench/pipeline/edgetpu_x8.sh BUILD_DIR [MODELS...]   (default: mobilenet_v2 resnet50
# vgg16 inception_v3; a model the zoo lacks is skipped with a note)
set -euo pipefail
build=${1:?usage: edgetpu_x8.sh BUILD_DIR [MODELS...]}
shift
models=("$@")
[ ${#models[@]} -gt 0 ] || models=(mobilenet_v2 resnet50 vgg16 inception_v3)
frugal="$build/frugal"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for m in "${models[@]}"; do
  if ! "$frugal" zoo "$m" -o "$work/$m.onnx" >/dev/null 2>&1; then
    echo "($m: not in this build's zoo, skipped)"
    continue
  fi
  echo
  echo "**$m** (int8, edgetpu-x8, simulated: estimates)"
  echo
  echo "| K | params: time ms | params: inferences/s | params: mJ/inference | optimal: time ms | optimal: inferences/s | optimal: mJ/inference |"
  echo "| --- | --- | --- | --- | --- | --- | --- |"
  for k in 1 2 3 4 5 6 7 8; do
    row="| $k "
    for method in params optimal; do
      row+=$("$frugal" pipeline "$work/$m.onnx" --stages "$k" --devices edgetpu-x8 --precision int8 \
        --method "$method" --simulate --json | python3 -c '
import json, sys
r = json.load(sys.stdin)["results"]
print("| %.2f | %.1f | %.3f " % (r["pipeline"]["unloaded_latency_ms"], r["throughput"]["queries_per_s"],
                                  1e3 * r["energy"]["joules_per_inference"]), end="")')
    done
    echo "$row|"
  done
done
