#!/usr/bin/env bash
# The 2-core finding and the simulator's validation (docs/pipeline.md): for each model,
#   K1-1t  one stage on core 0, 1 thread            (--stages 1 --devices host-cores)
#   K1-2t  one stage on cores 0-1, 2 threads         (--devices bench/pipeline/two-threads.yaml)
#   K2     two stages, one per core, 1 thread each   (frugal partition --stages 2, optimal cut)
# each measured for throughput with the queues saturated (--in-flight 0) and for latency one
# inference at a time (--in-flight 1), queues of 8 (so that the unpinned feeding and
# draining threads, late on a loaded machine, do not stall the stages), and simulated (--simulate: each segment timed alone
# on its core, then the discrete-event simulator). Configurations alternate within a round
# (the machine is shared); the summary gives the median and the min..max over rounds.
# Usage: bench/pipeline/two_cores.sh BUILD_DIR [ROUNDS=5] [DURATION=3] [MODELS...]
set -euo pipefail
build=${1:?usage: two_cores.sh BUILD_DIR [ROUNDS] [DURATION] [MODELS...]}
rounds=${2:-5}
duration=${3:-3}
shift $(( $# < 3 ? $# : 3 ))
models=("$@")
[ ${#models[@]} -gt 0 ] || models=(resnet18 mobilenet_v2 squeezenet1_1)
frugal="$build/frugal"
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
out="$work/runs.jsonl"
common=(--backend cpu,ref --queue 8 --duration "$duration" --warmup 0.5 --json)

for m in "${models[@]}"; do
  "$frugal" zoo "$m" -o "$work/$m.onnx" >/dev/null
  # One cut for every round, so that rounds differ only by the machine's noise.
  "$frugal" partition "$work/$m.onnx" --stages 2 --devices host-cores --method optimal \
    --backend cpu,ref -o "$work/$m.k2" >/dev/null
done

run() {  # run MODEL CONFIG MODE ROUND -- frugal pipeline args
  local m=$1 config=$2 mode=$3 round=$4; shift 5
  "$frugal" pipeline "$@" | python3 -c '
import json, sys
r = json.load(sys.stdin)
print(json.dumps({"model": sys.argv[1], "config": sys.argv[2], "mode": sys.argv[3],
                  "round": int(sys.argv[4]),
                  "throughput": r["results"]["throughput"]["queries_per_s"],
                  "p50_ms": r["results"]["latency"]["p50_ms"]}))' "$m" "$config" "$mode" "$round" >>"$out"
}

for ((round = 0; round < rounds; round++)); do
  for m in "${models[@]}"; do
    configs=("K1-1t" "K1-2t" "K2")
    # Rotate the order every round so that no configuration always runs first.
    for ((i = 0; i < 3; i++)); do
      c=${configs[$(( (i + round) % 3 ))]}
      case $c in
        K1-1t) args=("$work/$m.onnx" --stages 1 --devices host-cores) ;;
        K1-2t) args=("$work/$m.onnx" --stages 1 --devices "$here/two-threads.yaml") ;;
        K2) args=("$work/$m.k2" --devices host-cores) ;;
      esac
      run "$m" "$c" saturated "$round" -- "${args[@]}" "${common[@]}" --in-flight 0
      run "$m" "$c" one-at-a-time "$round" -- "${args[@]}" "${common[@]}" --in-flight 1
      run "$m" "$c" simulated "$round" -- "${args[@]}" --backend cpu,ref --queue 8 --simulate --json
    done
  done
done

python3 - "$out" "$(nproc)" "$(uptime)" <<'PY'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
print(f"# machine: {sys.argv[2]} CPUs online; at the end: {sys.argv[3].strip()}")
def cell(vals, fmt):
    return f"{fmt.format(statistics.median(vals))} ({fmt.format(min(vals))}..{fmt.format(max(vals))})"
print("| model | config | throughput /s, saturated | latency p50 ms, one at a time | "
      "simulated throughput /s (estimate) | simulated / measured |")
print("| --- | --- | --- | --- | --- | --- |")
for m in dict.fromkeys(r["model"] for r in runs):
    for c in ("K1-1t", "K1-2t", "K2"):
        pick = lambda mode, key: [r[key] for r in runs if r["model"] == m and r["config"] == c and r["mode"] == mode]
        sat, lat, sim = pick("saturated", "throughput"), pick("one-at-a-time", "p50_ms"), pick("simulated", "throughput")
        ratio = statistics.median(s / t for s, t in zip(sim, sat))
        print(f"| {m} | {c} | {cell(sat, '{:.1f}')} | {cell(lat, '{:.2f}')} | {cell(sim, '{:.1f}')} | {ratio:.2f} |")
PY
