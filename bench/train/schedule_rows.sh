#!/usr/bin/env bash
# The precision-schedule rows of docs/training.md's low-precision tables, re-measured after
# the fix of issue 27 (a step's schedule position lies in [epoch, epoch + 1)): LeNet-5 with
# the im2col + sgemm kernels (--kernels gemm) that the tables were measured with.
#   bash bench/train/schedule_rows.sh build/frugal OUTDIR [short|full|all]
# short: first 10,000 images, 2 epochs, Adam lr 0.002 cosine ("Low-precision table (short runs)")
# full:  all 60,000 images, 4 epochs, the baseline's SGD recipe ("Low-precision table")
set -u
frugal="$1"; out="$2"; which="${3:-all}"
mkdir -p "$out"
declare -A sched=([piecewise]="0:e5m2,1:e4m3,2:bf16" [cyclic]="cyclic:e4m1..e4m5:cycles=3"
                  [adaptive]="adaptive:e4m1..e4m5")
run() {  # NAME TABLE ARGS...
  local name="$1" table="$2"; shift 2
  "$frugal" train lenet5 --data fashion-mnist --batch 64 --seed 0 --threads 1 --kernels gemm \
    --format E=e5m2,G=e5m2 --loss-scale dynamic --precision-schedule "${sched[$name]}" \
    -o "$out/${table}_$name.onnx" --log "$out/${table}_$name.csv" "$@" >"$out/${table}_$name.txt" 2>&1
  echo "$table $name rc=$? $(tail -n 2 "$out/${table}_$name.txt" | head -n 1)"
}
if [ "$which" != full ]; then
  for n in piecewise cyclic adaptive; do
    run "$n" short --limit 10000 --epochs 2 --optimizer adam --lr 0.002 --schedule-lr cosine
  done
fi
if [ "$which" != short ]; then
  for n in piecewise cyclic adaptive; do
    run "$n" full --limit 0 --epochs 4 --lr 0.05 --momentum 0.9 --weight-decay 0.0005 \
      --schedule-lr warmup:1,cosine
  done
fi
