#!/usr/bin/env bash
# Predicted single-TPU latency (int8, batch 1) of the edgetpu-usb preset against Coral's
# published figures: prints the markdown table of docs/pipeline.md. All predictions are
# estimates of a modeled device.
#   bench/pipeline/edgetpu_calibration.sh [build/frugal]
set -euo pipefail
frugal="${1:-build/frugal}"
echo "| model | params | MACs | predicted (estimate) | published (Coral, USB) | difference |"
echo "|---|---:|---:|---:|---:|---:|"
while read -r model published label; do
  "$frugal" partition "$model" --devices edgetpu-usb --json | python3 -c "
import json, sys
j = json.load(sys.stdin); s = j['segments'][0]
pred = 1e3 * s['time_s']; pub = float('$published')
print(f\"| $model | {s['params']:,} | {s['macs']/1e9:.2f} G | {pred:.1f} ms | {pub:g} ms ($label) | {100*(pred/pub-1):+.0f}% |\")"
done <<'LIST'
mobilenet_v2 2.6 MobileNet_v2
resnet50 49 ResNet-50
inception_v3 85 Inception_v4
vgg16 296 VGG16
LIST
