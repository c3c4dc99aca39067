# frugal accel (src/frugal/accel): bad architectures, dataflows and formats name the culprit.
printf 'pe_array: {rows: 4, cols: [\n' >"$tmp/badarch.yaml"
printf 'pe_array: {rows: 1, cols: 1}\nregister_file: {weights: 1, inputs: 1, psums: 1}\ndataflow: rs\n' >"$tmp/tinyrf.yaml"
expect 1 "badarch.yaml:2:1: YAML syntax error" -- "$frugal" accel "$tmp/lenet5.onnx" --arch "$tmp/badarch.yaml"
expect 1 "layer 'conv1' (Conv) on '" -- "$frugal" accel "$tmp/lenet5.onnx" --arch "$tmp/tinyrf.yaml"
expect 1 "dataflow rs: even the smallest tile does not fit: the register file for weights (1 bytes per PE)" -- "$frugal" accel "$tmp/lenet5.onnx" --arch "$tmp/tinyrf.yaml"
expect 1 "--dataflow: unknown dataflow 'xs'" -- "$frugal" accel "$tmp/lenet5.onnx" --arch eyeriss --dataflow xs
expect 1 "cannot price acc=binary" -- "$frugal" accel "$tmp/lenet5.onnx" --arch eyeriss --format w=int8,acc=binary
expect 1 "--arch: 'nosuch' is neither a preset" -- "$frugal" accel "$tmp/lenet5.onnx" --arch nosuch
expect 1 "--objective: unknown objective 'speed'" -- "$frugal" accel "$tmp/lenet5.onnx" --arch eyeriss --objective speed
