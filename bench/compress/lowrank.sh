#!/usr/bin/env bash
# Low-rank factorization (frugal compress --lowrank) of frugal-trained LeNet-300-100 and
# LeNet-5 on Fashion-MNIST at three ranks (by kept energy; SPECS="0.5 0.25" for ratios): weights, MACs, stored bytes, top-1 before and
# after one epoch of fine-tuning (lr 0.01, cosine), and measured latency (cpu backend, 1 thread) at batch 1
# and 64 against the unfactored model.
#   bash bench/compress/lowrank.sh build/frugal OUT
# The trained models are those of bench/compress/deep_compression.sh (same commands and
# seeds; trained here when OUT lacks them). Writes OUT/lowrank.md (the table
# docs/compression.md quotes).
set -euo pipefail
frugal="$(realpath "$1")"; out="$2"; mkdir -p "$out"; cd "$out"
export OMP_WAIT_POLICY=passive
# The last layer (10 outputs) stays dense: at a low rank it costs the most accuracy and
# saves the least.
ratios="${SPECS:-energy=0.95 energy=0.85 energy=0.7}"
top1() { "$frugal" eval "$1" --data fashion-mnist 2>/dev/null | awk '/^top-1/ {printf "%.2f", 100 * $2}'; }
train() { "$frugal" train "$@" --data fashion-mnist --batch 64 --momentum 0.9 --threads 1 -q; }
latency() {  # MODEL BATCH -> "p50 ± MAD" in ms
  "$frugal" bench "$1" --backend cpu --threads 1 --batch "$2" --duration 2 --json 2>/dev/null |
    python3 -c 'import json,sys; l=json.load(sys.stdin)["results"]["latency"]; print("%.4f ± %.4f" % (l["p50_ms"], l["mad_ms"]))'
}
json() { python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1"; }

[ -f l300.onnx ] || train lenet300_100 --epochs 12 --lr 0.05 --schedule-lr cosine --seed 1 -o l300.onnx
[ -f l5.onnx ] || train lenet5 --epochs 10 --lr 0.05 --schedule-lr cosine --seed 1 -o l5.onnx

echo '| net | --lowrank | ranks | weights | MACs | float32 B | top-1 (%) | top-1 fine-tuned (%) | batch 1 p50 ± MAD (ms) | batch 64 p50 ± MAD (ms) |' > lowrank.md
echo '|---|---|---|---|---|---|---|---|---|---|' >> lowrank.md
for net in l300 l5; do
  "$frugal" compress "$net.onnx" --encode -o "$net.fgz" --json > "$net.json"
  for r in $ratios; do
    m="${net}_lr$r"
    "$frugal" compress "$net.onnx" --lowrank "$r" --exclude last -o "$m.onnx" --json > "$m.json"
    train "$m.onnx" --epochs 1 --lr 0.01 --schedule-lr cosine --seed 3 -o "${m}_ft.onnx"
  done
  # Latency, A/B: the unfactored model before and after the factored ones, batch by batch.
  for b in 1 64; do
    latency "$net.onnx" "$b" > "$net.b$b.lat"
    for r in $ratios; do latency "${net}_lr${r}_ft.onnx" "$b" > "${net}_lr$r.b$b.lat"; done
    latency "$net.onnx" "$b" >> "$net.b$b.lat"
  done
  first="${net}_lr${ratios%% *}.json"
  printf '| %s | none | full | %s | %s | %s | %s | - | %s | %s |\n' "$net" \
    "$(json "$first" 'j["lowrank"]["params_before"]')" "$(json "$first" 'j["lowrank"]["macs_before"]')" \
    "$(json "$net.json" 'j["encoded"]["raw_bytes"]')" "$(top1 "$net.onnx")" \
    "$(paste -sd/ "$net.b1.lat")" "$(paste -sd/ "$net.b64.lat")" >> lowrank.md
  for r in $ratios; do
    m="${net}_lr$r"
    printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$net" "$r" \
      "$(json "$m.json" '"/".join(str(l["rank"]) if l["factored"] else "dense" for l in j["lowrank"]["layers"])')" \
      "$(json "$m.json" 'j["lowrank"]["params_after"]')" "$(json "$m.json" 'j["lowrank"]["macs_after"]')" \
      "$(json "$m.json" 'j["encoded"]["raw_bytes"]')" "$(top1 "$m.onnx")" "$(top1 "${m}_ft.onnx")" \
      "$(cat "$m.b1.lat")" "$(cat "$m.b64.lat")" >> lowrank.md
  done
done
cat lowrank.md
