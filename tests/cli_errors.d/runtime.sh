# Session-building options (runtime/plan.h): the default backend list, threads per node.
expect 1 "--parallel-min-us: must be 0 or more" -- "$frugal" run "$tmp/lenet5.onnx" --threads 2 --parallel-min-us -3
expect 1 "--backend: unknown backend 'nope' (available: auto," -- "$frugal" info "$tmp/lenet5.onnx" --plan --backend nope
# --sparse is checked whatever the backends (the cpu backend's check, kernels::check_backend_config).
expect 1 "--sparse: 'bogus' is not a sparse mode" -- "$frugal" run "$tmp/lenet5.onnx" --backend ref --sparse bogus
# The default is auto, and info --plan says what it chose: cpu then ref on a machine without a
# GPU; cuda first where the cuda backend can be made (a GPU is present, docs/cuda.md).
auto_list=cpu,ref
if "$frugal" info "$tmp/lenet5.onnx" --plan --backend cuda >/dev/null 2>&1; then auto_list=cuda,cpu,ref; fi
if ! "$frugal" info "$tmp/lenet5.onnx" --plan 2>"$tmp/err" | grep -qF "plan (backends: $auto_list, from auto)"; then
  echo "FAIL: info --plan without --backend does not show auto resolved to $auto_list"; cat "$tmp/err"; fails=$((fails+1))
fi
expect 1 "--device-graphs: 'on' or 'off', not 'maybe'" -- "$frugal" run "$tmp/lenet5.onnx" --device-graphs maybe
# With --threads 2, info --plan says which steps stay on one thread.
if ! "$frugal" info "$tmp/lenet5.onnx" --plan --threads 2 2>"$tmp/err" | grep -q "^threads .* steps run on 1 thread"; then
  echo "FAIL: info --plan --threads 2 does not report the single-threaded steps"; cat "$tmp/err"; fails=$((fails+1))
fi
