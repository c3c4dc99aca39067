#!/usr/bin/env bash
# One-layer LSTM and GRU (linear_before_reset, as PyTorch exports it) in frugal's cpu
# backend and in ONNX Runtime (bench/peers), alternated ROUNDS times, 1 thread, median ms.
# The models (seq 32, batch 1, input 64, hidden 128, random constant weights) are written
# as ONNX text and encoded with protoc against Debian's onnx.proto (libonnx-dev).
#   bench/rnn/compare.sh build/frugal [ROUNDS=3]
set -euo pipefail
frugal="$1"; rounds="${2:-3}"
here="$(cd "$(dirname "$0")" && pwd)"
out="$(mktemp -d)"; trap 'rm -rf "$out"' EXIT
for op in LSTM GRU; do
  python3 - "$op" >"$out/$op.txt" <<'PY'
import random, sys
op = sys.argv[1]; g = 4 if op == "LSTM" else 3
S, N, I, H = 32, 1, 64, 128
random.seed(1)
def init(name, dims):
    n = 1
    for d in dims: n *= d
    vals = " ".join(f"float_data: {random.uniform(-0.3, 0.3):.4f}" for _ in range(n))
    return f'initializer {{ name: "{name}" data_type: 1 ' + " ".join(f"dims: {d}" for d in dims) + f" {vals} }}"
lbr = 'attribute { name: "linear_before_reset" type: INT i: 1 }' if op == "GRU" else ""
print(f'''ir_version: 8 opset_import {{ domain: "" version: 14 }}
graph {{ name: "g"
 node {{ input: "X" input: "W" input: "R" input: "B" output: "Y" name: "cell" op_type: "{op}"
   attribute {{ name: "hidden_size" type: INT i: {H} }} {lbr} }}
 {init("W", [1, g * H, I])} {init("R", [1, g * H, H])} {init("B", [1, 2 * g * H])}
 input {{ name: "X" type {{ tensor_type {{ elem_type: 1 shape {{ dim {{ dim_value: {S} }} dim {{ dim_value: {N} }} dim {{ dim_value: {I} }} }} }} }} }}
 output {{ name: "Y" type {{ tensor_type {{ elem_type: 1 }} }} }}
}}''')
PY
  protoc --proto_path=/usr/include --encode=onnx.ModelProto onnx/onnx.proto <"$out/$op.txt" >"$out/$op.onnx"
done
echo "model frugal_cpu_ms ort_ms ratio(ort/frugal)"
for r in $(seq "$rounds"); do
  for op in LSTM GRU; do
    f=$("$frugal" bench "$out/$op.onnx" --backend cpu,ref --threads 1 --json 2>/dev/null |
      python3 -c "import json,sys; print(json.load(sys.stdin)['results']['latency']['p50_ms'])")
    o=$(node "$here/../peers/ort_run.js" --model "$out/$op.onnx" --shape 32x1x64 --threads 1 \
      --iters 2000 --warmup 50 --no-output |
      python3 -c "import json,sys,statistics; print(statistics.median(json.load(sys.stdin)['ms']))")
    python3 -c "print('$op', round($f, 4), round($o, 4), round($o / $f, 2))"
  done
done
