#!/usr/bin/env bash
# Accuracy of post-training quantization on Fashion-MNIST: for each model, fp32, and per
# quantization spec the fake-quantized (QDQ graph run in float32) and true-integer
# (cpu:int8 with the chosen ranges) top-1. One CSV line per (model, spec).
#
#   bench/quant/ptq_table.sh FRUGAL OUT.csv LIMIT MODEL.onnx... 
# LIMIT: test samples (0: all 10000). Calibration: 512 samples of the train split.
set -euo pipefail
frugal="$1"; out="$2"; limit="$3"; shift 3
specs=(int8,calib=minmax int8,calib=percentile:99.99 int8,calib=mse int8,calib=entropy
       int8,calib=mse,bias-correct int8,calib=mse,cle int8,calib=mse,cle,bias-correct
       int8:per-tensor,calib=mse int8:per-tensor,calib=mse,cle
       int4:group=32 int4:group=128)
echo "model,spec,fp32,fake_quant,true_int8,weight_bytes_fp32,weight_bytes_quant,seconds" >"$out"
tmp=$(mktemp -d)
for m in "$@"; do
  for s in "${specs[@]}"; do
    start=$(date +%s.%N)
    "$frugal" quantize "$m" -o "$tmp/q.onnx" --quant "$s" --data fashion-mnist --limit "$limit" \
      --json >"$tmp/r.json" 2>"$tmp/err" || { echo "$m $s failed: $(cat "$tmp/err")" >&2; continue; }
    end=$(date +%s.%N)
    python3 - "$m" "$s" "$tmp/r.json" "$start" "$end" >>"$out" <<'PY'
import json, sys, os
m, s, f, t0, t1 = sys.argv[1:6]
j = json.load(open(f)); a = j.get("accuracy", {})
g = lambda k: f"{100*a[k]:.2f}" if k in a else ""
print(f'{os.path.basename(m)},"{s}",{g("fp32")},{g("fake_quant")},{g("true_int8")},'
      f'{j["weight_bytes_before"]},{j["weight_bytes_after"]},{float(t1)-float(t0):.0f}')
PY
    tail -1 "$out"
  done
done
rm -rf "$tmp"
