#!/usr/bin/env bash
# Eyeriss's dataflow comparison on AlexNet's CONV layers with frugal's accelerator model
# (estimated, analytical model). Usage: bench/accel/eyeriss.sh [BUILD_DIR]
set -euo pipefail
build="${1:-build}"
"$build/bench/bench_accel_alexnet" 30000
