#!/usr/bin/env bash
# Calls to malloc per Session::run (the engine's host work and the kernels' own, e.g.
# oneDNN's execute), for one or more frugal_peer binaries: frugal_peer runs the model
# `LOW` and `HIGH` times under an LD_PRELOAD counter (count_mallocs.c beside this script)
# and the difference over HIGH - LOW is one run's count (loading and compiling cancel).
# Deterministic: not affected by the load of a shared machine.
# Usage: allocations_per_run.sh MODEL.onnx INPUT.npy THREADS PEER [PEER...]
set -euo pipefail
model="$1"; input="$2"; threads="$3"; shift 3
low=100; high=600
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cc -O2 -shared -fPIC -o "$tmp/count_mallocs.so" "$(dirname "$0")/count_mallocs.c" -ldl
count() {
  LD_PRELOAD="$tmp/count_mallocs.so" "$1" --model "$model" --input "$input" --threads "$threads" \
    --iters "$2" --warmup 1 --no-output 2>&1 >/dev/null | awk '/^mallocs/ {print $2}' | tail -1
}
for peer in "$@"; do
  a=$(count "$peer" "$low"); b=$(count "$peer" "$high")
  python3 -c "print('$peer $(basename "$model") threads $threads: %.1f mallocs per run' % (($b - $a) / ($high - $low)))"
done
