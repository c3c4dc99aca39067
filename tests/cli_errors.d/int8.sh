# cpu:int8 regions and fallback report: bad input to --precision int8 paths.
# Sourced by ../cli_errors.sh (expect, $frugal, $tmp, $tmp/lenet5.onnx).
printf '{"schema": "frugal.ranges/1", "ranges": {"input": {"min": 1, "max": -1}}}' >"$tmp/bad_ranges.json"
expect 1 "--precision int8: needs activation ranges" -- "$frugal" info "$tmp/lenet5.onnx" --plan --backend cpu,ref --precision int8
expect 1 "--calibration: applies to --precision int8" -- "$frugal" info "$tmp/lenet5.onnx" --plan --calibration "$tmp/bad_ranges.json"
expect 1 "bad_ranges.json" -- "$frugal" info "$tmp/lenet5.onnx" --plan --backend cpu,ref --precision int8 --calibration "$tmp/bad_ranges.json"
