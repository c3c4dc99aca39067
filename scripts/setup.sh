#!/usr/bin/env bash
# Installs everything frugal needs on Debian 12 (as root, or with sudo), then configures
# and builds Release into build/. Idempotent: packages already present are not fetched
# again and `apt-get update` runs at most once.
#   FRUGAL_WERROR=ON  treat warnings as errors (CI sets it)
#   FRUGAL_JOBS=N     parallel build jobs (default: number of cores)
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake ninja-build git pkg-config clang libclang-rt-14-dev
  libdnnl-dev ocl-icd-opencl-dev libprotobuf-dev protobuf-compiler libonnx-dev
  libcli11-dev nlohmann-json3-dev libfmt-dev libsqlite3-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libmpfr-dev libgmp-dev zlib1g-dev libpng-dev libjpeg62-turbo-dev
  dataset-fashion-mnist libonnx-testdata
  libyaml-cpp-dev libeigen3-dev libfftw3-dev chromium
  openmpi-bin libopenmpi-dev
  yosys verilator iverilog
  gcc-avr avr-libc simavr libsimavr-dev libelf-dev gcc-arm-none-eabi libnewlib-arm-none-eabi
  nodejs
  pybind11-dev python3-dev python3-numpy python3-pytest python3-matplotlib python3-setuptools
  python3-pip python3-venv python3-wheel
)
# npm only where no npm is on PATH (a Node.js from elsewhere bundles its own, and Debian's
# npm package would conflict with it): it installs the ONNX Runtime peer below.
command -v npm >/dev/null || PACKAGES+=(npm)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

werror="${FRUGAL_WERROR:-OFF}"
[ "${CI:-}" = "true" ] && werror=ON
# FRUGAL_PYTHON_MODULE: the library is compiled -fPIC once, for the CLI, the tests and the
# Python module build/python/frugal/_frugal*.so alike (its cost is within noise: docs/python.md).
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DFRUGAL_WERROR="$werror" \
  -DFRUGAL_PYTHON_MODULE=ON >/dev/null
cmake --build build -j "${FRUGAL_JOBS:-$(nproc)}"
echo "setup: built build/frugal"
# The ONNX Runtime peer (onnxruntime-node, from the npm registry) for the ORT agreement
# tests and bench/peers; without it those tests skip, which is said here.
if [ ! -d bench/peers/node_modules/onnxruntime-node ]; then
  bash bench/peers/install.sh >/dev/null ||
    echo "setup: onnxruntime-node not installed (npm failed): ORT agreement tests will skip"
fi
