#!/usr/bin/env bash
# Quantization-aware training against post-training quantization on Fashion-MNIST
# (docs/quantization.md "## QAT"). Per model:
#   base     fp32 training from scratch (short: LIMIT samples, the model's recipe);
#   ptq      frugal quantize of the base, per spec (calib=mse, the best method on these nets);
#   ft       control: the base fine-tuned 1 more epoch in fp32 with the fine-tune recipe,
#            then PTQ with the same spec (so that QAT's gain is not just one more epoch);
#   qat      the base fine-tuned 1 epoch with --qat SPEC (same recipe and seed as ft).
# Accuracy on all 10,000 test images: fake-quant = the QDQ file run by frugal eval on the
# float32 cpu,ref backends; true int8 = cpu:int8 with the ranges file (PTQ: the calibrated
# ranges of frugal quantize; QAT: OUT.ranges.json, the ranges learned in training).
#
#   bench/quant/qat_table.sh FRUGAL OUTDIR OUT.csv [MODEL...]    (default: lenet5 mobilenet_fmnist)
# Environment: LIMIT_lenet5 / LIMIT_mobilenet_fmnist override the training samples;
# SPECS (default "int8 int8:per-tensor") lists the --quant/--qat specs; REUSE=1 keeps the
# base and fine-tuned models and PTQ results already in OUTDIR (their train_seconds column
# is then empty) and reruns the rest.
set -euo pipefail
frugal="$1"; dir="$2"; out="$3"; shift 3
models=("$@"); [ ${#models[@]} -eq 0 ] && models=(lenet5 mobilenet_fmnist)
mkdir -p "$dir"
# model -> "LIMIT|base recipe|fine-tune recipe"
declare -A recipe=(
  [lenet5]="${LIMIT_lenet5:-60000}|--epochs 4 --batch 64 --lr 0.05 --momentum 0.9|--epochs 1 --batch 64 --lr 0.005 --momentum 0.9"
  [mobilenet_fmnist]="${LIMIT_mobilenet_fmnist:-20000}|--epochs 2 --batch 64 --optimizer adamw --lr 0.002 --weight-decay 0.05 --schedule-lr cosine|--epochs 1 --batch 64 --optimizer adamw --lr 0.0002 --weight-decay 0.05"
)
read -r -a specs <<<"${SPECS:-int8 int8:per-tensor}"
top1() {  # top-1 (percent) of a frugal eval --json record
  python3 - "$1" <<'PY'
import json, sys
def find(j, k):
    if isinstance(j, dict):
        if k in j and isinstance(j[k], (int, float)): return j[k]
        for v in j.values():
            r = find(v, k)
            if r is not None: return r
print("%.2f" % (100 * find(json.load(open(sys.argv[1])), "top1")))
PY
}
qdq_eval() { "$frugal" eval "$1" --data fashion-mnist:test --backend cpu,ref --batch 100 --json >"$dir/e.json"; top1 "$dir/e.json"; }
int8_eval() { "$frugal" eval "$1" --data fashion-mnist:test --backend cpu,ref --precision int8 --calibration "$2" --batch 100 --json >"$dir/e.json"; top1 "$dir/e.json"; }
ptq() {  # model.onnx spec tag -> "fp32,fake,true"
  [ "${REUSE:-0}" = 1 ] && [ -s "$dir/$3.json" ] ||
  "$frugal" quantize "$1" -o "$dir/$3.onnx" --quant "$2,calib=mse" --data fashion-mnist --json >"$dir/$3.json"
  python3 -c 'import json,sys; a=json.load(open(sys.argv[1]))["accuracy"]; print(",".join("%.2f" % (100 * a[k]) for k in ("fp32","fake_quant","true_int8")))' "$dir/$3.json"
}
echo "model,row,spec,float_or_trainer,fake_quant,true_int8,train_seconds" >"$out"
for m in "${models[@]}"; do
  IFS='|' read -r limit base_args ft_args <<<"${recipe[$m]}"
  reuse=0; [ "${REUSE:-0}" = 1 ] && [ -s "$dir/$m.onnx" ] && [ -s "$dir/$m.ft.onnx" ] && reuse=1
  t0=$(date +%s)
  # shellcheck disable=SC2086
  [ $reuse = 1 ] || "$frugal" train "$m" --data fashion-mnist --limit "$limit" $base_args --seed 1 -q -o "$dir/$m.onnx"
  t1=$(date +%s)
  base=$(qdq_eval "$dir/$m.onnx")
  echo "$m,base,fp32,$base,,,$([ $reuse = 1 ] || echo $((t1 - t0)))" | tee -a "$out"
  # shellcheck disable=SC2086
  [ $reuse = 1 ] || "$frugal" train "$dir/$m.onnx" --data fashion-mnist --limit "$limit" $ft_args --seed 2 -q -o "$dir/$m.ft.onnx"
  t2=$(date +%s)
  echo "$m,ft,fp32,$(qdq_eval "$dir/$m.ft.onnx"),,,$([ $reuse = 1 ] || echo $((t2 - t1)))" | tee -a "$out"
  for s in "${specs[@]}"; do
    tag="${m}_${s//[:,]/_}"
    echo "$m,ptq,\"$s\",$(ptq "$dir/$m.onnx" "$s" "$tag.ptq"),0" | tee -a "$out"
    echo "$m,ft+ptq,\"$s\",$(ptq "$dir/$m.ft.onnx" "$s" "$tag.ftptq"),0" | tee -a "$out"
    t3=$(date +%s)
    # shellcheck disable=SC2086
    "$frugal" train "$dir/$m.onnx" --data fashion-mnist --limit "$limit" $ft_args --seed 2 \
      --qat "$s" --json -o "$dir/$tag.qat.onnx" >"$dir/$tag.qat.json"
    t4=$(date +%s)
    trained=$(python3 -c 'import json,sys; print("%.2f" % (100 * json.load(open(sys.argv[1]))["epochs"][-1]["test_accuracy"]))' "$dir/$tag.qat.json")
    echo "$m,qat,\"$s\",$trained,$(qdq_eval "$dir/$tag.qat.int8.onnx"),$(int8_eval "$dir/$tag.qat.onnx" "$dir/$tag.qat.ranges.json"),$((t4 - t3))" | tee -a "$out"
  done
done
