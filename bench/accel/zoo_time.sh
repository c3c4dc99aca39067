#!/usr/bin/env bash
# Wall time of `frugal accel MODEL --arch eyeriss` (its own dataflow, rs) and with
# `--dataflow best` (all four) on every zoo model; the issue's budget is 60 s each.
# Usage: bench/accel/zoo_time.sh [BUILD_DIR]
set -euo pipefail
build="${1:-build}"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
uj() { python3 -c 'import json,sys; print("%.1f" % (json.load(sys.stdin)["totals"]["total_pj"]*1e-6))'; }
timed() {  # prints "SECONDS UJ"
  local start end e
  start=$(date +%s.%N); e=$("$@" --json | uj); end=$(date +%s.%N)
  printf '%.1f | %s' "$(echo "$end - $start" | bc)" "$e"
}
echo "| model | rs: seconds | rs: uJ (estimated) | best: seconds | best: uJ (estimated) |"
echo "| --- | ---: | ---: | ---: | ---: |"
for m in $("$build/frugal" zoo --list); do
  "$build/frugal" zoo "$m" -o "$tmp/$m.onnx" >/dev/null
  echo "| $m | $(timed "$build/frugal" accel "$tmp/$m.onnx" --arch eyeriss) | $(timed "$build/frugal" accel "$tmp/$m.onnx" --arch eyeriss --dataflow best) |"
done
