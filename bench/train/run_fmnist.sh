#!/usr/bin/env bash
# Fashion-MNIST training benchmark for docs/training.md: the fp32 LeNet-5 baseline, the
# speed comparison with PyTorch (same CPU, same run, same batch and threads), and the
# low-precision table. Long: run it in the background, niced.
#   bash bench/train/run_fmnist.sh build/frugal OUTDIR [ROW_EPOCHS] [ROW_LIMIT]
# Environment: SKIP_BASELINE=1 and SKIP_SPEED=1 skip parts 1 and 2; RATIO=1 adds part 2b;
# ROWS="fp32 bf16 ..." (ROWS=" ": none)
# runs only the named rows, in that order (default: all); SMALL_EPOCHS and SMALL_LIMIT
# (default 3 and 0) shorten the resnet8_fmnist rows.
set -u
frugal="$1"; out="$2"; row_epochs="${3:-5}"; row_limit="${4:-0}"
mkdir -p "$out"
here=$(cd "$(dirname "$0")" && pwd)

# 1. fp32 baseline on the full training set (60,000 images), one thread.
[ -n "${SKIP_BASELINE:-}" ] || /usr/bin/time -f "%e s wall" "$frugal" train lenet5 --data fashion-mnist \
  --epochs 15 --batch 64 --lr 0.05 --momentum 0.9 --weight-decay 0.0005 --schedule-lr warmup:1,cosine --seed 0 --threads 1 \
  -o "$out/lenet5_fp32.onnx" --log "$out/lenet5_fp32.csv" >"$out/lenet5_fp32.txt" 2>&1

# 2. Training speed, frugal then PyTorch, same data, batch 64, SGD momentum, 1 thread.
[ -n "${SKIP_SPEED:-}" ] || "$frugal" train lenet5 --limit 20000 --epochs 1 --batch 64 --lr 0.05 --momentum 0.9 --threads 1 \
  --json -o "$out/speed.onnx" >"$out/speed_frugal.json" 2>&1
if [ -z "${SKIP_SPEED:-}" ] && /usr/bin/python3 -c "import torch" 2>/dev/null; then
  /usr/bin/python3 "$here/torch_lenet.py" --limit 20000 --batch 64 --threads 1 >"$out/speed_torch.json" 2>&1
fi

# 2b. (RATIO=1) Emulated 8-bit (HFP8, stochastic) vs fp32 training time, back to back,
#     alternated three times: 10,000 images, 1 epoch, 1 thread; images/s in the JSON.
if [ -n "${RATIO:-}" ]; then
  for r in 1 2 3; do
    "$frugal" train lenet5 --limit 10000 --epochs 1 --batch 64 --lr 0.05 --momentum 0.9 --seed 0 \
      --threads 1 --json -o "$out/ratio.onnx" >"$out/ratio_fp32_$r.json" 2>/dev/null
    "$frugal" train lenet5 --limit 10000 --epochs 1 --batch 64 --lr 0.05 --momentum 0.9 --seed 0 \
      --threads 1 --json -o "$out/ratio.onnx" --format W=e4m3,A=e4m3,E=e5m2,G=e5m2 \
      --rounding W=stochastic,E=stochastic,G=stochastic,default=nearest --loss-scale dynamic \
      >"$out/ratio_hfp8_sr_$r.json" 2>/dev/null
  done
fi

# 3. Low-precision rows: LeNet-5, the baseline's recipe shortened to ROW_EPOCHS epochs
#    (ROW_LIMIT training images, 0: all).
declare -A recipe
order=()
def() { order+=("$1"); recipe[$1]="$2"; }
def fp32 ""
def bf16 "--format W=bf16,A=bf16,E=bf16,G=bf16"
def fp16_nols "--format W=fp16,A=fp16,E=fp16,G=fp16"
def fp16_ls "--format W=fp16,A=fp16,E=fp16,G=fp16 --loss-scale dynamic"
def hfp8_rne "--format W=e4m3,A=e4m3,E=e5m2,G=e5m2 --loss-scale dynamic"
def hfp8_sr "--format W=e4m3,A=e4m3,E=e5m2,G=e5m2 --rounding W=stochastic,E=stochastic,G=stochastic,default=nearest --loss-scale dynamic"
def e3m2_rne "--format W=e3m2,A=e3m2,E=e3m2,G=e3m2 --loss-scale 1024"
def e3m2_sr "--format W=e3m2,A=e3m2,E=e3m2,G=e3m2 --rounding default=stochastic --loss-scale 1024"
def fixed "--format W=fixed4.12,A=fixed8.8"
def nomaster_bf16_rne "--format W=bf16,M=W"
def nomaster_bf16_sr "--format W=bf16,M=W --rounding W=stochastic"
def sched_piecewise "--format E=e5m2,G=e5m2 --precision-schedule 0:e5m2,3:e4m3,8:bf16 --loss-scale dynamic"
def sched_cyclic "--format E=e5m2,G=e5m2 --precision-schedule cyclic:e4m1..e4m5:cycles=3 --loss-scale dynamic"
def sched_adaptive "--format E=e5m2,G=e5m2 --precision-schedule adaptive:e4m1..e4m5 --loss-scale dynamic"
# Accumulators (ACC) alone, every other class binary32: the GEMMs of Conv/Gemm forward and
# both backward products accumulate in the format (kernels/emu/emu_gemm).
def acc_fp16 "--format ACC=fp16"
def acc_fp16_chunk "--format ACC=fp16:chunk=32"
def acc_fp16_comp "--format ACC=fp16:comp"
def acc_bf16 "--format ACC=bf16"
def acc_bf16_chunk "--format ACC=bf16:chunk=32"
def acc_bf16_comp "--format ACC=bf16:comp"
# Narrow accumulators: where per-add accumulation fails and chunking repairs it; and the
# realistic 8-bit setup (HFP8 multiplies, fp16 chunked accumulation).
def acc_e8m4 "--format ACC=e8m4"
def acc_e8m4_chunk "--format ACC=e8m4:chunk=8"
def hfp8_sr_acc_fp16_chunk "--format W=e4m3,A=e4m3,E=e5m2,G=e5m2,ACC=fp16:chunk=32 --rounding W=stochastic,E=stochastic,G=stochastic,default=nearest --loss-scale dynamic"
# The small ResNet (SMALL_EPOCHS epochs, SMALL_LIMIT images).
def r8_fp32 ""
def r8_bf16 "--format W=bf16,A=bf16,E=bf16,G=bf16"
def r8_hfp8_sr "--format W=e4m3,A=e4m3,E=e5m2,G=e5m2 --rounding W=stochastic,E=stochastic,G=stochastic,default=nearest --loss-scale dynamic"

row() {
  local name="$1"; shift
  local model=lenet5 epochs="$row_epochs" limit="$row_limit"
  if [ "${name#r8_}" != "$name" ]; then
    model=resnet8_fmnist epochs="${SMALL_EPOCHS:-3}" limit="${SMALL_LIMIT:-0}"
  fi
  # shellcheck disable=SC2086
  "$frugal" train "$model" --data fashion-mnist --limit "$limit" --epochs "$epochs" --batch 64 --lr 0.05 --momentum 0.9 \
    --weight-decay 0.0005 --schedule-lr warmup:1,cosine --seed 0 --threads 1 -o "$out/row_$name.onnx" \
    --log "$out/row_$name.csv" ${recipe[$name]} >"$out/row_$name.txt" 2>&1
  echo "$name rc=$? $(tail -n 2 "$out/row_$name.txt" | head -n 1)"
}
for name in ${ROWS:-${order[@]}}; do
  [ -n "${recipe[$name]+set}" ] || { echo "unknown row $name" >&2; exit 1; }
  row "$name"
done
