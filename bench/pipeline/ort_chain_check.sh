#!/usr/bin/env bash
# Segments written by frugal partition run alone in ONNX Runtime, and chained they give the
# whole model's outputs within TOL relative (largest difference / largest magnitude).
#   bench/pipeline/ort_chain_check.sh FRUGAL OUTDIR [MODEL] [K] [TOL]
# Exit 0 pass, 1 fail, 77 skipped (node or bench/peers/node_modules absent).
set -euo pipefail
frugal="$1"; out="$2"; model="${3:-squeezenet1_1}"; k="${4:-4}"; tol="${5:-1e-5}"
here="$(cd "$(dirname "$0")" && pwd)"
command -v node >/dev/null || { echo "skip: node not found"; exit 77; }
[ -d "$here/../peers/node_modules/onnxruntime-node" ] || { echo "skip: bench/peers/node_modules absent (bench/peers/install.sh)"; exit 77; }
mkdir -p "$out"
"$frugal" zoo "$model" -o "$out/model.onnx" >/dev/null
"$frugal" partition "$out/model.onnx" --stages "$k" --devices edgetpu-x8 -o "$out/segments" >/dev/null
node "$here/ort_chain.js" "$out/model.onnx" "$out/segments" | tee "$out/ort_chain.json"
python3 - "$out/ort_chain.json" "$tol" <<'PY'
import json, sys
r, tol = json.load(open(sys.argv[1])), float(sys.argv[2])
worst = max(o["relative"] for o in r["outputs"].values())
print(f"{r['segments']} segments in ONNX Runtime {r['ort_version']}: largest relative difference {worst:.2e} (tolerance {tol:g})")
sys.exit(0 if worst <= tol else 1)
PY
