# frugal compress --quant / --max-drop (prune then quantize; accuracy-driven mixed precision).
expect 1 "--max-drop: needs --quant int8" -- "$frugal" compress "$tmp/lenet5.onnx" -o "$tmp/c.onnx" --prune 0.5 --max-drop 0.5
expect 1 "--max-drop: needs --data" -- "$frugal" compress "$tmp/lenet5.onnx" -o "$tmp/c.onnx" --quant int8 --calibration random:4 --max-drop 0.5
expect 1 "--quant need -o" -- "$frugal" compress "$tmp/lenet5.onnx" --quant int8 --calibration random:4
expect 1 "--quant 'int3'" -- "$frugal" compress "$tmp/lenet5.onnx" -o "$tmp/c.onnx" --prune 0.5 --quant int3 --calibration random:4
expect 1 "--latency-runs" -- "$frugal" compress "$tmp/lenet5.onnx" -o "$tmp/c.onnx" --quant int8 --calibration random:4 --latency-runs 0
expect 1 "is the input model" -- "$frugal" quantize "$tmp/lenet5.onnx" -o "$tmp/lenet5.onnx" --quant int8 --calibration random:4
# prune then quantize end to end on random calibration: a QDQ model and its ranges file
expect 0 "only 8" -- "$frugal" compress "$tmp/lenet5.onnx" -o "$tmp/pq.onnx" --prune 0.5 --quant int8 --calibration random:8
if [ ! -s "$tmp/pq.onnx" ] || [ ! -s "$tmp/pq.ranges.json" ]; then
  echo "FAIL: compress --prune --quant wrote no pq.onnx / pq.ranges.json"; fails=$((fails+1))
fi
# a QDQ model brings its own scales: --precision int8 needs no --calibration
if ! "$frugal" run "$tmp/pq.onnx" --backend cpu,ref --precision int8 >"$tmp/out" 2>"$tmp/err"; then
  echo "FAIL: frugal run pq.onnx --precision int8 (QDQ, no --calibration):"; cat "$tmp/err"; fails=$((fails+1))
else
  passes=$((passes+1))
fi
