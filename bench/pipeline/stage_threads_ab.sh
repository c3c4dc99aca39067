#!/usr/bin/env bash
# A/B of a one-stage pipeline at 1 and 2 threads between two builds of frugal (e.g. main
# before and after a change), alternated within each round, and `frugal bench` at 1 and 2
# threads as the reference a two-thread stage should come close to (docs/pipeline.md,
# "Two threads in one stage"). For each model and round, in a rotated order:
#   A|B K1-1t   one stage on core 0, 1 thread        (--stages 1 --devices host-cores)
#   A|B K1-2t   one stage on cores 0-1, 2 threads     (--devices bench/pipeline/two-threads.yaml)
#   bench-N     frugal bench (build B) --threads N (N = 1, 2), the same Session without a pipeline
# pipeline rows: latency one inference at a time (--in-flight 1), p50; bench rows: p50.
# Usage: bench/pipeline/stage_threads_ab.sh BUILD_A BUILD_B [ROUNDS=5] [DURATION=2] [MODELS...]
set -euo pipefail
a=${1:?usage: stage_threads_ab.sh BUILD_A BUILD_B [ROUNDS] [DURATION] [MODELS...]}
b=${2:?usage: stage_threads_ab.sh BUILD_A BUILD_B [ROUNDS] [DURATION] [MODELS...]}
rounds=${3:-5}
duration=${4:-2}
shift $(( $# < 4 ? $# : 4 ))
models=("$@")
[ ${#models[@]} -gt 0 ] || models=(mobilenet_v2 squeezenet1_1)
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
out="$work/runs.jsonl"

for m in "${models[@]}"; do "$b/frugal" zoo "$m" -o "$work/$m.onnx" >/dev/null; done

p50() {  # p50 MODEL CONFIG ROUND -- frugal args: appends one row
  local m=$1 config=$2 round=$3; shift 4
  "$@" | python3 -c '
import json, sys
r = json.load(sys.stdin)
print(json.dumps({"model": sys.argv[1], "config": sys.argv[2], "round": int(sys.argv[3]),
                  "p50_ms": r["results"]["latency"]["p50_ms"]}))' "$m" "$config" "$round" >>"$out"
}

one() {  # one MODEL CONFIG ROUND
  local m=$1 c=$2 round=$3 build
  case $c in A*) build=$a ;; *) build=$b ;; esac
  local pipe=("$build/frugal" pipeline "$work/$m.onnx" --backend cpu,ref --queue 8
    --duration "$duration" --warmup 0.5 --json --in-flight 1)
  case $c in
    *K1-1t) p50 "$m" "$c" "$round" -- "${pipe[@]}" --stages 1 --devices host-cores ;;
    *K1-2t) p50 "$m" "$c" "$round" -- "${pipe[@]}" --stages 1 --devices "$here/two-threads.yaml" ;;
    bench-*) p50 "$m" "$c" "$round" -- "$b/frugal" bench "$work/$m.onnx" --backend cpu,ref \
      --threads "${c#bench-}" --duration "$duration" --json ;;
  esac
}

configs=("A K1-1t" "A K1-2t" "B K1-1t" "B K1-2t" "bench-1" "bench-2")
for ((round = 0; round < rounds; round++)); do
  for m in "${models[@]}"; do
    for ((i = 0; i < ${#configs[@]}; i++)); do
      one "$m" "${configs[$(( (i + round) % ${#configs[@]} ))]}" "$round"
    done
  done
done

python3 - "$out" "$(nproc)" "$(uptime)" <<'PY'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
print(f"# machine: {sys.argv[2]} CPUs online; at the end: {sys.argv[3].strip()}")
print("| model | config | p50 ms, median (min..max) |")
print("| --- | --- | --- |")
for m in dict.fromkeys(r["model"] for r in runs):
    for c in dict.fromkeys(r["config"] for r in runs):
        v = [r["p50_ms"] for r in runs if r["model"] == m and r["config"] == c]
        print(f"| {m} | {c} | {statistics.median(v):.2f} ({min(v):.2f}..{max(v):.2f}) |")
PY
