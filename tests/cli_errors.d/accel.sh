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
expect 1 "--cost synthesized: no synthesized MAC e4m3 x e4m3 + fp16" -- "$frugal" accel "$tmp/lenet5.onnx" --arch eyeriss --format w=e4m3,a=e4m3,acc=fp16 --cost synthesized
# An accel device (a modeled accelerator as a pipeline device): its arch, format and the layer
# that does not fit, each placed in the devices file.
printf 'devices:\n  - name: a\n    kind: accel\n    arch: nosuch\n    link_bytes_per_s: 1G\n' >"$tmp/accel_arch.yaml"
printf 'devices:\n  - name: a\n    kind: accel\n    arch: eyeriss\n    format: w=e4m3,acc=binary\n    link_bytes_per_s: 1G\n' >"$tmp/accel_fmt.yaml"
printf 'devices:\n  - name: a\n    kind: accel\n    arch: %s\n    link_bytes_per_s: 1G\n' "$tmp/tinyrf.yaml" >"$tmp/accel_tiny.yaml"
expect 1 "accel_arch.yaml:4:11: arch: 'nosuch' is neither a preset" -- "$frugal" partition "$tmp/lenet5.onnx" --devices "$tmp/accel_arch.yaml" --stages 1
expect 1 "accel_fmt.yaml:5:13: format: the accelerator model cannot price acc=binary" -- "$frugal" pipeline "$tmp/lenet5.onnx" --simulate --devices "$tmp/accel_fmt.yaml" --stages 1
expect 1 "layer 'conv1' (Conv) on '" -- "$frugal" pipeline "$tmp/lenet5.onnx" --simulate --devices "$tmp/accel_tiny.yaml" --stages 1
