#!/usr/bin/env bash
# The main job on an embedded default. For now: build a zoo model, show what it is and
# run it once. (The sweep-and-report study replaces this when it lands.)
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p out
./build/frugal zoo resnet18 -o out/resnet18.onnx --seed 0
./build/frugal info out/resnet18.onnx --plan --backend cpu,ref
./build/frugal run out/resnet18.onnx --backend cpu,ref --input random:0 --top 5
