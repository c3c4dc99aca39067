#!/usr/bin/env bash
# Binary and ternary LeNet-5 and resnet8_fmnist on Fashion-MNIST, without and with
# fine-tuning by the straight-through estimator (frugal train --binarize, train/
# binarize_train.h): top-1 (test split, TEST_LIMIT images; 0 = all 10,000) of fp32, binary
# weights, ternary weights and fully binary (weights and activations, packed popcount
# layers), each (a) binarized without fine-tuning (frugal compress --binarize SPEC) and (b)
# fine-tuned from the trained fp32 model for FT_EPOCHS (lr FT_LR, cosine) and then written
# by frugal compress --binarize SPEC from the shadow weights (the file frugal train writes as
# OUT.binarized.onnx); encoded size as frugal compress reports it; and latency at batch 1
# (cpu backend, 1 thread) of the packed fully binary model against fp32 and int8 (static,
# random calibration), alternated ROUNDS times (median [min-max] of the per-round p50s).
#   bash bench/compress/binary_train.sh build/frugal OUT
#   defaults: FT_EPOCHS=2 FT_LR=0.01 R8_EPOCHS=3 R8_LIMIT=0 R8_FT_EPOCHS=1 R8_FT_LIMIT=0
#             TEST_LIMIT=0 ROUNDS=5
# LeNet-5 fp32 is bench/compress/deep_compression.sh's (same command and seed; trained here
# when OUT lacks it). resnet8_fmnist fp32 is trained here (R8_EPOCHS of the default recipe,
# on the first R8_LIMIT training images when > 0); R8_FT_LIMIT > 0 fine-tunes it on the
# first N training images only. Writes
# OUT/binary_train.md (the table of docs/compression.md "Binary and ternary").
set -euo pipefail
frugal="$(realpath "$1")"; out="$2"; mkdir -p "$out"; cd "$out"
export OMP_WAIT_POLICY=passive
ft_epochs="${FT_EPOCHS:-2}"; ft_lr="${FT_LR:-0.01}"; r8_epochs="${R8_EPOCHS:-3}"; r8_limit="${R8_LIMIT:-0}"
r8_ft_epochs="${R8_FT_EPOCHS:-1}"; r8_ft_limit="${R8_FT_LIMIT:-0}"
test_limit="${TEST_LIMIT:-0}"; rounds="${ROUNDS:-5}"
train() { "$frugal" train "$@" --data fashion-mnist --batch 64 --momentum 0.9 --threads 1 -q; }
# compress --binarize SPEC of MODEL with its accuracy -> JSON file
binarize() { "$frugal" compress "$1" --binarize "$2" --data fashion-mnist --limit "$test_limit" -o "$3.onnx" --json > "$3.json"; }
field() { python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1"; }
latency() {  # MODEL [extra bench options] -> p50 ms
  "$frugal" bench "$@" --backend cpu,ref --threads 1 --batch 1 --duration 1 --min-queries 16 --json 2>/dev/null |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["results"]["latency"]["p50_ms"])'
}

[ -f l5.onnx ] || train lenet5 --epochs 10 --lr 0.05 --schedule-lr cosine --seed 1 -o l5.onnx
[ -f r8.onnx ] || train resnet8_fmnist --epochs "$r8_epochs" --limit "$r8_limit" --seed 1 -o r8.onnx
specs="binary ternary binary:acts:packed"
{
  echo "| model | variant | top-1 no fine-tuning (%) | top-1 STE fine-tuned (%) | encoded B | vs fp32 |"
  echo "|---|---|---|---|---|---|"
} > binary_train.md
for net in l5 r8; do
  limit=0; epochs="$ft_epochs"
  if [ "$net" = r8 ]; then limit="$r8_ft_limit"; epochs="$r8_ft_epochs"; fi
  # The fp32 model's encoded size (all initializers as float32; Huffman finds nothing).
  [ -f "$net.json" ] || "$frugal" compress "$net.onnx" --encode -o "$net.fgz" --json > "$net.json"
  raw=$(field "$net.json" 'j["encoded"]["encoded_bytes"]')
  for spec in $specs; do
    tag="${net}_${spec//:/_}"
    # Each step is skipped when its output exists (a rerun only rebuilds the tables).
    [ -f "$tag.json" ] || binarize "$net.onnx" "$spec" "$tag"
    [ -f "${tag}_ft.onnx" ] || train "$net.onnx" --binarize "$spec" --epochs "$epochs" \
      --lr "$ft_lr" --schedule-lr cosine --seed 3 --limit "$limit" -o "${tag}_ft.onnx"
    [ -f "${tag}_ftb.json" ] || binarize "${tag}_ft.onnx" "$spec" "${tag}_ftb"
    enc=$(field "$tag.json" 'j["encoded"]["encoded_bytes"]')
    [ "$spec" = binary ] && printf '| %s | fp32 | %.2f | - | %s | 1x |\n' "$net" \
      "$(field "$tag.json" '100 * j["accuracy"]["before"]')" "$raw" >> binary_train.md
    printf '| %s | %s | %.2f | %.2f | %s | %.1fx smaller |\n' "$net" "$spec" \
      "$(field "$tag.json" '100 * j["accuracy"]["after"]')" \
      "$(field "${tag}_ftb.json" '100 * j["accuracy"]["after"]')" "$enc" \
      "$(python3 -c "print($raw / $enc)")" >> binary_train.md
  done
done
# Latency at batch 1: fp32, int8, packed fully binary (fine-tuned), alternated.
echo >> binary_train.md
echo "| model | fp32 p50 ms | int8 p50 ms | packed binary p50 ms |" >> binary_train.md
echo "|---|---|---|---|" >> binary_train.md
for net in l5 r8; do
  : > "$net.lat"
  for r in $(seq 1 "$rounds"); do
    echo "$(latency "$net.onnx") $(latency "$net.onnx" --precision int8 --calibration random:4) $(latency "${net}_binary_acts_packed_ftb.onnx")" >> "$net.lat"
  done
  python3 - "$net" "$net.lat" >> binary_train.md <<'PY'
import statistics, sys
cols = list(zip(*[map(float, l.split()) for l in open(sys.argv[2]) if l.strip()]))
print("| %s | %s |" % (sys.argv[1], " | ".join("%.4f [%.4f-%.4f]" % (statistics.median(c), min(c), max(c)) for c in cols)))
PY
done
echo "machine: $(nproc) cores, $(uptime)" >> binary_train.md
cat binary_train.md
