# frugal extract / partition / info --segments: model surgery and segmentation (issue 15).
expect 1 "outputs: no value named 'nosuch'" -- "$frugal" extract "$tmp/lenet5.onnx" --inputs input --outputs nosuch -o "$tmp/sub.onnx"
expect 1 "is a graph input outside the cut" -- "$frugal" extract "$tmp/lenet5.onnx" --outputs logits -o "$tmp/sub.onnx"
expect 1 "--stages 40: the model has only" -- "$frugal" partition "$tmp/lenet5.onnx" --stages 40 --devices edgetpu-x8
expect 1 "has only 1 devices" -- "$frugal" partition "$tmp/lenet5.onnx" --stages 2 --devices edgetpu-usb
expect 1 "--stages: must be at least 1" -- "$frugal" partition "$tmp/lenet5.onnx" --stages -1 --devices edgetpu-usb
expect 1 "unknown preset 'edgetpu-x9'" -- "$frugal" partition "$tmp/lenet5.onnx" --devices edgetpu-x9
expect 1 "--method: unknown method 'best'" -- "$frugal" partition "$tmp/lenet5.onnx" --devices edgetpu-usb --method best
printf 'devices:\n  - name: a\n    kind: cpu\n    cores: [0\n' >"$tmp/broken.yaml"
expect 1 "broken.yaml:5:" -- "$frugal" partition "$tmp/lenet5.onnx" --devices "$tmp/broken.yaml"
printf 'devices:\n  - name: a\n    kind: tpu\n' >"$tmp/kind.yaml"
expect 1 "kind.yaml:3:11: unknown device kind 'tpu'" -- "$frugal" partition "$tmp/lenet5.onnx" --devices "$tmp/kind.yaml"
# A segment that fits no device's memory: named with its bytes and the limit; nothing written.
printf 'devices:\n  - {name: small, kind: model, count: 2, memory_bytes: 20000, peak_macs_per_s: {fp32: 1G}, link_bytes_per_s: 1G}\n' >"$tmp/small.yaml"
expect 1 "bytes, device 'small" -- "$frugal" partition "$tmp/lenet5.onnx" --stages 2 --devices "$tmp/small.yaml" -o "$tmp/seg_small"
[ ! -e "$tmp/seg_small" ] || { echo "FAIL: partition left $tmp/seg_small behind"; fails=$((fails+1)); }
# Ops a device cannot run.
printf 'devices:\n  - {name: convs, kind: model, peak_macs_per_s: {fp32: 1G}, link_bytes_per_s: 1G, ops: [Conv, Gemm]}\n' >"$tmp/convs.yaml"
expect 1 "device 'convs' cannot run Relu" -- "$frugal" partition "$tmp/lenet5.onnx" --devices "$tmp/convs.yaml" -o "$tmp/seg_ops"
[ ! -e "$tmp/seg_ops" ] || { echo "FAIL: partition left $tmp/seg_ops behind"; fails=$((fails+1)); }
expect 1 "has no peak_macs_per_s for fp32" -- "$frugal" partition "$tmp/lenet5.onnx" --devices edgetpu-usb --precision fp32
# A manifest whose segments do not chain.
"$frugal" partition "$tmp/lenet5.onnx" --stages 2 --devices edgetpu-x8 -o "$tmp/seg" >/dev/null
sed -i '0,/"name": "/s//"name": "renamed_/' "$tmp/seg/manifest.json"
expect 1 "manifest.json: segments do not chain: segment 0 (segment_0.onnx) reads" -- "$frugal" info --segments "$tmp/seg"
expect 1 "manifest.json: cannot read" -- "$frugal" info --segments "$tmp"
expect 1 "exists and is not a segments folder" -- "$frugal" partition "$tmp/lenet5.onnx" --devices edgetpu-usb -o "$tmp"
