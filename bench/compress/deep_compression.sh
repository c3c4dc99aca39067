#!/usr/bin/env bash
# Deep Compression (Han et al., ICLR 2016) reproduced with frugal on Fashion-MNIST:
# train, prune + fine-tune, cluster (k-means weight sharing), fine-tune the centroids,
# Huffman-encode into the .fgz container and decode it back bit-exactly; accuracy and
# encoded size after each stage, for LeNet-300-100 and LeNet-5.
#   bash bench/compress/deep_compression.sh build/frugal OUT [SEED...]
# Writes OUT/<net>_*.onnx|.fgz and OUT/table.md (the stage table docs/compression.md quotes).
# With SEEDs, also reruns each net's pruning, clustering and centroid fine-tuning from the same
# trained model with each seed as the pruning fine-tuning's --seed, and writes OUT/seeds.md: per
# net and seed the top-1 and ratio after every stage, the drop, then mean, min and max over seeds.
# The recipe below is the one docs/compression.md reports; each variable can be overridden from
# the environment (e.g. L5_CLUSTER=conv=5,fc=4 bash ...; L5_PRUNE_WD= for no weight decay) to
# rerun a variant of its tables.
set -euo pipefail
frugal="$(realpath "$1")"; out="$2"; shift 2; seeds=("$@"); mkdir -p "$out"; cd "$out"
export OMP_WAIT_POLICY=passive

# LeNet-300-100: Han et al. keep 8% / 9% / 26% of fc1 / fc2 / fc3, 6-bit weights, 5-bit index.
: "${L300_PRUNE:=fc1=0.93,fc2=0.91,fc3=0.75:schedule=cubic,start=0,end=4}"
: "${L300_PRUNE_EPOCHS:=10}" "${L300_PRUNE_LR:=0.01}" "${L300_PRUNE_WD=}"
: "${L300_CLUSTER:=5}" "${L300_CENTROID_EPOCHS:=1}" "${L300_CENTROID_LR:=0.0001}"
# LeNet-5: Han et al. keep 66% / 12% / 8% / 19% of conv1 / conv2 / fc1 / fc2. Our densities
# follow the per-layer sensitivity sweep (l5_sensitivity.txt): the convolutions lose accuracy
# first, fc1 and fc2 last, so we keep more of conv1 / conv2 (80% / 45%) and 5% of fc1 / fc2,
# as a global magnitude threshold would (docs/compression.md: the levers measured); weight
# decay during the prune fine-tuning is what brings every seed within the 0.5-point goal.
: "${L5_PRUNE:=conv1=0.2,conv2=0.55,fc1=0.95,fc2=0.95,fc3=0.7:schedule=cubic,start=0,end=3}"
: "${L5_PRUNE_EPOCHS:=7}" "${L5_PRUNE_LR:=0.04}" "${L5_PRUNE_WD=0.0005}"
: "${L5_CLUSTER:=conv=5,fc=4}" "${L5_CENTROID_EPOCHS:=2}" "${L5_CENTROID_LR:=0.001}"

top1() { "$frugal" eval "$1" --data fashion-mnist 2>/dev/null | awk '/^top-1/ {print 100 * $2}'; }
encoded() {  # float32 bytes, encoded bytes, without Huffman, .fgz file bytes
  "$frugal" compress "$1" --encode -o "${1%.onnx}.stage.fgz" --json 2>/dev/null |
    python3 -c 'import json,sys; j=json.load(sys.stdin); e=j["encoded"]; print(e["raw_bytes"], e["encoded_bytes"], e["without_huffman_bytes"], j["fgz_bytes"])'
}
ratio() { read -r raw enc _ _ < <(encoded "$1"); echo "$raw / $enc" | bc -l; }
row() {  # NET STAGE MODEL
  read -r raw enc fixed file < <(encoded "$3")
  printf '| %s | %s | %s | %s | %s | %s | %.1fx | %.1fx |\n' "$1" "$2" "$(top1 "$3")" "$raw" "$enc" "$file" \
    "$(echo "$raw / $enc" | bc -l)" "$(echo "$raw / $fixed" | bc -l)" >> table.md
}
train() { "$frugal" train "$@" --data fashion-mnist --batch 64 --momentum 0.9 --threads 1 -q; }
recipe() { local v="${1^^}_$2"; echo "${!v}"; }  # NET KEY: that net's recipe variable
stages() {  # NET PRUNE_SEED CENTROID_SEED: NET_p_s$2, NET_pc_s$2, NET_pcf_s$2 (kept if there)
  local n=$1 p="${1}_p_s$2" c="${1}_pc_s$2" f="${1}_pcf_s$2" wd; wd=$(recipe "$1" PRUNE_WD)
  [ -f "$p.onnx" ] || train "$n.onnx" --epochs "$(recipe "$n" PRUNE_EPOCHS)" --lr "$(recipe "$n" PRUNE_LR)" \
    --schedule-lr cosine --seed "$2" --prune "$(recipe "$n" PRUNE)" ${wd:+--weight-decay "$wd"} -o "$p.onnx"
  [ -f "$c.onnx" ] || "$frugal" compress "$p.onnx" --cluster "$(recipe "$n" CLUSTER)" -o "$c.onnx" > "$c.txt" 2>&1
  [ -f "$f.onnx" ] || train "$c.onnx" --epochs "$(recipe "$n" CENTROID_EPOCHS)" --lr "$(recipe "$n" CENTROID_LR)" \
    --cluster keep --seed "$3" -o "$f.onnx"
}

# NETS="l300" or "l5" runs one net (two OUT dirs run side by side); a stage whose output is in OUT
# is kept, so a rerun with other recipe variables needs a fresh OUT.
read -ra nets <<< "${NETS:-l300 l5}"
for net in "${nets[@]}"; do
  case $net in
    l300) [ -f l300.onnx ] || train lenet300_100 --epochs 12 --lr 0.05 --schedule-lr cosine --seed 1 -o l300.onnx ;;
    l5) [ -f l5.onnx ] || train lenet5 --epochs 10 --lr 0.05 --schedule-lr cosine --seed 1 -o l5.onnx
      "$frugal" compress l5.onnx --sensitivity --data fashion-mnist --limit 2000 > l5_sensitivity.txt 2>/dev/null ;;
    *) echo "NETS: unknown net '$net' (l300, l5)" >&2; exit 1 ;;
  esac
  stages "$net" 2 3  # pruning seed 2: the stage table's run
done

echo '| net | stage | top-1 (%) | float32 B | encoded B | .fgz B | ratio | ratio without Huffman |' > table.md
echo '|---|---|---|---|---|---|---|---|' >> table.md
for net in "${nets[@]}"; do
  row "$net" "trained" "$net.onnx"
  row "$net" "pruned + fine-tuned" "${net}_p_s2.onnx"
  row "$net" "+ clustered" "${net}_pc_s2.onnx"
  row "$net" "+ centroids fine-tuned, Huffman" "${net}_pcf_s2.onnx"
  # the container decodes to the very model it encodes
  "$frugal" decompress "${net}_pcf_s2.stage.fgz" -o "${net}_back.onnx" > /dev/null
  cmp "${net}_back.onnx" "${net}_pcf_s2.onnx" && echo "${net}: .fgz round trip bit-exact"
  "$frugal" compress "${net}_pcf_s2.onnx" --encode -o "${net}_final.fgz" > "${net}_final.txt"  # per-layer table
done
cat table.md

[ ${#seeds[@]} -gt 0 ] || exit 0
rm -f seeds.trained
echo "| net | seed | pruned + fine-tuned | ratio | + clustered | ratio | + centroids fine-tuned | drop (points) | ratio |" > seeds.md
echo '|---|---|---|---|---|---|---|---|---|' >> seeds.md
for net in "${nets[@]}"; do
  base=$(top1 "$net.onnx")
  for s in "${seeds[@]}"; do
    stages "$net" "$s" 3
    final=$(top1 "${net}_pcf_s$s.onnx")
    printf '| %s | %s | %s | %.1fx | %s | %.1fx | %s | %.2f | %.2fx |\n' "$net" "$s" \
      "$(top1 "${net}_p_s$s.onnx")" "$(ratio "${net}_p_s$s.onnx")" \
      "$(top1 "${net}_pc_s$s.onnx")" "$(ratio "${net}_pc_s$s.onnx")" \
      "$final" "$(echo "$base - $final" | bc -l)" "$(ratio "${net}_pcf_s$s.onnx")" >> seeds.md
  done
  echo "$net trained: $base %" >> seeds.trained
done
python3 - seeds.md seeds.trained <<'PY' >> seeds.md
import sys
rows = [l.split("|")[1:-1] for l in open(sys.argv[1]) if l.startswith("| l")]
print()
for net in dict.fromkeys(r[0].strip() for r in rows):
    mine = [r for r in rows if r[0].strip() == net]
    for name, col in (("pruned top-1", 2), ("drop", 7), ("ratio", 8)):
        v = [float(r[col].strip().rstrip("x")) for r in mine]
        print(f"{net} {name}: mean {sum(v) / len(v):.2f}, min {min(v):.2f}, max {max(v):.2f} over {len(v)} seeds  ")
    met = sum(float(r[7]) <= 0.5 and float(r[8].strip().rstrip("x")) >= 40 for r in mine)
    print(f"{net}: goal (at least 40x, at most 0.5 point drop) met on {met} of {len(mine)} seeds  ")
print(open(sys.argv[2]).read().replace("\n", "  \n"))
PY
rm seeds.trained
cat seeds.md
