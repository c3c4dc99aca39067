#!/usr/bin/env bash
# A/B of cpu:int8's choice among oneDNN's int8 convolutions (src/frugal/kernels/cpu/int8_impl.h):
# B = FRUGAL_INT8_KEEP_JIT_AMX=1 (oneDNN's first choice: its older jit AMX kernels wherever
# offered, the state before the change), A = the default (those kernels skipped below
# 50 M MACs); fp32 of the float file in the same rounds. Rounds alternate fp32, B, A, each a
# fresh `frugal bench` process; the table gives the median of the per-round p50 latencies
# with min-max, and the ratios of the medians.
#   bash bench/int8/amx_ab.sh build/frugal WORKDIR ROUNDS THREADS [MODEL...]
# MODEL: mobilenet_fmnist / resnet8_fmnist (trained 1 epoch on 1,000 Fashion-MNIST images,
# then `frugal compress --quant int8 --calib-data fashion-mnist`, as the study makes its int8
# points) or a zoo name (`frugal quantize --quant int8 --calibration random:8`, as
# bench/peers/compare.py makes its QDQ files).
set -euo pipefail
frugal=$(realpath "$1"); work=$2; rounds=${3:-5}; threads=${4:-1}; shift 4 || true
models=("$@")
[ ${#models[@]} -gt 0 ] || models=(mobilenet_fmnist resnet8_fmnist mobilenet_v2 resnet18 resnet50)
mkdir -p "$work"; cd "$work"

prepare() {
  local m=$1
  [ -f "$m.int8.onnx" ] && return
  case $m in
    *_fmnist)
      "$frugal" train "$m" --data fashion-mnist --limit 1000 --epochs 1 --seed 0 -o "$m.onnx" >/dev/null
      "$frugal" compress "$m.onnx" --quant int8 --calib-data fashion-mnist -o "$m.int8.onnx" >/dev/null ;;
    *)
      "$frugal" zoo "$m" -o "$m.onnx" >/dev/null
      "$frugal" quantize "$m.onnx" -o "$m.int8.onnx" --quant int8 --calibration random:8 >/dev/null 2>&1 ;;
  esac
}

# p50 ms of one `frugal bench` run (the "per query" row's third field).
p50() {
  "$frugal" bench "$@" --backend cpu,ref --threads "$threads" --duration 1 --min-queries 20 |
    awk '/^per query/ {print $4; exit}'
}

# "median (min-max)" and the median alone of a list of numbers.
stats() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {m = NR % 2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2; printf "%.3f (%.3f-%.3f) %.4f\n", m, v[1], v[NR], m}'; }

echo "$(date -u +%FT%TZ) $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, threads $threads, rounds $rounds, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| model | fp32 p50 ms | int8 jit AMX kept (B) | int8 (A) | A vs B | A vs fp32 | B vs fp32 |"
echo "|---|---|---|---|---|---|---|"
for m in "${models[@]}"; do
  prepare "$m"
  cal=()
  [ -f "$m.int8.ranges.json" ] && cal=(--calibration "$m.int8.ranges.json")
  f=(); b=(); a=()
  for ((r = 0; r < rounds; r++)); do
    f+=("$(p50 "$m.onnx")")
    b+=("$(FRUGAL_INT8_KEEP_JIT_AMX=1 p50 "$m.int8.onnx" --precision int8 "${cal[@]}")")
    a+=("$(p50 "$m.int8.onnx" --precision int8 "${cal[@]}")")
  done
  read -r fs fr fm <<<"$(stats "${f[@]}")"; read -r bs br bm <<<"$(stats "${b[@]}")"
  read -r as ar am <<<"$(stats "${a[@]}")"
  awk -v m="$m" -v f="$fs $fr" -v b="$bs $br" -v a="$as $ar" -v fm="$fm" -v bm="$bm" -v am="$am" \
    'BEGIN {printf "| %s | %s | %s | %s | %.2fx | %.2fx | %.2fx |\n", m, f, b, a, bm/am, fm/am, fm/bm}'
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
