#!/usr/bin/env bash
# Time per iteration of K-FAC against SGD with momentum on LeNet-5 (docs/training.md,
# "K-FAC"): one epoch of the first 3,200 Fashion-MNIST images (50 iterations at batch 64),
# one thread, the two alternated REPS times (default 3) back to back so that both see the
# same machine load; prints each run's training seconds per iteration (images / images per
# second / 50) and the medians.
#   bash bench/train/kfac_time.sh build/frugal OUTDIR [REPS] ["KFAC OPTIONS"]
set -u
frugal="$1"; out="$2"; reps="${3:-3}"
kfac="${4:---optimizer kfac --lr 0.1 --kfac-damping 0.03 --kfac-adapt-every 0 --kfac-kl-clip 0.01}"
mkdir -p "$out"
declare -A all
for i in $(seq 1 "$reps"); do
  for r in sgd kfac; do
    if [ "$r" = sgd ]; then opts="--optimizer sgd --lr 0.05 --momentum 0.9"; else opts="$kfac"; fi
    # shellcheck disable=SC2086
    "$frugal" train lenet5 --data fashion-mnist --limit 3200 --epochs 1 --batch 64 --seed 0 \
      --threads 1 $opts -o "$out/$r.onnx" --log "$out/${r}_$i.csv" -q >/dev/null 2>&1
    s=$(awk -F, 'NR == 2 { printf "%.4f", 3200 / $7 / 50 }' "$out/${r}_$i.csv")
    all[$r]="${all[$r]:-} $s"
    echo "rep $i $r s/iter $s load $(cut -d' ' -f1 /proc/loadavg)"
  done
done
for r in sgd kfac; do
  echo "$r median $(echo ${all[$r]} | tr ' ' '\n' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')"
done
