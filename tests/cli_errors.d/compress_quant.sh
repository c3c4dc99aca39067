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
# --precision-map FILE.json (what compress --max-drop writes): per-node fp32/bf16/int8
printf '{"conv1": "int4"}' >"$tmp/pm_bad.json"
printf '{"nosuch": "bf16"}' >"$tmp/pm_node.json"
printf '[1, 2]' >"$tmp/pm_list.json"
printf '{"conv1": "bf16", "fc1": "fp32"}' >"$tmp/pm_ok.json"
expect 1 "node 'conv1': 'int4' is not fp32, bf16 or int8" -- "$frugal" run "$tmp/lenet5.onnx" --backend cpu,ref --precision-map "$tmp/pm_bad.json"
expect 1 "no node named 'nosuch'" -- "$frugal" run "$tmp/lenet5.onnx" --backend cpu,ref --precision-map "$tmp/pm_node.json"
expect 1 "expected an object" -- "$frugal" run "$tmp/lenet5.onnx" --backend cpu,ref --precision-map "$tmp/pm_list.json"
expect 1 "pm_missing.json: cannot read" -- "$frugal" run "$tmp/lenet5.onnx" --backend cpu,ref --precision-map "$tmp/pm_missing.json"
expect 1 "--precision-map: applies to the cpu backend" -- "$frugal" run "$tmp/lenet5.onnx" --backend ref --precision-map "$tmp/pm_ok.json"
if ! "$frugal" info "$tmp/lenet5.onnx" --plan --backend cpu,ref --precision-map "$tmp/pm_ok.json" 2>"$tmp/err" | grep -q "cpu:bf16"; then
  echo "FAIL: --precision-map conv1=bf16 did not put conv1 on cpu:bf16"; cat "$tmp/err"; fails=$((fails+1))
else
  passes=$((passes+1))
fi
