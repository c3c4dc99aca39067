#!/usr/bin/env bash
# The GPU benchmark of docs/cuda.md (issue 18). On a machine with an NVIDIA GPU and the CUDA
# toolkit with cuDNN (aimed at under 5 minutes on an H100):
#   1. builds frugal with FRUGAL_CUDA=ON into $BUILD (default build-gpu; reused if there),
#   2. runs the GPU tests (test_cuda: every cuda kernel and the zoo CNNs against ref),
#   3. benchmarks resnet18, resnet50, mobilenet_v2, efficientnet_b0 (when the zoo has it) and
#      squeezenet1_1 at batch 1, 8 and 64 in fp32, tf32 and fp16 on `--backend cuda,ref`
#      (frugal bench, single stream, NVML energy with idle power first), and PyTorch on the
#      same GPU where torch with CUDA and torchvision are installed (bench/gpu/torch_peer.py:
#      eager with cudnn.benchmark, and CUDA graphs, same precision),
#   4. writes the table (bench/gpu/table.py) to $OUT/table.md and appends it, with the
#      machine line, to bench/RESULTS.md.
# Environment: BUILD, OUT (default bench/gpu/out), JOBS, DURATION (s per run, default 1),
# MODELS, BATCHES, PRECISIONS (space-separated overrides), SKIP_TESTS=1.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build-gpu}
OUT=${OUT:-bench/gpu/out}
JOBS=${JOBS:-$(nproc)}
DURATION=${DURATION:-1}
MODELS=${MODELS:-"resnet18 resnet50 mobilenet_v2 efficientnet_b0 squeezenet1_1"}
BATCHES=${BATCHES:-"1 8 64"}
PRECISIONS=${PRECISIONS:-"fp32 tf32 fp16"}
start=$(date +%s)
mkdir -p "$OUT"
rm -f "$OUT"/*.json "$OUT"/torch.jsonl "$OUT"/table.md

if ! command -v nvidia-smi >/dev/null || ! nvidia-smi -L >"$OUT/gpu.txt" 2>&1; then
  echo "bench/gpu/run.sh: no NVIDIA GPU here (nvidia-smi -L failed): nothing measured" >&2
  exit 1
fi
nvidia-smi --query-gpu=name,driver_version,power.limit,clocks.max.sm --format=csv,noheader >>"$OUT/gpu.txt" || true

echo "== build ($BUILD, FRUGAL_CUDA=ON)"
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFRUGAL_CUDA=ON \
  -DFRUGAL_BUILD_BENCH=OFF -DFRUGAL_FUZZ=OFF >"$OUT/configure.log"
cmake --build "$BUILD" -j "$JOBS" --target frugal_cli test_cuda >"$OUT/build.log"
frugal="$BUILD/frugal"
echo "   built in $(( $(date +%s) - start )) s"

if [ "${SKIP_TESTS:-0}" != 1 ]; then
  echo "== GPU tests (test_cuda)"
  if timeout 240 "$BUILD/test_cuda" >"$OUT/test_cuda.log" 2>&1; then
    grep -E "^\[  (PASSED|SKIPPED) " "$OUT/test_cuda.log" || true
  else
    echo "   test_cuda FAILED or timed out (see $OUT/test_cuda.log):"; grep -E "FAILED|Failure" "$OUT/test_cuda.log" | head -20
  fi
  grep "\[ observed \]" "$OUT/test_cuda.log" || true
fi

torch_ok=0
if python3 "$(dirname "$0")/torch_peer.py" --model resnet18 --batch 1 --precision fp32 --iters 1 >/dev/null 2>"$OUT/torch_probe.txt"; then
  torch_ok=1
else
  echo "== PyTorch peer not run: $(cat "$OUT/torch_probe.txt" | tail -1)"
fi

echo "== benchmarks"
for m in $MODELS; do
  if ! "$frugal" zoo "$m" -o "$OUT/$m.onnx" >/dev/null 2>"$OUT/zoo_$m.err"; then
    echo "   $m: not in frugal's zoo ($(head -1 "$OUT/zoo_$m.err")): skipped"
    continue
  fi
  for p in $PRECISIONS; do
    for b in $BATCHES; do
      "$frugal" bench "$OUT/$m.onnx" --backend cuda,ref --precision "$p" --batch "$b" \
        --duration "$DURATION" --power auto --idle-seconds 0.5 --json \
        >"$OUT/${m}_${p}_b${b}.json" 2>"$OUT/${m}_${p}_b${b}.err" ||
        echo "   $m $p batch $b: frugal bench failed: $(tail -1 "$OUT/${m}_${p}_b${b}.err")"
      if [ "$torch_ok" = 1 ]; then
        python3 "$(dirname "$0")/torch_peer.py" --model "$m" --batch "$b" --precision "$p" \
          >>"$OUT/torch.jsonl" 2>>"$OUT/torch.err" || true
      fi
    done
  done
  echo "   $m done at $(( $(date +%s) - start )) s"
done

python3 "$(dirname "$0")/table.py" "$OUT" >"$OUT/table.md"
cat "$OUT/table.md"
{
  echo
  echo "## GPU: frugal cuda vs PyTorch ($(date -u +%Y-%m-%d), bench/gpu/run.sh)"
  echo
  cat "$OUT/table.md"
} >>bench/RESULTS.md
echo "== done in $(( $(date +%s) - start )) s; table appended to bench/RESULTS.md"
