#!/usr/bin/env bash
# Candidate default recipes of `frugal train` (docs/training.md, "Default recipe"): one epoch
# of all 60,000 Fashion-MNIST training images, test accuracy on the 10,000 test images, for
# each model with each recipe; seed 0, batch 64, one thread.
#   bash bench/train/default_recipe.sh build/frugal OUTDIR ["MODELS"] ["RECIPES"]
set -u
frugal="$1"; out="$2"
models="${3:-lenet5 resnet8_fmnist mobilenet_fmnist}"
recipes="${4:-old sgd_m adam sgd_m_cos}"
mkdir -p "$out"
declare -A recipe=(
  [old]="--optimizer sgd --lr 0.01 --momentum 0 --schedule-lr const"  # defaults before issue 26
  [sgd_m]="--optimizer sgd --lr 0.05 --momentum 0.9 --schedule-lr const"
  [sgd_m_cos]="--optimizer sgd --lr 0.05 --momentum 0.9 --schedule-lr cosine"  # the default
  [adam]="--optimizer adam --lr 0.002 --schedule-lr const"
)
for m in $models; do
  for r in $recipes; do
    # shellcheck disable=SC2086
    "$frugal" train "$m" --data fashion-mnist --epochs 1 --batch 64 --seed 0 --threads 1 \
      ${recipe[$r]} -o "$out/${m}_$r.onnx" --log "$out/${m}_$r.csv" -q >"$out/${m}_$r.txt" 2>&1
    echo "$m $r rc=$? $(tail -n 1 "$out/${m}_$r.csv")"
  done
done
