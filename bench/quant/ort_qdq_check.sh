#!/usr/bin/env bash
# Interchange check of frugal's QDQ export: quantize MODEL to QDQ ONNX (int8 per-channel
# weights, u8 activations), evaluate the file on the Fashion-MNIST test split in frugal
# (fp32 backend: the Q/DQ pairs give the fake-quantized accuracy) and in ONNX Runtime
# (onnxruntime-node, which fuses the QDQ units into int8 kernels), and require the two
# top-1 figures within TOL points (default 0.1).
#
#   bench/quant/ort_qdq_check.sh FRUGAL MODEL.onnx OUTDIR [SPEC] [LIMIT] [TOL]
# MODEL may be a zoo name (lenet5): then it is trained for 1 epoch on 10000 samples with Adam
# (about 65% top-1 in 5 s: a quick model for the ctest; docs/quantization.md uses fully
# trained ones). A model below 50% fp32 top-1 fails the check: agreement would mean little.
# Exit 0 pass, 1 fail, 77 skipped (node or bench/peers/node_modules absent).
set -euo pipefail
frugal="$1"; model="$2"; out="$3"; spec="${4:-int8}"; limit="${5:-0}"; tol="${6:-0.1}"
here="$(cd "$(dirname "$0")" && pwd)"
command -v node >/dev/null || { echo "skip: node not found"; exit 77; }
[ -d "$here/../peers/node_modules/onnxruntime-node" ] || { echo "skip: bench/peers/node_modules absent"; exit 77; }
[ -d /usr/share/datasets/fashion-mnist ] || { echo "skip: no Fashion-MNIST under /usr/share/datasets"; exit 77; }
mkdir -p "$out"
if [ ! -f "$model" ]; then
  "$frugal" train "$model" --data fashion-mnist --epochs 1 --limit 10000 --optimizer adam --lr 0.002 \
    --seed 1 -q -o "$out/trained.onnx" >/dev/null
  model="$out/trained.onnx"
fi
# Calibration: 512 samples of the train split; accuracy: the test split.
"$frugal" quantize "$model" -o "$out/qdq.onnx" --quant "$spec" --data fashion-mnist --json \
  >"$out/quantize.json" 2>"$out/quantize.err" || { cat "$out/quantize.err"; exit 1; }
lim=(); [ "$limit" != "0" ] && lim=(--limit "$limit")
"$frugal" eval "$out/qdq.onnx" --data fashion-mnist:test --backend cpu,ref --batch 100 "${lim[@]}" --json \
  >"$out/frugal_eval.json"
node "$here/ort_eval.js" "$out/qdq.onnx" "${lim[@]}" >"$out/ort_eval.json"
python3 - "$out" "$tol" <<'PY'
import json, sys
out, tol = sys.argv[1], float(sys.argv[2])
f = json.load(open(f"{out}/frugal_eval.json"))
def find(j, key):
    if isinstance(j, dict):
        if key in j and isinstance(j[key], (int, float)): return j[key]
        for v in j.values():
            r = find(v, key)
            if r is not None: return r
    return None
frugal_top1 = find(f, "top1")
o = json.load(open(f"{out}/ort_eval.json"))
q = json.load(open(f"{out}/quantize.json"))
acc = q.get("accuracy", {})
diff = abs(frugal_top1 - o["top1"]) * 100
print(f"fp32 (frugal)            {100*acc.get('fp32', float('nan')):.2f}%")
print(f"QDQ in frugal (fp32 run) {100*frugal_top1:.2f}%")
print(f"QDQ in ORT {o['ort_version']:<13} {100*o['top1']:.2f}%   ({o['samples']} samples)")
print(f"true int8 (cpu:int8)     {100*acc.get('true_int8', float('nan')):.2f}%")
print(f"|frugal - ORT| = {diff:.2f} points (tolerance {tol})")
if acc.get("fp32", 0) < 0.5:
    print("FAIL: the float model is below 50% top-1: agreement would say nothing")
    sys.exit(1)
sys.exit(0 if diff <= tol else 1)
PY
