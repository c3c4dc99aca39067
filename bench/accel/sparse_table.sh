#!/usr/bin/env bash
# Dense vs 90%-pruned weights on the zero-gating (eyeriss, rs) and zero-skipping compressed
# (eie: CSR with 4-bit relative indices, ws) presets: energy per inference and cycles
# (estimated, analytical model). Usage: bench/accel/sparse_table.sh [BUILD_DIR]
set -euo pipefail
build="${1:-build}"
frugal="$build/frugal"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
field() { python3 -c 'import json,sys; t=json.load(sys.stdin)["totals"]; print("%.1f | %.3g" % (t["total_pj"]*1e-6, t["cycles"]))'; }
echo "| model | format | arch | dense uJ | dense cycles | p90 uJ | p90 cycles |"
echo "| --- | --- | --- | ---: | ---: | ---: | ---: |"
for m in lenet5 resnet8_fmnist mobilenet_fmnist resnet18 mobilenet_v2; do
  "$frugal" zoo "$m" -o "$tmp/$m.onnx" >/dev/null
  "$frugal" compress "$tmp/$m.onnx" --prune 0.9 -o "$tmp/$m.p90.onnx" >/dev/null
  for f in "w=fp16,a=fp16,acc=fp32" "w=int8,a=int8,acc=fixed24.0"; do
    for arch in eyeriss eie; do
      d=$("$frugal" accel "$tmp/$m.onnx" --arch $arch --format "$f" --json | field)
      p=$("$frugal" accel "$tmp/$m.p90.onnx" --arch $arch --format "$f" --json | field)
      echo "| $m | ${f%%,*} | $arch | $d | $p |"
    done
  done
done
