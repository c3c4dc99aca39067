#!/usr/bin/env bash
# Binary and ternary weights (frugal compress --binarize) of the frugal-trained LeNet-5 on
# Fashion-MNIST: top-1 (10,000 test images) and encoded size, without fine-tuning; :acts
# binarizes the activations too (:packed: the same as frugal.Binary* nodes, popcount kernels).
#   bash bench/compress/binarize.sh build/frugal OUT
# The trained model is that of bench/compress/deep_compression.sh (same command and seed;
# trained here when OUT lacks it). Writes OUT/binarize.md (the table docs/compression.md
# quotes).
set -euo pipefail
frugal="$(realpath "$1")"; out="$2"; mkdir -p "$out"; cd "$out"
export OMP_WAIT_POLICY=passive
[ -f l5.onnx ] || "$frugal" train lenet5 --epochs 10 --lr 0.05 --schedule-lr cosine --seed 1 \
  --data fashion-mnist --batch 64 --momentum 0.9 --threads 1 -q -o l5.onnx
echo '| --binarize | layers | top-1 (%) | float32 B | encoded B | ratio |' > binarize.md
echo '|---|---|---|---|---|---|' >> binarize.md
"$frugal" compress l5.onnx --encode -o l5.fgz --json > l5.json
python3 -c 'import json; j=json.load(open("l5.json"))["encoded"]; print(j["raw_bytes"], j["encoded_bytes"])' > l5.size
for spec in binary ternary binary:all ternary:all binary:acts ternary:acts binary:all:acts binary:all:acts:packed; do
  "$frugal" compress l5.onnx --binarize "$spec" --data fashion-mnist -o "l5_$spec.onnx" --json > "l5_$spec.json"
  python3 - "l5_$spec.json" "$spec" >> binarize.md <<'PY'
import json, sys
j = json.load(open(sys.argv[1])); raw = int(open("l5.size").read().split()[0])
e = j["encoded"]["encoded_bytes"]; layers = ", ".join(l["layer"] for l in j["binarize"]["layers"])
a = j["accuracy"]
print("| %s | %s | %.2f (fp32 %.2f) | %d | %d | %.1fx |" % (sys.argv[2], layers, 100 * a["after"], 100 * a["before"], raw, e, raw / e))
PY
done
cat binarize.md
