#!/usr/bin/env bash
# Energy per inference (estimated, analytical model) on the eyeriss preset for the Fashion-MNIST
# models and resnet18/mobilenet_v2, across formats and dataflows, dense and after 90% magnitude
# pruning (frugal compress --prune 0.9). Prints a markdown table (uJ per inference).
# Usage: bench/accel/table.sh [BUILD_DIR] [ARCH]
set -euo pipefail
build="${1:-build}"; arch="${2:-eyeriss}"
frugal="$build/frugal"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
models="lenet5 resnet8_fmnist mobilenet_fmnist resnet18 mobilenet_v2"
formats="fp32 bf16 fp16 e4m3 int8 int4"
flows="ws os rs nlr"
spec() {  # floats accumulate in fp32, integers in a 24-bit integer
  case "$1" in int*) echo "w=$1,a=$1,acc=fixed24.0";; *) echo "w=$1,a=$1,acc=fp32";; esac
}
total() { python3 -c 'import json,sys; print("%.1f" % (json.load(sys.stdin)["totals"]["total_pj"]*1e-6))'; }
echo "| model | weights | format | $(echo $flows | sed 's/ / | /g') |"
echo "| --- | --- | --- |$(for f in $flows; do printf ' ---: |'; done)"
for m in $models; do
  "$frugal" zoo "$m" -o "$tmp/$m.onnx" >/dev/null
  "$frugal" compress "$tmp/$m.onnx" --prune 0.9 -o "$tmp/$m.p90.onnx" >/dev/null
  for variant in dense p90; do
    file="$tmp/$m.onnx"; [ "$variant" = p90 ] && file="$tmp/$m.p90.onnx"
    for f in $formats; do
      row="| $m | $variant | $f |"
      for d in $flows; do
        row="$row $("$frugal" accel "$file" --arch "$arch" --dataflow "$d" --format "$(spec "$f")" --json | total) |"
      done
      echo "$row"
    done
  done
done
