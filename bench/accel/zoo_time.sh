#!/usr/bin/env bash
# Wall time of `frugal accel MODEL --arch eyeriss --dataflow best` on every zoo model (the
# issue's budget: 60 s each). Usage: bench/accel/zoo_time.sh [BUILD_DIR]
set -euo pipefail
build="${1:-build}"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
echo "| model | seconds | uJ per inference (estimated) |"
echo "| --- | ---: | ---: |"
for m in $("$build/frugal" zoo --list); do
  "$build/frugal" zoo "$m" -o "$tmp/$m.onnx" >/dev/null
  start=$(date +%s.%N)
  uj=$("$build/frugal" accel "$tmp/$m.onnx" --arch eyeriss --dataflow best --json |
       python3 -c 'import json,sys; print("%.1f" % (json.load(sys.stdin)["totals"]["total_pj"]*1e-6))')
  end=$(date +%s.%N)
  printf '| %s | %.1f | %s |\n' "$m" "$(echo "$end - $start" | bc)" "$uj"
done
