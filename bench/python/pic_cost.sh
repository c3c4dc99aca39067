#!/usr/bin/env bash
# The cost of compiling the library -fPIC (FRUGAL_PYTHON_MODULE=ON) for inference: the
# `frugal` CLI of a PIC build (A) against one of the default build (B), same commit, same
# models, run in turn A B A B ... so that drift of a shared machine hits both alike.
# Each run is one `frugal bench --json` process; its median latency (p50_ms) is one sample.
# Prints, per model and thread count, the median [min, max] of A's and B's samples and of
# the pairwise ratio A/B (> 1: PIC is slower). docs/python.md, "The cost of -fPIC".
#
#   bench/python/pic_cost.sh PIC_CLI DEFAULT_CLI [ROUNDS] [DURATION_S]
set -euo pipefail
if [[ $# -lt 2 ]]; then
  echo "usage: $0 PIC_CLI DEFAULT_CLI [ROUNDS=7] [DURATION_S=2]" >&2
  exit 1
fi
pic=$1 default=$2 rounds=${3:-7} duration=${4:-2}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

p50() {  # CLI MODEL THREADS -> the run's median latency in ms
  "$1" bench "$2" --backend cpu --precision fp32 --threads "$3" --duration "$duration" --json |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["results"]["latency"]["p50_ms"])'
}

summary() {  # python3 summary of the two sample lists A and B
  python3 - "$@" <<'EOF'
import statistics as st, sys
a = [float(x) for x in sys.argv[1].split()]
b = [float(x) for x in sys.argv[2].split()]
r = [x / y for x, y in zip(a, b)]
f = lambda v, d: f"{st.median(v):.{d}f} [{min(v):.{d}f}, {max(v):.{d}f}]"
print(f"| {sys.argv[3]} | {sys.argv[4]} | {f(a, 2)} | {f(b, 2)} | {f(r, 3)} |")
EOF
}

echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; start: $(uptime)"
"$default" zoo resnet18 -o "$work/resnet18.onnx" >/dev/null
"$default" zoo mobilenet_v2 -o "$work/mobilenet_v2.onnx" >/dev/null
echo "| model | threads | PIC p50 ms | default p50 ms | PIC/default |"
echo "|---|---|---|---|---|"
for model in resnet18 mobilenet_v2; do
  for threads in 1 2; do
    a="" b=""
    for ((i = 0; i < rounds; i++)); do
      a+=" $(p50 "$pic" "$work/$model.onnx" "$threads")"
      b+=" $(p50 "$default" "$work/$model.onnx" "$threads")"
    done
    summary "$a" "$b" "$model" "$threads"
  done
done
echo "end: $(uptime)"
