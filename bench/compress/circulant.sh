#!/usr/bin/env bash
# Block-circulant layers (CirCNN; frugal compress --circulant, frugal train --circulant) on
# frugal-trained LeNet-300-100 and the fully-connected part of LeNet-5 (its convolutions are
# 5x5 and stay dense) on Fashion-MNIST, at block sizes 8, 32 and 128 (layers padded to
# multiples of b; the 10-output last layer kept dense): FC weights, top-1 of the projection,
# after fine-tuning the rescaled projection (FT_EPOCHS, lr 0.01, cosine) and trained from scratch with
# --circulant (SCRATCH_EPOCHS of the dense recipe), and measured latency (cpu backend, 1 thread; the
# FFTW kernel, and frugal's own FFT at b=32) at batch 1 and 64 against the dense model, which
# is timed before and after the circulant ones.
#   bash bench/compress/circulant.sh build/frugal OUT   (SCRATCH_EPOCHS=12 FT_EPOCHS=1 by default)
# The dense models are those of bench/compress/deep_compression.sh (same commands and seeds;
# trained here when OUT lacks them). Writes OUT/circulant.md.
set -euo pipefail
frugal="$(realpath "$1")"; out="$2"; mkdir -p "$out"; cd "$out"
export OMP_WAIT_POLICY=passive
epochs="${SCRATCH_EPOCHS:-12}"; ft_epochs="${FT_EPOCHS:-1}"; blocks="${BLOCKS:-8 32 128}"
top1() { "$frugal" eval "$1" --data fashion-mnist 2>/dev/null | awk '/^top-1/ {printf "%.2f", 100 * $2}'; }
train() { "$frugal" train "$@" --data fashion-mnist --batch 64 --momentum 0.9 --threads 1 -q; }
latency() {  # MODEL BATCH -> "p50 [min-max]" in ms
  "$frugal" bench "$1" --backend cpu --threads 1 --batch "$2" --duration 2 --json 2>/dev/null |
    python3 -c 'import json,sys; l=json.load(sys.stdin)["results"]["latency"]; print("%.4f [%.4f-%.4f]" % (l["p50_ms"], l["min_ms"], l["max_ms"]))'
}
json() { python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1"; }

[ -f l300.onnx ] || train lenet300_100 --epochs 12 --lr 0.05 --schedule-lr cosine --seed 1 -o l300.onnx
[ -f l5.onnx ] || train lenet5 --epochs 10 --lr 0.05 --schedule-lr cosine --seed 1 -o l5.onnx
declare -A zoo=([l300]=lenet300_100 [l5]=lenet5)

{
  echo "| net | b | FC weights | top-1 projected (%) | :rescale fine-tuned (%) | from scratch (%) | batch 1 p50 [min-max] (ms) | batch 64 p50 [min-max] (ms) |"
  echo "|---|---|---|---|---|---|---|---|"
} > circulant.md
for net in l300 l5; do
  for b in $blocks; do
    m="${net}_c$b"
    "$frugal" compress "$net.onnx" --circulant "$b:pad" --exclude last -o "$m.onnx" --json > "$m.json"
    # Fine-tuned from the projection rescaled to each layer's spread (:rescale): the plain
    # projection of a trained layer keeps too little of it for the gradients to recover.
    "$frugal" compress "$net.onnx" --circulant "$b:pad:rescale" --exclude last -o "${m}r.onnx" > /dev/null
    train "${m}r.onnx" --epochs "$ft_epochs" --lr 0.01 --schedule-lr cosine --seed 3 -o "${m}_ft.onnx"
    train "${zoo[$net]}" --circulant "$b:pad" --circulant-exclude last --epochs "$epochs" --lr 0.05 \
      --schedule-lr cosine --seed 1 -o "${m}_scratch.onnx"
  done
  "$frugal" compress "$net.onnx" --circulant "32:pad:fft=own" --exclude last -o "${net}_c32own.onnx" > /dev/null
  for bs in 1 64; do  # A/B: dense before and after the circulant models
    latency "$net.onnx" "$bs" > "$net.b$bs.lat"
    for b in $blocks; do latency "${net}_c${b}_ft.onnx" "$bs" > "${net}_c$b.b$bs.lat"; done
    latency "${net}_c32own.onnx" "$bs" > "${net}_c32own.b$bs.lat"
    latency "$net.onnx" "$bs" >> "$net.b$bs.lat"
  done
  first="${net}_c${blocks%% *}.json"
  printf '| %s | dense | %s | %s | - | - | %s | %s |\n' "$net" \
    "$(json "$first" 'j["circulant"]["params_before"]')" "$(top1 "$net.onnx")" \
    "$(paste -sd/ "$net.b1.lat")" "$(paste -sd/ "$net.b64.lat")" >> circulant.md
  for b in $blocks; do
    m="${net}_c$b"
    printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$net" "$b" \
      "$(json "$m.json" 'j["circulant"]["params_after"]')" "$(top1 "$m.onnx")" \
      "$(top1 "${m}_ft.onnx")" "$(top1 "${m}_scratch.onnx")" \
      "$(cat "$m.b1.lat")" "$(cat "$m.b64.lat")" >> circulant.md
  done
  printf '| %s | 32, own FFT | | | | | %s | %s |\n' "$net" \
    "$(cat "${net}_c32own.b1.lat")" "$(cat "${net}_c32own.b64.lat")" >> circulant.md
done
echo "machine: $(nproc) cores, $(uptime)" >> circulant.md
cat circulant.md
