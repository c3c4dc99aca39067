#!/usr/bin/env bash
# Latency of the cpu backend's threaded block-circulant kernel (FFTW) against the dense
# layers it replaces, on LeNet-300-100 (zoo, random weights: speed only; accuracy is
# circulant.sh's) at block sizes 8 and 32 (:pad), batch 1 and 64, 1 and 2 threads
# (--parallel-min-us 0: every node on all threads), per layer from `frugal bench
# --profile`, dense and circulant alternated ROUNDS times (default 3).
#   bash bench/compress/circulant_speed.sh build/frugal OUT [ROUNDS] [BEFORE]
# BEFORE (optional): another frugal executable (an earlier commit's build) whose b = 32
# model runs in the same rounds, for before/after.
# Writes OUT/circulant_speed.md: median ms/run (min-max) per layer and the sum of the
# model's node times per run.
set -euo pipefail
frugal="$(realpath "$1")"; out="$2"; rounds="${3:-3}"; before="${4:-}"
[ -n "$before" ] && before="$(realpath "$before")"
mkdir -p "$out"; cd "$out"
variants=(dense c8 c32)
[ -n "$before" ] && variants+=(before32)
export OMP_WAIT_POLICY=passive
[ -f l300.onnx ] || "$frugal" zoo lenet300_100 -o l300.onnx >/dev/null
for b in 8 32; do
  "$frugal" compress l300.onnx --circulant "$b:pad" --exclude last -o "l300_c$b.onnx" >/dev/null
done
uptime > load.txt
for r in $(seq 1 "$rounds"); do
  for batch in 1 64; do
    for th in 1 2; do
      for v in "${variants[@]}"; do
        file=l300.onnx exe="$frugal"
        case "$v" in c8 | c32) file="l300_$v.onnx" ;; before32) file=l300_c32.onnx exe="$before" ;; esac
        "$exe" bench "$file" --backend cpu --threads "$th" --parallel-min-us 0 \
          --batch "$batch" --duration 0.3 --min-queries 16 --warmup 0.05 --profile \
          > "prof_b${batch}_t${th}_${v}_${r}.txt"
      done
    done
  done
done
uptime >> load.txt
python3 - "$rounds" > circulant_speed.md <<'PY'
import glob, re, statistics, sys
rows = {}
for f in glob.glob("prof_*.txt"):
    m = re.match(r"prof_b(\d+)_t(\d+)_(\w+)_(\d+)\.txt", f)
    batch, th, v = int(m.group(1)), int(m.group(2)), m.group(3)
    for line in open(f):
        t = re.search(r"summed over (\d+) timed inferences; node total ([\d.]+) ms", line)
        if t:
            rows.setdefault((batch, th, "(whole model)"), {}).setdefault(v, []).append(float(t.group(2)) / int(t.group(1)))
            continue
        c = line.split()
        if len(c) >= 8 and c[1] in ("Gemm", "MatMul", "BlockCirculant"):
            rows.setdefault((batch, th, c[0]), {}).setdefault(v, []).append(float(c[4]))
def cell(v):
    return "%.4f (%.4f-%.4f)" % (statistics.median(v), min(v), max(v)) if v else "-"
print("| batch | threads | layer | dense ms | b = 8 ms | b = 32 ms | b = 32 before ms |")
print("|---|---|---|---|---|---|---|")
for (batch, th, layer), v in sorted(rows.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2] != "(whole model)", kv[0][2])):
    print("| %d | %d | %s | %s | %s | %s | %s |" % (batch, th, layer, cell(v.get("dense")), cell(v.get("c8")), cell(v.get("c32")), cell(v.get("before32"))))
print("\nms per run: median (min-max) over %s alternated rounds. Load before and after:\n\n    %s" % (sys.argv[1], open("load.txt").read().strip().replace("\n", "\n    ")))
PY
cat circulant_speed.md
