#!/usr/bin/env bash
# Structured 50% channel pruning (compress/structured.h): resnet8_fmnist trained on
# Fashion-MNIST, pruned by BatchNorm scale, fine-tuned; accuracy by frugal eval and latency
# of dense vs pruned by frugal bench (cpu backend, 1 thread, A and B alternated ROUNDS
# times); the same latency ratio for resnet18 (random weights, 1x3x224x224).
# Usage: bench/prune/run_structured.sh PATH/TO/frugal OUTDIR [ROUNDS] [FT_EPOCHS]
set -eu
frugal="$1"; out="$2"; rounds="${3:-5}"; ft_epochs="${4:-3}"
mkdir -p "$out"
export OMP_WAIT_POLICY=passive
# Short training budget (the machine is shared): 20,000 training images, 2 epochs.
tr="--data fashion-mnist --limit 20000 --batch 64 --optimizer adamw --weight-decay 0.05 --schedule-lr cosine --seed 0 --threads 1 -q"
[ -f "$out/r8.onnx" ] || "$frugal" train resnet8_fmnist $tr --epochs 2 --lr 0.002 -o "$out/r8.onnx" >"$out/r8_train.txt" 2>&1
"$frugal" compress "$out/r8.onnx" --prune channels:0.5:bn -o "$out/r8_c50.onnx" >"$out/r8_c50.txt"
"$frugal" train "$out/r8_c50.onnx" $tr --epochs "$ft_epochs" --lr 0.001 -o "$out/r8_c50_ft.onnx" >"$out/r8_c50_ft_train.txt" 2>&1
"$frugal" train "$out/r8.onnx" $tr --epochs "$ft_epochs" --lr 0.001 -o "$out/r8_ft.onnx" >"$out/r8_ft_train.txt" 2>&1
acc() { "$frugal" eval "$1" --data fashion-mnist:test --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["results"]["accuracy"]["top1"])'; }
{
  echo "r8 dense $(acc "$out/r8.onnx")"
  echo "r8 dense+${ft_epochs}ep $(acc "$out/r8_ft.onnx")"
  echo "r8 c50 no-ft $(acc "$out/r8_c50.onnx")"
  echo "r8 c50+${ft_epochs}ep $(acc "$out/r8_c50_ft.onnx")"
} | tee "$out/summary.txt"
"$frugal" zoo resnet18 -o "$out/r18.onnx" >/dev/null
"$frugal" compress "$out/r18.onnx" --prune channels:0.5:l1 -o "$out/r18_c50.onnx" >"$out/r18_c50.txt"
p50() { "$frugal" bench "$1" --backend cpu,ref --threads 1 --duration "$2" --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["results"]["latency"]["p50_ms"])'; }
for i in $(seq "$rounds"); do
  echo "round $i r8 $(p50 "$out/r8.onnx" 2) r8_c50 $(p50 "$out/r8_c50_ft.onnx" 2) r18 $(p50 "$out/r18.onnx" 3) r18_c50 $(p50 "$out/r18_c50.onnx" 3)" | tee -a "$out/latency.txt"
done
