# frugal pipeline: bad queue, more stages than devices, a modeled device without
# --simulate, a folder whose manifest does not chain, a bad placement (issue 15).
expect 1 "--queue: a queue must hold at least 1 item (got 0)" -- "$frugal" pipeline "$tmp/lenet5.onnx" --stages 1 --queue 0
expect 1 "--stages 3: edgetpu-usb has only 1 device" -- "$frugal" pipeline "$tmp/lenet5.onnx" --stages 3 --devices edgetpu-usb --precision int8 --simulate
expect 1 "only --simulate runs it" -- "$frugal" pipeline "$tmp/lenet5.onnx" --stages 1 --devices edgetpu-usb --precision int8
expect 1 "--place 0,x" -- "$frugal" pipeline "$tmp/lenet5.onnx" --stages 2 --devices edgetpu-x8 --place 0,x --simulate --precision int8
expect 1 "--place: device 9" -- "$frugal" pipeline "$tmp/lenet5.onnx" --stages 2 --devices edgetpu-x8 --place 0,9 --simulate --precision int8
"$frugal" partition "$tmp/lenet5.onnx" --stages 2 --devices edgetpu-x8 -o "$tmp/pipe_seg" >/dev/null
sed -i '0,/"name": "/s//"name": "renamed_/' "$tmp/pipe_seg/manifest.json"
expect 1 "manifest.json: segments do not chain: segment 0 (segment_0.onnx) reads" -- "$frugal" pipeline "$tmp/pipe_seg" --devices edgetpu-x8 --simulate --precision int8
