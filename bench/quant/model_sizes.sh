#!/usr/bin/env bash
# Weight bytes of zoo models in fp32, int8 (per-channel, QDQ export) and int4 weight-only
# (group 32), as `frugal quantize --json` accounts them (quantized values + float32 scales;
# int4 at 4 bits), and the size of the exported ONNX file (int4 values are stored one per
# int8 byte in the file: opset 18 has no 4-bit type).
#   bench/quant/model_sizes.sh FRUGAL OUT.csv [MODEL...]
set -euo pipefail
frugal="$1"; out="$2"; shift 2
models=("$@"); [ ${#models[@]} -eq 0 ] && models=(lenet5 resnet8_fmnist mobilenet_fmnist resnet18 resnet50 mobilenet_v2)
tmp=$(mktemp -d)
echo "model,fp32_weight_bytes,int8_weight_bytes,int4_g32_weight_bytes,fp32_file,int8_file,int4_file" >"$out"
for m in "${models[@]}"; do
  "$frugal" zoo "$m" -o "$tmp/m.onnx" >/dev/null
  "$frugal" quantize "$tmp/m.onnx" -o "$tmp/q8.onnx" --quant int8 --calibration random:1 --json >"$tmp/q8.json" 2>/dev/null
  "$frugal" quantize "$tmp/m.onnx" -o "$tmp/q4.onnx" --quant int4:group=32 --json >"$tmp/q4.json"
  python3 - "$m" "$tmp" >>"$out" <<'PY'
import json, os, sys
m, t = sys.argv[1:3]
q8 = json.load(open(f"{t}/q8.json")); q4 = json.load(open(f"{t}/q4.json"))
sz = lambda f: os.path.getsize(f"{t}/{f}")
print(f"{m},{q8['weight_bytes_before']},{q8['weight_bytes_after']},{q4['weight_bytes_after']},"
      f"{sz('m.onnx')},{sz('q8.onnx')},{sz('q4.onnx')}")
PY
  tail -1 "$out"
done
rm -rf "$tmp"
