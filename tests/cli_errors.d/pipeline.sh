# frugal extract / partition / info --segments: model surgery and segmentation (issue 15).
expect 1 "outputs: no value named 'nosuch'" -- "$frugal" extract "$tmp/lenet5.onnx" --inputs input --outputs nosuch -o "$tmp/sub.onnx"
expect 1 "is a graph input outside the cut" -- "$frugal" extract "$tmp/lenet5.onnx" --outputs logits -o "$tmp/sub.onnx"
