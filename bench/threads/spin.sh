#!/usr/bin/env bash
# How long OpenMP workers spin before they sleep, against latency at 1 and 2 threads.
#
#   bash bench/threads/spin.sh build/frugal OUT_DIR [ROUNDS=3] [MODELS...]
#
# For each zoo model (batch 1, cpu backend), in ROUNDS alternated rounds: `frugal bench` at 1
# thread, and at 2 threads with OMP_WAIT_POLICY=passive (the CLI's default until
# 2026-12-06) and GOMP_SPINCOUNT = 1000, 3000, 10000 (the default since), 30000 and 300000
# (libgomp's own default), and with neither set ("default": what frugal chooses from the load
# when it starts, kernels/cpu/openmp_spin.h). Prints a Markdown table of the median p50
# latency (ms) with [min, max] over rounds, and the machine's load average before and after.
# HOGS=N also keeps N busy processes running during the rounds (a shared machine).
set -euo pipefail
frugal="$(realpath "$1")"; out="$2"; rounds="${3:-3}"; shift 3 || shift $#
models=("$@")
[ ${#models[@]} -gt 0 ] || models=(lenet5 resnet8_fmnist mobilenet_v2 squeezenet1_1 mobilenet_v3_large efficientnet_b0 resnet18)
mkdir -p "$out"
configs=("1t" "passive" "1000" "3000" "10000" "30000" "300000" "default")
p50() { awk '/^per query/{print $3}'; }
run() {  # config model -> p50 ms
  local c="$1" m="$out/$2.onnx"
  case "$c" in
    1t) env -u OMP_WAIT_POLICY GOMP_SPINCOUNT=10000 "$frugal" bench "$m" --backend cpu --threads 1 --duration 1 | p50 ;;
    default) env -u GOMP_SPINCOUNT -u OMP_WAIT_POLICY "$frugal" bench "$m" --backend cpu --threads 2 --duration 1 | p50 ;;
    passive) env -u GOMP_SPINCOUNT OMP_WAIT_POLICY=passive "$frugal" bench "$m" --backend cpu --threads 2 --duration 1 | p50 ;;
    *) env -u OMP_WAIT_POLICY GOMP_SPINCOUNT="$c" "$frugal" bench "$m" --backend cpu --threads 2 --duration 1 | p50 ;;
  esac
}
hogs=()
for _ in $(seq "${HOGS:-0}"); do sh -c 'while :; do :; done' & hogs+=($!); done
trap '[ ${#hogs[@]} -eq 0 ] || kill "${hogs[@]}" 2>/dev/null' EXIT
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)${HOGS:+, $HOGS busy processes}"
for m in "${models[@]}"; do [ -f "$out/$m.onnx" ] || "$frugal" zoo "$m" -o "$out/$m.onnx" >/dev/null; done
rm -f "$out/times.txt"
for r in $(seq "$rounds"); do
  for m in "${models[@]}"; do
    for c in "${configs[@]}"; do echo "$m $c $(run "$c" "$m")" >> "$out/times.txt"; done
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/python3 - "$out/times.txt" "${configs[@]}" <<'PY'
import sys, statistics, collections
t = collections.defaultdict(list)
for line in open(sys.argv[1]):
    m, c, v = line.split()
    t[(m, c)].append(float(v))
configs = sys.argv[2:]
models = list(dict.fromkeys(k[0] for k in t))
name = {"passive": "2t passive", "default": "2t frugal's choice"}
head = ["1 thread"] + [name.get(c, "2t spin " + c) for c in configs[1:]]
print("| model | " + " | ".join(head) + " |")
print("|---" * (len(configs) + 1) + "|")
for m in models:
    cells = []
    for c in configs:
        v = t[(m, c)]
        cells.append("%.3f [%.3f, %.3f]" % (statistics.median(v), min(v), max(v)))
    print("| %s | %s |" % (m, " | ".join(cells)))
PY
