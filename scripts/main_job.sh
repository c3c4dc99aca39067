#!/usr/bin/env bash
# The main job on its embedded default: `frugal study` trains three CNNs on Fashion-MNIST
# (cached after the first run), compresses and measures them and zoo models on the CPU (GPU
# where present) and in pipelines, trains LeNet-5 in six number formats, and writes
# out/study/results.sqlite and out/study/report.html, which opens with the answers
# (docs/sweep.md, "The main job"; docs/report.md, "Answers").
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p out
./build/frugal study -o out/study "$@"
