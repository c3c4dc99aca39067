#!/usr/bin/env bash
# Predicted slowest stage and pipeline throughput (estimates) of MODEL on the edgetpu-x8
# preset for K = 1..8 stages, Coral's parameter-count split next to the optimal one.
#   bench/pipeline/partition_table.sh MODEL [build/frugal]
set -euo pipefail
model="$1"; frugal="${2:-build/frugal}"
echo "| K | params: slowest stage | params: throughput | optimal: slowest stage | optimal: throughput | optimal: latency |"
echo "|---:|---:|---:|---:|---:|---:|"
for k in 1 2 3 4 5 6 7 8; do
  p=$("$frugal" partition "$model" --devices edgetpu-x8 --stages "$k" --method params --json)
  o=$("$frugal" partition "$model" --devices edgetpu-x8 --stages "$k" --method optimal --json)
  python3 - "$k" "$p" "$o" <<'PY'
import json, sys
k, p, o = sys.argv[1], json.loads(sys.argv[2])["predicted"], json.loads(sys.argv[3])["predicted"]
print(f"| {k} | {1e3*p['slowest_stage_s']:.2f} ms | {p['throughput_per_s']:.0f} /s | "
      f"{1e3*o['slowest_stage_s']:.2f} ms | {o['throughput_per_s']:.0f} /s | {1e3*o['latency_s']:.2f} ms |")
PY
done
