#!/usr/bin/env bash
# Training kernels A/B: `--kernels gemm` (im2col + oneDNN sgemm) against `--kernels onednn`
# (oneDNN's convolution/pooling primitives, in the blocked layouts oneDNN picks) and
# `onednn-plain` (the same primitives on plain NCHW: FRUGAL_TRAIN_ONEDNN_LAYOUT=plain),
# alternated in the same run so that a shared machine's load falls on all alike. For each
# model and thread count, ROUNDS rounds of
#   frugal train MODEL --limit N --epochs 1 --batch 64 --lr 0.05 --momentum 0.9 --seed 0 \
#     --threads T --json --kernels K
# one run per variant, the order rotating from round to round; then a table of the
# training images/s (the epoch's training throughput in --json): median and min-max per
# variant, and the median over rounds of each variant's ratio to gemm in the same round.
#
# Usage: bash bench/train/kernels_ab.sh FRUGAL OUT [ROUNDS]
# Environment: MODELS (default "lenet5 resnet8_fmnist"), THREADS (default "1 2"),
# VARIANTS (default "gemm onednn onednn-plain"; gemm first: the ratios' base),
# LIMIT_lenet5 (default 10000), LIMIT_resnet8_fmnist (default 5000).
set -u
frugal="$1"; out="$2"; rounds="${3:-3}"
mkdir -p "$out"
models="${MODELS:-lenet5 resnet8_fmnist}"
threads="${THREADS:-1 2}"
read -r -a variants <<<"${VARIANTS:-gemm onednn onednn-plain}"
nv=${#variants[@]}
for m in $models; do
  limit_var="LIMIT_$m"; limit="${!limit_var:-}"
  [ -n "$limit" ] || { [ "$m" = lenet5 ] && limit=10000 || limit=5000; }
  for t in $threads; do
    for r in $(seq 1 "$rounds"); do
      for i in $(seq 0 $((nv - 1))); do
        v="${variants[$(((i + r - 1) % nv))]}"
        layout=blocked; kernels="$v"
        [ "$v" = onednn-plain ] && { layout=plain; kernels=onednn; }
        FRUGAL_TRAIN_ONEDNN_LAYOUT=$layout "$frugal" train "$m" --limit "$limit" --epochs 1 \
          --batch 64 --lr 0.05 --momentum 0.9 --seed 0 --threads "$t" --json --kernels "$kernels" \
          -o "$out/ab.onnx" >"$out/${m}_t${t}_${v}_$r.json" 2>/dev/null ||
          echo "failed: $m t=$t $v round $r" >&2
      done
    done
  done
done
/usr/bin/python3 - "$out" "$rounds" "$models" "$threads" "${variants[@]}" <<'EOF'
import json, statistics, sys
out, rounds, models, threads = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(), sys.argv[4].split()
variants = sys.argv[5:]
def run(m, t, v, r):
    with open(f"{out}/{m}_t{t}_{v}_{r}.json") as f:
        e = json.load(f)["epochs"][0]
    return e["images_per_second"], e["train_loss"]
head = " | ".join(f"{v} images/s median (min-max)" for v in variants)
ratios = " | ".join(f"{v} / {variants[0]}" for v in variants[1:])
print(f"| model | threads | {head} | {ratios} | train loss ({', '.join(variants)}) |")
print("| --- | --- |" + " --- |" * (2 * len(variants)))
for m in models:
    for t in threads:
        res = {v: [run(m, t, v, r) for r in range(1, rounds + 1)] for v in variants}
        ips = {v: [x[0] for x in res[v]] for v in variants}
        cells = [f"{statistics.median(ips[v]):,.0f} ({min(ips[v]):,.0f}-{max(ips[v]):,.0f})"
                 for v in variants]
        rs = [f"{statistics.median(b / a for a, b in zip(ips[variants[0]], ips[v])):.2f}x"
              for v in variants[1:]]
        losses = ", ".join(f"{res[v][0][1]:.4f}" for v in variants)
        print(f"| {m} | {t} | {' | '.join(cells)} | {' | '.join(rs)} | {losses} |")
EOF
