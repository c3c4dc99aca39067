#!/usr/bin/env bash
# Eyeriss's dataflow comparison on AlexNet's CONV layers with frugal's accelerator model
# (estimated, analytical model), at two mapper budgets (mappings per layer and dataflow).
# Usage: bench/accel/eyeriss.sh [BUILD_DIR]
set -euo pipefail
build="${1:-build}"
for budget in 30000 300000; do
  echo "mapper budget: $budget mappings per layer and dataflow"
  "$build/bench/bench_accel_alexnet" "$budget"
done
