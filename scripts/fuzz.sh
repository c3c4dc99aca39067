#!/usr/bin/env bash
# Builds the fuzzers with clang (libFuzzer + ASan + UBSan) into build-fuzz/ and runs one for
# a bounded time (seconds, default 30) on a seed corpus: the ONNX loader on real models, or
# the .fgz container reader (fgz) on containers frugal compress --encode wrote.
#   scripts/fuzz.sh [SECONDS] [onnx|fgz]
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-30}"
target="${2:-onnx}"
if ! command -v clang++ >/dev/null; then
  echo "fuzz: clang++ not found; skipped"
  exit 0
fi
cmake -S tools/fuzz -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-fuzz -j "${FRUGAL_JOBS:-$(nproc)}"
if [ "$target" = fgz ]; then
  corpus=build-fuzz/corpus-fgz
  mkdir -p "$corpus"
  if [ -x build/frugal ]; then
    ./build/frugal zoo lenet5 -o build-fuzz/l5.onnx >/dev/null
    ./build/frugal compress build-fuzz/l5.onnx --prune 0.8 --cluster 4 --encode -o "$corpus/l5.fgz" >/dev/null 2>&1 || true
    ./build/frugal compress build-fuzz/l5.onnx --encode -o "$corpus/l5_raw.fgz" >/dev/null 2>&1 || true
  fi
  ./build-fuzz/fgz_reader_fuzz "$corpus" -max_total_time="$secs" -rss_limit_mb=2048 \
    -malloc_limit_mb=1024 -print_final_stats=1 2>&1 | tail -15
  exit "${PIPESTATUS[0]}"
fi
if [ "$target" = parsers ]; then
  # Seeds: one valid input per parser, prefixed with the byte that selects it
  # (tools/fuzz/parsers_fuzz.cpp: 0 NPY, 1 NPZ, 2 IDX, 3 sweep spec, 4 devices, 5 serial stream,
  # 6 ranges JSON, 7 precision-map JSON).
  corpus=build-fuzz/corpus-parsers
  mkdir -p "$corpus"
  # Inputs that once failed stay in the corpus (tests/fuzz_corpus/parsers/).
  cp tests/fuzz_corpus/parsers/* "$corpus"/ 2>/dev/null || true
  seed() { { printf "\\$(printf '%03o' "$1")"; cat; } >"$corpus/$2"; }
  if [ -x build/frugal ]; then
    ./build/frugal zoo lenet5 -o build-fuzz/l5.onnx >/dev/null
    ./build/frugal run build-fuzz/l5.onnx --output build-fuzz/out.npy >/dev/null 2>&1 &&
      seed 0 npy <build-fuzz/out.npy
    ./build/frugal partition --print-devices edgetpu-x8 2>/dev/null | seed 4 devices
  fi
  fm=/usr/share/datasets/fashion-mnist
  for f in "$fm"/t10k-labels-idx1-ubyte*; do [ -f "$f" ] && zcat -f "$f" | head -c 200 | seed 2 idx; done
  sed -n '/^```yaml/,/^```/p' docs/sweep.md | sed '1d;$d' | seed 3 spec
  printf '# frugal power stream\n1000,0,12.0,1.5\n1000,1,5.0,0.2\n2000,0,12.0,1.6\n2500,M,1\n' | seed 5 serial
  printf '{"schema": "frugal.ranges/1", "method": "minmax", "samples": 8, "ranges": {"conv1": [-1.5, 2.25], "relu1": [0, 6]}}\n' | seed 6 ranges
  printf '{"conv1": "int8", "conv2": "bf16", "fc": "fp32"}\n' | seed 7 precision
  ./build-fuzz/parsers_fuzz "$corpus" -max_total_time="$secs" -rss_limit_mb=2048 \
    -artifact_prefix=build-fuzz/ \
    -malloc_limit_mb=1024 -print_final_stats=1 2>&1 | tail -15
  exit "${PIPESTATUS[0]}"
fi
corpus=build-fuzz/corpus
mkdir -p "$corpus"
data=/usr/share/libonnx-testdata/data/node
for t in test_conv_with_strides_padding test_relu test_gemm_default_matrix_bias test_reshape_reordered_all_dims \
         test_maxpool_2d_pads test_batchnorm_example test_concat_2d_axis_0 test_slice test_resize_upsample_scales_linear; do
  [ -f "$data/$t/model.onnx" ] && cp "$data/$t/model.onnx" "$corpus/$t.onnx"
done
[ -x build/frugal ] && ./build/frugal zoo lenet5 -o "$corpus/lenet5.onnx" >/dev/null || true
# -rss_limit_mb bounds memory: the loader must never try a huge allocation.
./build-fuzz/onnx_loader_fuzz "$corpus" -max_total_time="$secs" -rss_limit_mb=2048 \
  -malloc_limit_mb=1024 -print_final_stats=1 2>&1 | tail -15
