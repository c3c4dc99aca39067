#!/usr/bin/env bash
# HALP against fp32 SGD and plain 8-bit SGD (docs/training.md, "HALP"): training loss over
# all training samples (--full-loss) after every epoch; plain steps (momentum 0), constant
# learning rate, batch 64, seed 0, one thread.
#   logreg_fmnist: all 60,000 images, EPOCHS_LR (default 30) epochs, lr 0.1
#   lenet5:        the first 10,000 images, EPOCHS_LENET (default 3) epochs, lr 0.02
# 8-bit SGD keeps the weights themselves in fixed1.7 (8 bits, step 1/128, range [-1, 1))
# with stochastic rounding and no fp32 master copy; HALP keeps an 8-bit offset around an
# fp32 centre (--halp 8: one outer epoch per pass over the data, mu 1). The accelerator's
# arithmetic is binary32 in these runs: only the stored iterate is low precision.
#   bash bench/train/halp.sh build/frugal OUTDIR [EPOCHS_LR] [EPOCHS_LENET]
# RECIPES="halp8_lp" picks recipes (default "fp32 sgd8 halp8"); EPOCHS_LENET 0 skips LeNet-5.
# halp8_lp: HALP 8 with 8-bit arithmetic on the accelerator (e4m3 forward, e5m2 backward).
set -u
frugal="$1"; out="$2"; e_lr="${3:-30}"; e_lenet="${4:-3}"
mkdir -p "$out"
declare -A recipe=(
  [fp32]=""
  [sgd8]="--format W=fixed1.7,M=W --rounding W=stochastic"
  [halp8]="--halp 8"
  [halp8_lp]="--halp 8 --format W=e4m3,A=e4m3,E=e5m2,G=e5m2"
)
recipes="${RECIPES:-fp32 sgd8 halp8}"
run() {  # model limit epochs lr recipe
  local m="$1" limit="$2" epochs="$3" lr="$4" r="$5"
  # shellcheck disable=SC2086
  "$frugal" train "$m" --data fashion-mnist --limit "$limit" --epochs "$epochs" --batch 64 \
    --seed 0 --threads 1 --lr "$lr" --momentum 0 --schedule-lr const --full-loss \
    ${recipe[$r]} -o "$out/${m}_$r.onnx" >"$out/${m}_$r.txt" 2>&1
  local rc=$?
  printf '%s %s rc=%s load=%s full-loss by epoch:' "$m" "$r" "$rc" "$(cut -d' ' -f1 /proc/loadavg)"
  grep -o 'full-loss [0-9.]*' "$out/${m}_$r.txt" | awk '{printf " %.4f", $2}'
  printf '  test %s\n' "$(grep -o 'test [0-9.]*%' "$out/${m}_$r.txt" | tail -1)"
  grep '^halp' "$out/${m}_$r.txt"
}
for r in $recipes; do run logreg_fmnist 0 "$e_lr" 0.1 "$r"; done
if [ "$e_lenet" -gt 0 ]; then
  for r in $recipes; do run lenet5 10000 "$e_lenet" 0.02 "$r"; done
fi
