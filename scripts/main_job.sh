#!/usr/bin/env bash
# The main job on its embedded default: `frugal study` trains a small CNN on Fashion-MNIST
# (cached after the first run), measures it and zoo models over the backends and
# precisions this build runs, and writes out/study/results.sqlite and out/study/report.html.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p out
./build/frugal study -o out/study "$@"
