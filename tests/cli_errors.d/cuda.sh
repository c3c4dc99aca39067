# The cuda backend (docs/cuda.md). Without a GPU: `--backend cuda` alone is one line saying
# why (cudaGetDeviceCount's reason); listed before cpu, every node falls back and the plan
# says so. Where a GPU is present, or the build has no CUDA backend, these checks say so.
"$frugal" info "$tmp/lenet5.onnx" --plan --backend cuda >"$tmp/cuda_out" 2>"$tmp/cuda_err"
cuda_rc=$?
if [ "$cuda_rc" -eq 0 ]; then
  echo "note: a GPU is present: the no-GPU cases of cli_errors.d/cuda.sh do not apply"
elif grep -qF "unknown backend 'cuda'" "$tmp/cuda_err"; then
  echo "note: this build has no cuda backend (FRUGAL_CUDA off): cli_errors.d/cuda.sh checks the unknown-backend error only"
  expect 1 "--backend: unknown backend 'cuda'" -- "$frugal" run "$tmp/lenet5.onnx" --backend cuda
else
  expect 1 "--backend cuda: no GPU here (cudaGetDeviceCount" -- "$frugal" run "$tmp/lenet5.onnx" --backend cuda
  expect 1 "--backend cuda:fp16: no GPU here" -- "$frugal" run "$tmp/lenet5.onnx" --backend cuda --precision fp16
  if ! "$frugal" info "$tmp/lenet5.onnx" --plan --backend cuda,cpu 2>"$tmp/err" |
      grep -q "^fallbacks .* declined by cuda, 100.0% of the MACs"; then
    echo "FAIL: info --plan --backend cuda,cpu without a GPU does not report the fallback to cpu"; cat "$tmp/err"; fails=$((fails+1))
  fi
  if ! "$frugal" info "$tmp/lenet5.onnx" --plan --backend cuda,cpu 2>/dev/null | grep -q "on cpu: cuda: no GPU here"; then
    echo "FAIL: info --plan --backend cuda,cpu does not give the reason (no GPU here)"; fails=$((fails+1))
  fi
  # auto leaves an absent GPU out.
  expect 0 "" -- "$frugal" run "$tmp/lenet5.onnx"
fi
expect 1 "--precision: 'fp8' is not one of fp32" -- "$frugal" run "$tmp/lenet5.onnx" --precision fp8
# --precision int8 puts the GPU's int8 variant first (Gemm/MatMul only, so cuda follows it),
# then the cpu's: without a GPU both cuda entries decline every node with the reason.
if [ "$cuda_rc" -ne 0 ] && ! grep -qF "unknown backend 'cuda'" "$tmp/cuda_err"; then
  if ! "$frugal" info "$tmp/lenet5.onnx" --plan --backend cuda,cpu --precision int8 --calibration random:2 2>"$tmp/err" |
      grep -qF "plan (backends: cuda:int8,cuda,cpu:int8,cpu"; then
    echo "FAIL: --precision int8 --backend cuda,cpu does not resolve to cuda:int8,cuda,cpu:int8,cpu"; cat "$tmp/err"; fails=$((fails+1))
  fi
fi
