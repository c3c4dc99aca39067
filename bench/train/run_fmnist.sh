#!/usr/bin/env bash
# Fashion-MNIST training benchmark for docs/training.md: the fp32 LeNet-5 baseline, the
# speed comparison with PyTorch (same CPU, same run, same batch and threads), and the
# low-precision table. Long: run it in the background, niced.
#   bash bench/train/run_fmnist.sh build/frugal OUTDIR [ROW_EPOCHS] [ROW_LIMIT]
set -u
frugal="$1"; out="$2"; row_epochs="${3:-5}"; row_limit="${4:-0}"
mkdir -p "$out"
here=$(cd "$(dirname "$0")" && pwd)

# 1. fp32 baseline on the full training set (60,000 images), one thread.
[ -n "${SKIP_BASELINE:-}" ] || /usr/bin/time -f "%e s wall" "$frugal" train lenet5 --data fashion-mnist \
  --epochs 15 --batch 64 --lr 0.05 --momentum 0.9 --weight-decay 0.0005 --schedule-lr warmup:1,cosine --seed 0 --threads 1 \
  -o "$out/lenet5_fp32.onnx" --log "$out/lenet5_fp32.csv" >"$out/lenet5_fp32.txt" 2>&1

# 2. Training speed, frugal then PyTorch, same data, batch 64, SGD momentum, 1 thread.
"$frugal" train lenet5 --limit 20000 --epochs 1 --batch 64 --lr 0.05 --momentum 0.9 --threads 1 \
  --json -o "$out/speed.onnx" >"$out/speed_frugal.json" 2>&1
if /usr/bin/python3 -c "import torch" 2>/dev/null; then
  /usr/bin/python3 "$here/torch_lenet.py" --limit 20000 --batch 64 --threads 1 >"$out/speed_torch.json" 2>&1
fi

# 3. Low-precision rows: LeNet-5, the baseline's recipe shortened to ROW_EPOCHS epochs
#    (ROW_LIMIT training images, 0: all).
row() {
  local name="$1"; shift
  "$frugal" train lenet5 --limit "$row_limit" --epochs "$row_epochs" --batch 64 --lr 0.05 --momentum 0.9 \
    --weight-decay 0.0005 --schedule-lr warmup:1,cosine --seed 0 --threads 1 -o "$out/row_$name.onnx" \
    --log "$out/row_$name.csv" "$@" >"$out/row_$name.txt" 2>&1
  echo "$name rc=$? $(tail -n 2 "$out/row_$name.txt" | head -n 1)"
}
row fp32
row bf16 --format W=bf16,A=bf16,E=bf16,G=bf16
row fp16_nols --format W=fp16,A=fp16,E=fp16,G=fp16
row fp16_ls --format W=fp16,A=fp16,E=fp16,G=fp16 --loss-scale dynamic
row hfp8_rne --format W=e4m3,A=e4m3,E=e5m2,G=e5m2 --loss-scale dynamic
row hfp8_sr --format W=e4m3,A=e4m3,E=e5m2,G=e5m2 --rounding W=stochastic,E=stochastic,G=stochastic,default=nearest --loss-scale dynamic
row e3m2_rne --format W=e3m2,A=e3m2,E=e3m2,G=e3m2 --loss-scale 1024
row e3m2_sr --format W=e3m2,A=e3m2,E=e3m2,G=e3m2 --rounding default=stochastic --loss-scale 1024
row fixed --format W=fixed4.12,A=fixed8.8
row nomaster_bf16_rne --format W=bf16,M=W
row nomaster_bf16_sr --format W=bf16,M=W --rounding W=stochastic
row sched_piecewise --format E=e5m2,G=e5m2 --precision-schedule 0:e5m2,1:e4m3,2:bf16 --loss-scale dynamic
row sched_cyclic --format E=e5m2,G=e5m2 --precision-schedule cyclic:e4m1..e4m5:cycles=3 --loss-scale dynamic
row sched_adaptive --format E=e5m2,G=e5m2 --precision-schedule adaptive:e4m1..e4m5 --loss-scale dynamic
