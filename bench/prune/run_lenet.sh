#!/usr/bin/env bash
# LeNet-5 on Fashion-MNIST: accuracy at 50/75/90/95% sparsity for one-shot pruning
# (no fine-tuning), one-shot + 3 epochs of fine-tuning with the zeros kept, and gradual
# cubic pruning over the same 3 epochs; then the per-layer sensitivity table.
# Usage: bench/prune/run_lenet.sh PATH/TO/frugal OUTDIR [DENSE.onnx]
# Without DENSE.onnx the dense model is trained first (15 epochs, docs/training.md recipe).
# Results for docs/pruning.md: OUTDIR/summary.txt.
set -eu
frugal="$1"; out="$2"; dense="${3:-$out/lenet5_dense.onnx}"
mkdir -p "$out"
export OMP_WAIT_POLICY=passive
if [ ! -f "$dense" ]; then
  "$frugal" train lenet5 --data fashion-mnist --epochs 15 --batch 64 --lr 0.05 --momentum 0.9 \
    --weight-decay 0.0005 --schedule-lr warmup:1,cosine --seed 0 --threads 1 -o "$dense" >"$out/dense_train.txt" 2>&1
fi
acc() { "$frugal" eval "$1" --data fashion-mnist:test --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["results"]["accuracy"]["top1"])'; }
# Fine-tuning recipe, the same for both: 3 epochs, SGD momentum 0.9, lr 0.01 cosine, wd 5e-4.
ft="--data fashion-mnist --epochs 3 --batch 64 --lr 0.01 --momentum 0.9 --weight-decay 0.0005 --schedule-lr cosine --seed 1 --threads 1 -q"
echo "dense $(acc "$dense")" | tee "$out/summary.txt"
for s in 0.5 0.75 0.9 0.95; do
  # One-shot, no fine-tuning: layer-wise (same sparsity per layer) and global (one threshold).
  "$frugal" compress "$dense" --prune "$s" -o "$out/oneshot_layer_$s.onnx" >"$out/oneshot_layer_$s.txt"
  "$frugal" compress "$dense" --prune "global:$s" -o "$out/oneshot_global_$s.onnx" >"$out/oneshot_global_$s.txt"
  # One-shot (global) + fine-tuning with the zeros kept.
  "$frugal" train "$out/oneshot_global_$s.onnx" $ft --prune keep -o "$out/oneshot_ft_$s.onnx" >"$out/oneshot_ft_$s.txt" 2>&1
  # Gradual: cubic from 0 to s over the first 2 epochs (mask update every 50 steps), then 1 epoch at s.
  "$frugal" train "$dense" $ft --prune "global:$s:schedule=cubic,start=0,end=2,every=50" -o "$out/gradual_$s.onnx" >"$out/gradual_$s.txt" 2>&1
  echo "sparsity $s oneshot_layer $(acc "$out/oneshot_layer_$s.onnx") oneshot_global $(acc "$out/oneshot_global_$s.onnx") oneshot_ft $(acc "$out/oneshot_ft_$s.onnx") gradual $(acc "$out/gradual_$s.onnx")" | tee -a "$out/summary.txt"
done
# Control: the same 3 epochs of fine-tuning without pruning.
"$frugal" train "$dense" $ft -o "$out/dense_ft.onnx" >"$out/dense_ft.txt" 2>&1
echo "dense_ft $(acc "$out/dense_ft.onnx")" | tee -a "$out/summary.txt"
"$frugal" compress "$dense" --prune global:0.9 -o "$out/report_global_0.9.onnx" >"$out/report_global_0.9.txt"
# N:M 2:4 (fc1, fc2, fc3; conv1 and conv2 have 1 and 6 input channels: left dense), one-shot
# and with the same 3 epochs of fine-tuning, the 2:4 pattern kept by --prune nm:2:4.
"$frugal" compress "$dense" --prune nm:2:4 -o "$out/nm24.onnx" >"$out/nm24.txt"
"$frugal" train "$out/nm24.onnx" $ft --prune nm:2:4 -o "$out/nm24_ft.onnx" >"$out/nm24_ft.txt" 2>&1
echo "nm:2:4 oneshot $(acc "$out/nm24.onnx") ft $(acc "$out/nm24_ft.onnx")" | tee -a "$out/summary.txt"
"$frugal" compress "$dense" --sensitivity --data fashion-mnist:test >"$out/sensitivity.txt" 2>/dev/null
