#!/usr/bin/env bash
# Deep Compression (Han et al., ICLR 2016) reproduced with frugal on Fashion-MNIST:
# train, prune + fine-tune, cluster (k-means weight sharing), fine-tune the centroids,
# Huffman-encode into the .fgz container and decode it back bit-exactly; accuracy and
# encoded size after each stage, for LeNet-300-100 and LeNet-5.
#   bash bench/compress/deep_compression.sh build/frugal OUT [SEED...]
# Writes OUT/<net>_*.onnx|.fgz and OUT/table.md (the stage table docs/compression.md quotes).
# With SEEDs, also reruns LeNet-5's pruning, clustering and centroid fine-tuning from the same
# trained model with each seed as the pruning fine-tuning's --seed, and writes OUT/seeds.md: each
# seed's top-1 after every stage, drop and ratio, then mean, min and max over the seeds.
set -euo pipefail
frugal="$(realpath "$1")"; out="$2"; shift 2; seeds=("$@"); mkdir -p "$out"; cd "$out"
export OMP_WAIT_POLICY=passive
top1() { "$frugal" eval "$1" --data fashion-mnist 2>/dev/null | awk '/^top-1/ {print 100 * $2}'; }
encoded() {  # float32 bytes, encoded bytes, without Huffman, .fgz file bytes
  "$frugal" compress "$1" --encode -o "${1%.onnx}.stage.fgz" --json 2>/dev/null |
    python3 -c 'import json,sys; j=json.load(sys.stdin); e=j["encoded"]; print(e["raw_bytes"], e["encoded_bytes"], e["without_huffman_bytes"], j["fgz_bytes"])'
}
row() {  # NET STAGE MODEL
  read -r raw enc fixed file < <(encoded "$3")
  printf '| %s | %s | %s | %s | %s | %s | %.1fx | %.1fx |\n' "$1" "$2" "$(top1 "$3")" "$raw" "$enc" "$file" \
    "$(echo "$raw / $enc" | bc -l)" "$(echo "$raw / $fixed" | bc -l)" >> table.md
}
train() { "$frugal" train "$@" --data fashion-mnist --batch 64 --momentum 0.9 --threads 1 -q; }

# LeNet-300-100: Han et al. keep 8% / 9% / 26% of fc1 / fc2 / fc3, 6-bit weights, 5-bit index.
[ -f l300.onnx ] || train lenet300_100 --epochs 12 --lr 0.05 --schedule-lr cosine --seed 1 -o l300.onnx
[ -f l300_p.onnx ] || train l300.onnx --epochs 10 --lr 0.01 --schedule-lr cosine --seed 2 \
  --prune fc1=0.93,fc2=0.91,fc3=0.75:schedule=cubic,start=0,end=4 -o l300_p.onnx
"$frugal" compress l300_p.onnx --cluster 5 -o l300_pc.onnx > l300_pc.txt 2>&1
train l300_pc.onnx --epochs 1 --lr 0.0001 --cluster keep --seed 3 -o l300_pcf.onnx
# LeNet-5: Han et al. keep 66% / 12% / 8% / 19% of conv1 / conv2 / fc1 / fc2. Our densities
# follow the per-layer sensitivity sweep (l5_sensitivity.txt): the convolutions lose accuracy
# first, fc1 and fc2 last, so we keep more of conv1 / conv2 (75% / 40%) and less of fc1 / fc2.
[ -f l5.onnx ] || train lenet5 --epochs 10 --lr 0.05 --schedule-lr cosine --seed 1 -o l5.onnx
"$frugal" compress l5.onnx --sensitivity --data fashion-mnist --limit 2000 > l5_sensitivity.txt 2>/dev/null
l5_stages() {  # PRUNE_SEED CENTROID_SEED SUFFIX: l5_p$3, l5_pc$3, l5_pcf$3
  [ -f "l5_p$3.onnx" ] || train l5.onnx --epochs 7 --lr 0.04 --schedule-lr cosine --seed "$1" \
    --prune conv1=0.25,conv2=0.6,fc1=0.95,fc2=0.92,fc3=0.75:schedule=cubic,start=0,end=3 -o "l5_p$3.onnx"
  "$frugal" compress "l5_p$3.onnx" --cluster conv=5,fc=4 -o "l5_pc$3.onnx" > "l5_pc$3.txt" 2>&1
  train "l5_pc$3.onnx" --epochs 2 --lr 0.001 --cluster keep --seed "$2" -o "l5_pcf$3.onnx"
}
l5_stages 2 3 ""

echo '| net | stage | top-1 (%) | float32 B | encoded B | .fgz B | ratio | ratio without Huffman |' > table.md
echo '|---|---|---|---|---|---|---|---|' >> table.md
for net in l300 l5; do
  row "$net" "trained" "$net.onnx"
  row "$net" "pruned + fine-tuned" "${net}_p.onnx"
  row "$net" "+ clustered" "${net}_pc.onnx"
  row "$net" "+ centroids fine-tuned, Huffman" "${net}_pcf.onnx"
  # the container decodes to the very model it encodes
  "$frugal" decompress "${net}_pcf.stage.fgz" -o "${net}_back.onnx" > /dev/null
  cmp "${net}_back.onnx" "${net}_pcf.onnx" && echo "${net}: .fgz round trip bit-exact"
done
"$frugal" compress l300_pcf.onnx --encode -o l300_final.fgz > l300_final.txt
"$frugal" compress l5_pcf.onnx --encode -o l5_final.fgz > l5_final.txt
cat table.md

[ ${#seeds[@]} -gt 0 ] || exit 0
base=$(top1 l5.onnx)
echo "| seed | pruned + fine-tuned | + clustered | + centroids fine-tuned | drop (points) | ratio |" > seeds.md
echo '|---|---|---|---|---|---|' >> seeds.md
for s in "${seeds[@]}"; do
  l5_stages "$s" 3 "_s$s"
  read -r raw enc _ _ < <(encoded "l5_pcf_s$s.onnx")
  final=$(top1 "l5_pcf_s$s.onnx")
  printf '| %s | %s | %s | %s | %.2f | %.1fx |\n' "$s" "$(top1 "l5_p_s$s.onnx")" \
    "$(top1 "l5_pc_s$s.onnx")" "$final" "$(echo "$base - $final" | bc -l)" \
    "$(echo "$raw / $enc" | bc -l)" >> seeds.md
done
python3 - seeds.md "$base" <<'PY' >> seeds.md
import sys
rows = [l.split("|")[1:-1] for l in open(sys.argv[1]) if l[2:3].isdigit()]
cols = {"drop": [float(r[4]) for r in rows], "ratio": [float(r[5].strip()[:-1]) for r in rows]}
for name, v in cols.items():
    print(f"{name}: mean {sum(v) / len(v):.2f}, min {min(v):.2f}, max {max(v):.2f} over {len(v)} seeds")
print(f"trained LeNet-5: {sys.argv[2]} %")
PY
cat seeds.md
