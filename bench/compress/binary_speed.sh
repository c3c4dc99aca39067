#!/usr/bin/env bash
# Speed of the bit-packed binary layers (frugal compress --binarize binary:all:acts:packed:
# frugal.BinaryConv/BinaryGemm on the cpu backend's XNOR/AND-popcount kernels) against
# the same layers in fp32 and int8 (oneDNN), per layer from `frugal bench --profile`, at
# batch 1 and 64, on 1 and 2 threads (--parallel-min-us 0: every node on all threads),
# random weights (speed only; accuracy is binarize.sh's).
#   bash bench/compress/binary_speed.sh build/frugal OUT [ROUNDS] [BEFORE]
# The variants run alternated (fp32, int8, binary, and BEFORE's binary when BEFORE names
# another frugal executable: a build of an earlier commit, for before/after) ROUNDS times
# (default 3); OUT/binary_speed.md gets each layer's median ms/run with min-max over the
# rounds, and each whole model's sum of node times per run (the end-to-end rows).
# Models: lenet5 and resnet8_fmnist (zoo), and resnet18's layer3.0.conv2 and
# layer4.0.conv2 (resnet18-sized convolutions; resnet18 at batch 1 only).
# THREADS (default "1 2") and SPECS (default "lenet5:1 lenet5:64 resnet8_fmnist:1
# resnet8_fmnist:64 resnet18:1") narrow the run.
set -euo pipefail
frugal="$(realpath "$1")"; out="$2"; rounds="${3:-3}"; before="${4:-}"
[ -n "$before" ] && before="$(realpath "$before")"
mkdir -p "$out"; cd "$out"
export OMP_WAIT_POLICY=passive
threads_list="${THREADS:-1 2}"
specs="${SPECS:-lenet5:1 lenet5:64 resnet8_fmnist:1 resnet8_fmnist:64 resnet18:1}"
for m in lenet5 resnet8_fmnist resnet18; do
  [ -f "$m.onnx" ] || "$frugal" zoo "$m" -o "$m.onnx" >/dev/null
  "$frugal" compress "$m.onnx" --binarize binary:all:acts:packed -o "${m}_bin.onnx" >/dev/null
done
variants=(fp32 int8 binary)
[ -n "$before" ] && variants+=(before)
run() {  # MODEL BATCH VARIANT THREADS ROUND
  local model="$1" batch="$2" variant="$3" th="$4" r="$5" file="$1.onnx" exe="$frugal" extra=()
  case "$variant" in
    int8) extra=(--precision int8 --calibration random:4) ;;
    binary) file="${model}_bin.onnx" ;;
    before) file="${model}_bin.onnx"; exe="$before" ;;
  esac
  local q=(--duration 1 --min-queries 16)
  [ "$batch" -gt 1 ] && q=(--duration 0.3 --min-queries 8 --warmup 0.05)
  "$exe" bench "$file" --backend cpu,ref --threads "$th" --parallel-min-us 0 --batch "$batch" \
    "${q[@]}" --profile --profile-rows 100 "${extra[@]}" \
    > "prof_${model}_b${batch}_t${th}_${variant}_${r}.txt"
}
uptime > load.txt
for r in $(seq 1 "$rounds"); do
  for spec in $specs; do
    for th in $threads_list; do
      for v in "${variants[@]}"; do run "${spec%:*}" "${spec#*:}" "$v" "$th" "$r"; done
    done
  done
done
uptime >> load.txt
python3 - "$rounds" > binary_speed.md <<'PY'
import glob, re, statistics, sys
rounds = int(sys.argv[1])
keep = {"lenet5": None, "resnet8_fmnist": None, "resnet18": {"layer3.0.conv2", "layer4.0.conv2"}}
rows = {}  # (model, batch, threads, layer) -> variant -> [ms]
kernels = {}
variants = ["fp32", "int8", "binary", "before"]
for f in glob.glob("prof_*.txt"):
    m = re.match(r"prof_(.+)_b(\d+)_t(\d+)_(\w+)_(\d+)\.txt", f)
    model, batch, th, variant = m.group(1), int(m.group(2)), int(m.group(3)), m.group(4)
    for line in open(f):
        t = re.search(r"summed over (\d+) timed inferences; node total ([\d.]+) ms", line)
        if t:
            rows.setdefault((model, batch, th, "(whole model)"), {}).setdefault(variant, []).append(
                float(t.group(2)) / int(t.group(1)))
            continue
        c = line.split()
        if len(c) < 8 or c[1] not in ("Conv", "Gemm", "BinaryConv", "BinaryGemm"):
            continue
        if keep[model] is not None and c[0] not in keep[model]:
            continue
        rows.setdefault((model, batch, th, c[0]), {}).setdefault(variant, []).append(float(c[4]))
        kernels[(model, c[0], variant)] = next((t for t in c[5:] if t.startswith("cpu")), "-")
have_before = any("before" in v for v in rows.values())
def cell(v):
    if not v: return "-"
    return "%.3f (%.3f-%.3f)" % (statistics.median(v), min(v), max(v))
def ratio(a, b):
    return "%.2fx" % (statistics.median(a) / statistics.median(b)) if a and b and statistics.median(b) > 0 else "-"
head = "| model | batch | threads | layer | fp32 ms | int8 ms | binary ms |"
if have_before: head += " binary before ms | before / after |"
print(head + " fp32 / binary | int8 / binary | binary kernel |")
print("|---" * (head.count("|") - 1 + 3) + "|")
for (model, batch, th, layer), v in sorted(rows.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2], kv[0][3] != "(whole model)")):
    f, i, b = v.get("fp32", []), v.get("int8", []), v.get("binary", [])
    line = "| %s | %d | %d | %s | %s | %s | %s |" % (model, batch, th, layer, cell(f), cell(i), cell(b))
    if have_before: line += " %s | %s |" % (cell(v.get("before", [])), ratio(v.get("before", []), b))
    line += " %s | %s | %s |" % (ratio(f, b), ratio(i, b), kernels.get((model, layer, "binary"), "-"))
    print(line)
print("\nms per run: median (min-max) over %d alternated rounds; whole model: the sum of its node times per run. Load before and after:\n\n    %s" % (rounds, open("load.txt").read().strip().replace("\n", "\n    ")))
PY
cat binary_speed.md
