#!/usr/bin/env bash
# The GPU benchmark of docs/cuda.md (issue 18). On a machine with an NVIDIA GPU and the CUDA
# toolkit with cuDNN (aimed at under 5 minutes on an H100):
#   1. builds frugal with FRUGAL_CUDA=ON into $BUILD (default build-gpu; reused if there),
#   2. runs the GPU tests (test_cuda: every cuda kernel and the zoo CNNs against ref),
#   3. benchmarks resnet18, resnet50, mobilenet_v2, efficientnet_b0 (skipped with the zoo's
#      message where a build's zoo lacks it) and squeezenet1_1 at batch 1, 8 and 64 in fp32,
#      tf32 and fp16 on `--backend cuda,ref` (frugal bench, single stream, device graphs on,
#      NVML energy with idle power first; int8 with random calibration runs Gemm/MatMul and
#      every convolution in int8: depthwise and grouped ones, as in mobilenet_v2 and
#      efficientnet_b0, on the direct int32 kernel; the count of those steps in
#      mobilenet_v2's int8 plan is printed), at batch 1 also
#      with `--device-graphs off` (every kernel launched), and PyTorch on the same GPU where
#      torch with CUDA and torchvision are installed (bench/gpu/torch_peer.py: eager with
#      cudnn.benchmark, and CUDA graphs, same precision),
#   3b. convnext_tiny (LayerNormalization, Gelu and MatMul+sum on the GPU): its plan on
#      cuda,ref must leave nothing to ref (printed); batch 1 and 64 in fp32, fp16 and int8,
#      rows of the same table (CONVNEXT=0 leaves it out),
#   3c. bert_base (bench/peers/make_vit --bert, sequence 128; where the build has the bench
#      targets): its plan on cuda,ref with the Gathers on cuda counted (the embeddings read
#      run-time int64 ids) and the steps left to ref printed; batch 1 and 8 in fp32, fp16 and int8 with
#      valid ids (bench/gpu/bert_inputs.py), rows of the same table (BERT=0 leaves it out),
#   4. the CPU-versus-GPU table of the study: resnet50 and mobilenet_v2 at batch 1 and 64 on
#      the host CPU (all cores: fp32, bf16, int8, 90%-pruned int8) and on the GPU (fp32, fp16,
#      int8),
#   5. writes both tables (bench/gpu/table.py) to $OUT/table.md and appends them, with the
#      machine line, to bench/RESULTS.md.
# The build (step 1) is not counted in the 5 minutes: reuse $BUILD to rerun.
# Environment: BUILD, OUT (default bench/gpu/out), JOBS, DURATION (s per run, default 1),
# MODELS, BATCHES, PRECISIONS (space-separated overrides), SKIP_TESTS=1, SKIP_CPU=1 (no
# CPU-versus-GPU table), CONVNEXT=0, BERT=0 (leave those sections out).
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build-gpu}
OUT=${OUT:-bench/gpu/out}
JOBS=${JOBS:-$(nproc)}
DURATION=${DURATION:-1}
MODELS=${MODELS:-"resnet18 resnet50 mobilenet_v2 efficientnet_b0 squeezenet1_1"}
BATCHES=${BATCHES:-"1 8 64"}
PRECISIONS=${PRECISIONS:-"fp32 tf32 fp16 int8"}
start=$(date +%s)
mkdir -p "$OUT/eager" "$OUT/cpu_gpu"
rm -f "$OUT"/*.json "$OUT"/eager/*.json "$OUT"/cpu_gpu/*.json "$OUT"/torch.jsonl "$OUT"/table.md

if ! command -v nvidia-smi >/dev/null || ! nvidia-smi -L >"$OUT/gpu.txt" 2>&1; then
  echo "bench/gpu/run.sh: no NVIDIA GPU here (nvidia-smi -L failed): nothing measured" >&2
  exit 1
fi
nvidia-smi --query-gpu=name,driver_version,power.limit,clocks.max.sm --format=csv,noheader >>"$OUT/gpu.txt" || true

echo "== build ($BUILD, FRUGAL_CUDA=ON)"
# The bench targets (make_vit, for BERT) need Google Benchmark; without it, build without.
targets=(frugal_cli test_cuda make_vit)
if ! cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFRUGAL_CUDA=ON \
  -DFRUGAL_BUILD_BENCH=ON -DFRUGAL_FUZZ=OFF >"$OUT/configure.log" 2>&1; then
  targets=(frugal_cli test_cuda)
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFRUGAL_CUDA=ON \
    -DFRUGAL_BUILD_BENCH=OFF -DFRUGAL_FUZZ=OFF >"$OUT/configure.log"
fi
cmake --build "$BUILD" -j "$JOBS" --target "${targets[@]}" >"$OUT/build.log"
frugal="$BUILD/frugal"
echo "   built in $(( $(date +%s) - start )) s"
start=$(date +%s)  # the 5 minutes count from here

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
    # int8 on the GPU: Gemm/MatMul and Conv (docs/cuda.md), random calibration.
    calibration=()
    [ "$p" = int8 ] && calibration=(--calibration random:4)
    for b in $BATCHES; do
      "$frugal" bench "$OUT/$m.onnx" --backend cuda,ref --precision "$p" --batch "$b" \
        --duration "$DURATION" --power auto --idle-seconds 0.5 --json "${calibration[@]}" \
        >"$OUT/${m}_${p}_b${b}.json" 2>"$OUT/${m}_${p}_b${b}.err" ||
        echo "   $m $p batch $b: frugal bench failed: $(tail -1 "$OUT/${m}_${p}_b${b}.err")"
      if [ "$b" = 1 ]; then
        "$frugal" bench "$OUT/$m.onnx" --backend cuda,ref --precision "$p" --batch 1 \
          --duration "$DURATION" --device-graphs off --json "${calibration[@]}" \
          >"$OUT/eager/${m}_${p}_b1.json" 2>"$OUT/eager/${m}_${p}_b1.err" ||
          echo "   $m $p batch 1, device graphs off: failed: $(tail -1 "$OUT/eager/${m}_${p}_b1.err")"
      fi
      if [ "$torch_ok" = 1 ] && [ "$p" != int8 ]; then  # torch_peer has no int8
        python3 "$(dirname "$0")/torch_peer.py" --model "$m" --batch "$b" --precision "$p" \
          >>"$OUT/torch.jsonl" 2>>"$OUT/torch.err" || true
      fi
    done
  done
  echo "   $m done at $(( $(date +%s) - start )) s"
done

if [ -f "$OUT/mobilenet_v2.onnx" ]; then  # its 17 depthwise convolutions on cuda:int8
  "$frugal" info "$OUT/mobilenet_v2.onnx" --plan --backend cuda,ref --precision int8 \
    --calibration random:4 >"$OUT/mobilenet_v2_int8_plan.txt" 2>&1 || true
  echo "   mobilenet_v2 int8 plan: $(grep -c 'cuda:depthwise:int8' "$OUT/mobilenet_v2_int8_plan.txt" || true)" \
    "depthwise steps on cuda:depthwise:int8 (17 expected; $OUT/mobilenet_v2_int8_plan.txt)"
fi

if [ "${CONVNEXT:-1}" = 1 ] && "$frugal" zoo convnext_tiny -o "$OUT/convnext_tiny.onnx" \
  >/dev/null 2>"$OUT/zoo_convnext_tiny.err"; then
  echo "== convnext_tiny"
  "$frugal" info "$OUT/convnext_tiny.onnx" --plan --backend cuda,ref \
    >"$OUT/convnext_tiny_plan.txt" 2>&1 || true
  echo "   plan on cuda,ref: $(grep -cE '^ *[0-9]+ .* ref ' "$OUT/convnext_tiny_plan.txt" || true)" \
    "steps on ref (0 expected; $OUT/convnext_tiny_plan.txt)"
  for p in fp32 fp16 int8; do
    calibration=()
    [ "$p" = int8 ] && calibration=(--calibration random:4)
    for b in 1 64; do
      "$frugal" bench "$OUT/convnext_tiny.onnx" --backend cuda,ref --precision "$p" --batch "$b" \
        --duration "$DURATION" --power auto --idle-seconds 0.5 --json "${calibration[@]}" \
        >"$OUT/convnext_tiny_${p}_b${b}.json" 2>"$OUT/convnext_tiny_${p}_b${b}.err" ||
        echo "   convnext_tiny $p batch $b: failed: $(tail -1 "$OUT/convnext_tiny_${p}_b${b}.err")"
    done
  done
  echo "   convnext_tiny done at $(( $(date +%s) - start )) s"
fi

make_vit="$BUILD/bench/make_vit"
# make_vit writes 440 MB of random weights (17 s on a loaded 2-core machine): kept for reruns.
if [ "${BERT:-1}" = 1 ] && [ -x "$make_vit" ] && { [ -f "$OUT/bert_base.onnx" ] ||
  "$make_vit" "$OUT/bert_base.onnx" --bert >/dev/null 2>"$OUT/make_bert.err"; }; then
  echo "== bert_base"
  "$frugal" info "$OUT/bert_base.onnx" --plan --backend cuda,ref >"$OUT/bert_base_plan.txt" 2>&1 || true
  echo "   plan on cuda,ref: $(grep -cE '^ *[0-9]+ +Gather_[0-9]+ .* cuda ' "$OUT/bert_base_plan.txt" || true)" \
    "Gather steps on cuda (3 expected: the word and token-type embeddings, run-time ids, and the pooler's first token), $(grep -cE '^ *[0-9]+ .* ref ' \
    "$OUT/bert_base_plan.txt" || true) steps on ref (the int64 mask arithmetic; $OUT/bert_base_plan.txt)"
  for b in 1 8; do
    python3 "$(dirname "$0")/bert_inputs.py" "$OUT" "$b" 128 30522
    inputs=(--input "$OUT/input_ids_b$b.npy" "$OUT/attention_mask_b$b.npy" "$OUT/token_type_ids_b$b.npy")
    for p in fp32 fp16 int8; do
      calibration=()
      # Ranges observed on the same ids (calibration runs on cuda in fp32, then ref).
      [ "$p" = int8 ] && calibration=(--calibration "$OUT/input_ids_b$b.npy,$OUT/attention_mask_b$b.npy,$OUT/token_type_ids_b$b.npy")
      "$frugal" bench "$OUT/bert_base.onnx" --backend cuda,ref --precision "$p" --batch "$b" \
        --duration "$DURATION" --power auto --idle-seconds 0.5 --json "${inputs[@]}" "${calibration[@]}" \
        >"$OUT/bert_base_${p}_b${b}.json" 2>"$OUT/bert_base_${p}_b${b}.err" ||
        echo "   bert_base $p batch $b: failed: $(tail -1 "$OUT/bert_base_${p}_b${b}.err")"
    done
  done
  echo "   bert_base done at $(( $(date +%s) - start )) s"
elif [ "${BERT:-1}" = 1 ]; then
  echo "== bert_base not run: no $make_vit (the build has no bench targets) or it failed"
fi

# The CPU-versus-GPU table: the same two models on every host core and on the GPU. The
# pruned model is 90% global magnitude pruning then int8 QDQ (random calibration: the zoo
# models have random weights, so no accuracy applies).
if [ "${SKIP_CPU:-0}" != 1 ]; then
  echo "== CPU versus GPU"
  cores=$(nproc)
  bench_row() {  # LABEL MODEL_FILE BATCH frugal-bench-options...
    local label=$1 file=$2 b=$3; shift 3
    "$frugal" bench "$file" --batch "$b" --duration "$DURATION" --min-queries 3 --power auto \
      --idle-seconds 0.5 --json "$@" >"$OUT/cpu_gpu/${label}_b${b}.json" \
      2>"$OUT/cpu_gpu/${label}_b${b}.err" ||
      echo "   $label batch $b: failed: $(tail -1 "$OUT/cpu_gpu/${label}_b${b}.err")"
  }
  for m in resnet50 mobilenet_v2; do
    [ -f "$OUT/$m.onnx" ] || "$frugal" zoo "$m" -o "$OUT/$m.onnx" >/dev/null
    "$frugal" compress "$OUT/$m.onnx" --prune global:0.9 --quant int8 --calibration random:4 \
      -o "$OUT/${m}_p90_int8.onnx" \
      >"$OUT/cpu_gpu/${m}_compress.log" 2>&1 ||
      echo "   $m: pruning + int8 failed: $(tail -1 "$OUT/cpu_gpu/${m}_compress.log")"
    for b in 1 64; do
      for p in fp32 bf16 int8; do
        calibration=()
        [ "$p" = int8 ] && calibration=(--calibration random:4)
        bench_row "${m}__cpu-${p}" "$OUT/$m.onnx" "$b" --backend cpu,ref --precision "$p" \
          --threads "$cores" "${calibration[@]}"
      done
      [ -f "$OUT/${m}_p90_int8.onnx" ] &&
        bench_row "${m}__cpu-p90-int8" "$OUT/${m}_p90_int8.onnx" "$b" --backend cpu,ref \
          --precision int8 --threads "$cores"
      for p in fp32 fp16; do
        bench_row "${m}__gpu-${p}" "$OUT/$m.onnx" "$b" --backend cuda,ref --precision "$p"
      done
      bench_row "${m}__gpu-int8" "$OUT/$m.onnx" "$b" --backend cuda,ref --precision int8 \
        --calibration random:4
    done
    echo "   $m done at $(( $(date +%s) - start )) s"
  done
fi

python3 "$(dirname "$0")/table.py" "$OUT" >"$OUT/table.md"
cat "$OUT/table.md"
{
  echo
  echo "## GPU: frugal cuda vs PyTorch, and CPU versus GPU ($(date -u +%Y-%m-%d), bench/gpu/run.sh)"
  echo
  cat "$OUT/table.md"
} >>bench/RESULTS.md
echo "== done in $(( $(date +%s) - start )) s; table appended to bench/RESULTS.md"
