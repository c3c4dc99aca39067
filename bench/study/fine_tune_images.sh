#!/usr/bin/env bash
# How many training images the study's fine-tuning needs after each compression
# (docs/sweep.md, "frugal study"): compress a trained model as the study does, fine-tune it
# as the study does on the first N training images, score it on all 10,000 test images.
# Prints one line per (method, N): method, images, top-1, wall and CPU seconds of the pass.
#   bash bench/study/fine_tune_images.sh build/frugal TRAINED.onnx OUT [N...]
# TRAINED.onnx: the study's trained model (its cache's trained/ folder, or
#   `frugal train resnet8_fmnist --data fashion-mnist:train --epochs 1 --batch 64 --seed 0
#    --threads 2 --quiet -o TRAINED.onnx`).
set -euo pipefail
frugal=$1 model=$2 out=$3
shift 3
sizes=("${@:-3000 6000 12000}")
read -r -a sizes <<<"${sizes[*]}"
mkdir -p "$out"
top1() { "$frugal" eval "$1" --data fashion-mnist:test --threads 2 | awk '/^top-1/ {print $2}'; }
# method label, compress options, extra fine-tuning options (as study.cpp builds them)
while IFS='|' read -r label options keep; do
  "$frugal" compress "$model" $options -o "$out/$label.onnx" >/dev/null
  echo "$label 0 $(top1 "$out/$label.onnx") - -"
  for n in "${sizes[@]}"; do
    /usr/bin/time -f "%e %U %S" -o "$out/time.txt" "$frugal" train "$out/$label.onnx" \
      -o "$out/$label-ft$n.onnx" --data fashion-mnist:train $keep --epochs 1 --lr 0.01 \
      --batch 64 --seed 0 --threads 2 --quiet --limit "$n" >/dev/null 2>&1
    read -r wall user sys <"$out/time.txt"
    echo "$label $n $(top1 "$out/$label-ft$n.onnx") $wall $(awk "BEGIN {print $user + $sys}")"
  done
done <<'METHODS'
prune50|--prune global:0.5 --exclude first|--prune keep
prune90|--prune global:0.9 --exclude first|--prune keep
lowrank-e95|--lowrank energy=0.95|
METHODS
