#!/usr/bin/env bash
# Low-rank factorization (frugal compress --lowrank).
# Part "fc": frugal-trained LeNet-300-100 and LeNet-5 on Fashion-MNIST at three ranks (by
# kept energy; SPECS="0.5 0.25" for ratios): weights, MACs, stored bytes, top-1 before and
# after one epoch of fine-tuning (lr 0.01, cosine), and measured latency (cpu backend, 1
# thread) at batch 1 and 64 against the unfactored model. Writes OUT/lowrank.md.
# Part "conv": convolutions by SVD (channel decomposition) against Tucker-2 at three ratios
# (CONV_SPECS): resnet18 (zoo, random weights) and frugal-trained LeNet-5 and resnet8_fmnist
# (short schedules: 10 and 1 epochs), weights, MACs, mean relative error of the factored
# layers, top-1 before/after a short fine-tune, latency at batch 1 (1 thread) alternated
# with the unfactored model. Writes OUT/lowrank_conv.md and OUT/lowrank_hooi.md (per-layer
# error of resnet18's convolutions, HOSVD against 5 HOOI iterations).
#   bash bench/compress/lowrank.sh build/frugal OUT [fc|conv|all]
# The trained LeNets are those of bench/compress/deep_compression.sh (same commands and
# seeds; trained here when OUT lacks them). docs/compression.md quotes the tables.
set -euo pipefail
frugal="$(realpath "$1")"; out="$2"; part="${3:-all}"; mkdir -p "$out"; cd "$out"
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

fc_part() {
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
}

# Mean relative error, weights and MACs of a compress --json: "err weights MACs".
summary() {
  json "$1" '"%.4f %d %d" % (sum(l["relative_error"] for l in j["lowrank"]["layers"] if l["factored"]) / max(1, sum(l["factored"] for l in j["lowrank"]["layers"])), j["lowrank"]["params_after"], j["lowrank"]["macs_after"])'
}
p50() { cut -d' ' -f1 "$1" | sort -n | paste -sd' ' | awk '{printf "%s", ($1 == $NF ? $1 : $1 "-" $NF)}'; }

conv_part() {
  conv_specs="${CONV_SPECS:-0.5 0.25 0.125}"
  "$frugal" zoo resnet18 -o r18.onnx > /dev/null
  [ -f r8.onnx ] || train resnet8_fmnist --epochs 1 --optimizer adamw --lr 0.002 --weight-decay 0.05 --seed 1 -o r8.onnx
  echo '| net | --lowrank | weights | MACs | mean rel. error | top-1 (%) | top-1 fine-tuned (%) | batch 1 p50 (ms) | unfactored p50 (ms), measured beside it |' > lowrank_conv.md
  echo '|---|---|---|---|---|---|---|---|---|' >> lowrank_conv.md
  for net in r18 l5 r8; do
    rm -f "$net.dense.lat"
    for m in svd tucker; do
      for r in $conv_specs; do
        v="${net}_${m}_$r"
        "$frugal" compress "$net.onnx" --lowrank "$r:conv=$m" --exclude last -o "$v.onnx" --json > "$v.json"
        # Fine-tune the trained ones: LeNet-5 one epoch, resnet8 6,000 images (SGD, lr 0.01).
        if [ "$net" = l5 ]; then train "$v.onnx" --epochs 1 --lr 0.01 --schedule-lr cosine --seed 3 -o "${v}_ft.onnx"; fi
        if [ "$net" = r8 ]; then train "$v.onnx" --epochs 1 --limit 6000 --lr 0.01 --seed 3 -o "${v}_ft.onnx"; fi
        # A/B: the unfactored model, then this one.
        latency "$net.onnx" 1 | tee -a "$net.dense.lat" > "$v.dense.lat"
        latency "$v.onnx" 1 > "$v.lat"
      done
    done
    latency "$net.onnx" 1 >> "$net.dense.lat"
    read -r err w macs <<< "$(summary "${net}_svd_${conv_specs%% *}.json")"
    printf '| %s | none | %s | %s | 0 | %s | - | %s | |\n' "$net" \
      "$(json "${net}_svd_${conv_specs%% *}.json" 'j["lowrank"]["params_before"]')" \
      "$(json "${net}_svd_${conv_specs%% *}.json" 'j["lowrank"]["macs_before"]')" \
      "$([ "$net" = r18 ] && echo - || top1 "$net.onnx")" "$(p50 "$net.dense.lat")" >> lowrank_conv.md
    for m in svd tucker; do
      for r in $conv_specs; do
        v="${net}_${m}_$r"
        read -r err w macs <<< "$(summary "$v.json")"
        printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$net" "$r:conv=$m" "$w" "$macs" "$err" \
          "$([ "$net" = r18 ] && echo - || top1 "$v.onnx")" \
          "$([ "$net" = r18 ] && echo - || top1 "${v}_ft.onnx")" \
          "$(cut -d' ' -f1 "$v.lat")" "$(cut -d' ' -f1 "$v.dense.lat")" >> lowrank_conv.md
      done
    done
  done
  # HOOI: resnet18's per-layer error after the HOSVD and after 5 HOOI iterations.
  "$frugal" compress r18.onnx --lowrank 0.25:conv=tucker:hooi=5 --exclude last -o r18_hooi.onnx --json > r18_hooi.json
  python3 - r18_svd_0.25.json r18_tucker_0.25.json r18_hooi.json > lowrank_hooi.md <<'PY'
import json, sys
svd, tk, hooi = ({l["layer"]: l for l in json.load(open(f))["lowrank"]["layers"]} for f in sys.argv[1:])
print("| layer | shape | SVD rank | SVD rel. error | Tucker-2 ranks | HOSVD rel. error | HOOI x5 rel. error |")
print("|---|---|---|---|---|---|---|")
for name, l in tk.items():
    if l["method"] != "tucker2": continue
    s, h = svd[name], hooi[name]
    print("| %s | %s | %d | %.4f | %d,%d | %.4f | %.4f |" % (name, "x".join(map(str, l["shape"])), s["rank"], s["relative_error"], l["rank"], l["rank_in"], l["hosvd_relative_error"], h["relative_error"]))
PY
  cat lowrank_conv.md lowrank_hooi.md
}

case "$part" in
  fc) fc_part ;;
  conv) conv_part ;;
  *) fc_part; conv_part ;;
esac
