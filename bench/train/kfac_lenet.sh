#!/usr/bin/env bash
# K-FAC against SGD with momentum and Adam (docs/training.md, "K-FAC"): LeNet-5 on the
# first LIMIT Fashion-MNIST training images (default 10,000; one "epoch" is LIMIT/64
# iterations), test accuracy on the 10,000 test images after every epoch, seed 0, batch
# 64, one thread, cosine schedule over EPOCHS (default 3). Prints, per recipe, the first
# epoch whose test accuracy reaches TARGET (default 0.80), the iterations and the training
# seconds up to it (images / images-per-second of each epoch: the test passes excluded),
# the training seconds per iteration of the first epoch, the last test accuracy, and the
# 1-minute load average when the run ended (a shared machine).
#   bash bench/train/kfac_lenet.sh build/frugal OUTDIR [TARGET] [EPOCHS] [LIMIT] ["RECIPES"]
# MODEL=resnet8_fmnist in the environment runs another zoo model with the same recipes.
set -u
frugal="$1"; out="$2"; target="${3:-0.80}"; epochs="${4:-3}"; limit="${5:-10000}"
recipes="${6:-sgd_m adam kfac kfac_adapt kfac_f_bf16 kfac_fi_bf16 kfac_fp16 kfac_f_e4m3}"
mkdir -p "$out"
# K-FAC: the best of three settings tried on one epoch (lr 0.05/0.02/0.1 with damping
# 0.01/0.01/0.03, kl-clip 0.01): lr 0.1, damping 0.03 fixed, kl-clip 0.01.
k0="--optimizer kfac --lr 0.1 --kfac-damping 0.03 --kfac-kl-clip 0.01"
k="$k0 --kfac-adapt-every 0"
declare -A recipe=(
  [sgd_m]="--optimizer sgd --lr 0.05 --momentum 0.9"
  [adam]="--optimizer adam --lr 0.002"
  [kfac]="$k"
  [kfac_adapt]="$k0 --kfac-adapt-every 5"
  [kfac_f_bf16]="$k --kfac-format factors=bf16"
  [kfac_fi_bf16]="$k --kfac-format factors=bf16,inverse=bf16"
  [kfac_fp16]="$k --kfac-format stats=fp16,factors=fp16,inverse=fp16,update=fp16"
  [kfac_f_e4m3]="$k --kfac-format factors=e4m3"
  [kfac_i_e4m3]="$k --kfac-format inverse=e4m3"
  [kfac_u_e4m3]="$k --kfac-format update=e4m3"
  [kfac_s_e4m3]="$k --kfac-format stats=e4m3"
)
iters=$(( (limit + 63) / 64 ))
echo "recipe epochs_to_target iterations_to_target seconds_to_target s_per_iteration final_test load"
for r in $recipes; do
  # shellcheck disable=SC2086
  "$frugal" train "${MODEL:-lenet5}" --data fashion-mnist --limit "$limit" --epochs "$epochs" --batch 64 \
    --seed 0 --threads 1 ${recipe[$r]} -o "$out/$r.onnx" --log "$out/$r.csv" -q \
    >"$out/$r.txt" 2>&1
  rc=$?
  load=$(cut -d' ' -f1 /proc/loadavg)
  # CSV: epoch,train_loss,train_accuracy,val_accuracy,test_accuracy,seconds,images_per_second,...
  awk -F, -v t="$target" -v it="$iters" -v r="$r" -v rc="$rc" -v load="$load" -v lim="$limit" '
    NR == 1 { next }
    { secs += lim / $7; last = $5 }
    NR == 2 { spi = (lim / $7) / it }
    !hit && $5 >= t { hit = $1; hs = secs }
    END {
      if (rc != 0) { print r, "failed(rc=" rc ")", "-", "-", "-", "-", load; exit }
      printf "%s %s %s %s %.4f %.4f %s\n", r, hit ? hit : "not-reached", hit ? hit * it : "-",
             hit ? sprintf("%.1f", hs) : "-", spi, last, load }' "$out/$r.csv"
done
