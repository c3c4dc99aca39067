#!/usr/bin/env bash
# Prune, fine-tune, then quantize (Deep Compression's order) and accuracy-driven mixed
# precision, all through the frugal CLI, on LeNet-5 trained by frugal on Fashion-MNIST.
#   bash bench/quant/deep_compression.sh build/frugal OUT
# Writes OUT/*.onnx and OUT/*.txt|json (the printed reports); docs/quantization.md quotes them.
set -euo pipefail
frugal="$(realpath "$1")"; out="$2"; mkdir -p "$out"
export OMP_WAIT_POLICY=passive
[ -f "$out/lenet5.onnx" ] || "$frugal" train lenet5 --data fashion-mnist --epochs 15 --batch 64 \
  --lr 0.05 --momentum 0.9 --weight-decay 0.0005 --schedule-lr warmup:1,cosine --seed 0 \
  --threads 1 -o "$out/lenet5.onnx" | tail -2
# 1. prune + quantize in one command (no fine-tuning in between)
"$frugal" compress "$out/lenet5.onnx" --prune global:0.9 --quant int8 --data fashion-mnist \
  --backend cpu,ref -o "$out/g90_int8_noft.onnx" > "$out/g90_int8_noft.txt"
# 2. prune, fine-tune 3 epochs with the zeros kept, then quantize
"$frugal" compress "$out/lenet5.onnx" --prune global:0.9 -o "$out/g90.onnx" > "$out/g90.txt"
"$frugal" train "$out/g90.onnx" --prune keep --data fashion-mnist --epochs 3 --batch 64 --lr 0.01 \
  --momentum 0.9 --weight-decay 0.0005 --schedule-lr cosine --seed 1 --threads 1 \
  -o "$out/g90_ft.onnx" | tail -2
"$frugal" compress "$out/g90_ft.onnx" --quant int8 --data fashion-mnist --backend cpu,ref \
  -o "$out/g90_ft_int8.onnx" > "$out/g90_ft_int8.txt"
# 3. accuracy-driven mixed precision on the dense model, batch 64, 1 thread
"$frugal" compress "$out/lenet5.onnx" --quant int8 --data fashion-mnist --max-drop 0.5 \
  --backend cpu,ref --batch 64 --threads 1 -o "$out/mp.onnx" > "$out/mp.txt"
for f in g90_int8_noft g90_ft_int8 mp; do
  echo "== $f"; grep -E "accuracy|fp32  |fake-quant|true int8|total weight|chosen" "$out/$f.txt" || true
done
