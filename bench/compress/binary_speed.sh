#!/usr/bin/env bash
# Speed of the bit-packed binary layers (frugal compress --binarize binary:all:acts:packed:
# frugal.BinaryConv/BinaryGemm on the cpu backend's XNOR/AND-popcount kernels) against
# the same layers in fp32 and int8 (oneDNN), per layer from `frugal bench --profile`, at
# batch 1 and 64, one thread, random weights (speed only; accuracy is binarize.sh's).
#   bash bench/compress/binary_speed.sh build/frugal OUT [ROUNDS]
# The three variants run alternated (fp32, int8, binary) ROUNDS times (default 3);
# OUT/binary_speed.md gets each layer's median ms/run with min-max over the rounds.
# Models: lenet5 and resnet8_fmnist (zoo), and resnet18's layer3.0.conv2 and
# layer4.0.conv2 (resnet18-sized convolutions; resnet18 at batch 1 only: one thread).
set -euo pipefail
frugal="$(realpath "$1")"; out="$2"; rounds="${3:-3}"; mkdir -p "$out"; cd "$out"
export OMP_WAIT_POLICY=passive
for m in lenet5 resnet8_fmnist resnet18; do
  [ -f "$m.onnx" ] || "$frugal" zoo "$m" -o "$m.onnx" >/dev/null
  "$frugal" compress "$m.onnx" --binarize binary:all:acts:packed -o "${m}_bin.onnx" >/dev/null
done
run() {  # MODEL BATCH VARIANT ROUND
  local model="$1" batch="$2" variant="$3" r="$4" file="$1.onnx" extra=()
  case "$variant" in
    int8) extra=(--precision int8 --calibration random:4) ;;
    binary) file="${model}_bin.onnx" ;;
  esac
  local q=(--duration 1 --min-queries 16)
  [ "$batch" -gt 1 ] && q=(--duration 0.01 --min-queries 4 --warmup 0.01)
  "$frugal" bench "$file" --backend cpu,ref --threads 1 --batch "$batch" "${q[@]}" \
    --profile --profile-rows 100 "${extra[@]}" > "prof_${model}_b${batch}_${variant}_${r}.txt"
}
for r in $(seq 1 "$rounds"); do
  for spec in lenet5:1 lenet5:64 resnet8_fmnist:1 resnet8_fmnist:64 resnet18:1; do
    for v in fp32 int8 binary; do run "${spec%:*}" "${spec#*:}" "$v" "$r"; done
  done
done
uptime > load.txt
python3 - "$rounds" > binary_speed.md <<'PY'
import glob, re, statistics, sys
rounds = int(sys.argv[1])
keep = {"lenet5": None, "resnet8_fmnist": None, "resnet18": {"layer3.0.conv2", "layer4.0.conv2"}}
rows = {}  # (model, batch, layer) -> variant -> [ms]
kernels = {}
for f in glob.glob("prof_*.txt"):
    m = re.match(r"prof_(.+)_b(\d+)_(fp32|int8|binary)_(\d+)\.txt", f)
    model, batch, variant = m.group(1), int(m.group(2)), m.group(3)
    for line in open(f):
        c = line.split()
        if len(c) < 8 or c[1] not in ("Conv", "Gemm", "BinaryConv", "BinaryGemm"):
            continue
        if keep[model] is not None and c[0] not in keep[model]:
            continue
        rows.setdefault((model, batch, c[0]), {}).setdefault(variant, []).append(float(c[4]))
        kernels[(model, c[0], variant)] = next((t for t in c[5:] if t.startswith("cpu")), "-")
def cell(v):
    if not v: return "-"
    return "%.3f (%.3f-%.3f)" % (statistics.median(v), min(v), max(v))
print("| model | batch | layer | fp32 ms | int8 ms | binary ms | fp32 / binary | binary kernel |")
print("|---|---|---|---|---|---|---|---|")
for (model, batch, layer), v in sorted(rows.items(), key=lambda kv: (kv[0][0], kv[0][1])):
    f, b = v.get("fp32", []), v.get("binary", [])
    ratio = "%.2fx" % (statistics.median(f) / statistics.median(b)) if f and b and statistics.median(b) > 0 else "-"
    print("| %s | %d | %s | %s | %s | %s | %s | %s |" % (model, batch, layer, cell(f), cell(v.get("int8", [])), cell(b), ratio, kernels.get((model, layer, "binary"), "-")))
print("\nms per run: median (min-max) over %d alternated rounds; %s" % (rounds, open("load.txt").read().strip()))
PY
cat binary_speed.md
