#!/usr/bin/env bash
# Runs every test: unit tests, ONNX conformance, CLI error paths and the loader fuzzer.
# Builds first if needed (scripts/setup.sh does the installing).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f build/build.ninja ] || cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "${FRUGAL_JOBS:-$(nproc)}"
cd build
# --timeout: the limit of any test that sets none (a hang fails, named, in 30 minutes).
ctest --output-on-failure --timeout 1800 -j "${FRUGAL_JOBS:-$(nproc)}" "$@"
