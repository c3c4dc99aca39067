# frugal train --binarize: STE training of binary/ternary layers (train/binarize_train.h).
expect 1 "--binarize 'int1': must be binary or ternary" -- "$frugal" train lenet5 --binarize int1 --limit 32 -o "$tmp/bt.onnx"
expect 1 "--binarize 'binary:packed': ':packed' needs ':acts'" -- "$frugal" train lenet5 --binarize binary:packed --limit 32 -o "$tmp/bt.onnx"
expect 1 "--binarize cannot be combined with --qat" -- "$frugal" train lenet5 --binarize binary --qat int8 --limit 32 -o "$tmp/bt.onnx"
expect 1 "--binarize cannot be combined with --circulant" -- "$frugal" train lenet5 --binarize binary --circulant 4 --limit 32 -o "$tmp/bt.onnx"
expect 1 "--binarize cannot be combined with --cluster" -- "$frugal" train lenet5 --binarize binary --cluster keep --limit 32 -o "$tmp/bt.onnx"
expect 1 "--binarize cannot be combined with --prune" -- "$frugal" train lenet5 --binarize ternary --prune 0.5 --limit 32 -o "$tmp/bt.onnx"
expect 1 "no Conv/Gemm/MatMul layer to binarize" -- "$frugal" train lenet5 --binarize binary --binarize-exclude 'conv2,fc1,fc2' --limit 32 -o "$tmp/bt.onnx"
expect 1 "--binarize-exclude and --binarize-clip need --binarize" -- "$frugal" train lenet5 --binarize-clip --limit 32 -o "$tmp/bt.onnx"
# A checkpoint records the --binarize spec: resuming under another spec, or none, is refused.
"$frugal" train "$tmp/lenet5.onnx" --binarize binary --limit 64 --epochs 2 --stop-after 1 -q -o "$tmp/bin.onnx" >/dev/null 2>&1
expect 1 "--resume: checkpoint '$tmp/bin.onnx.ckpt' was made with --binarize binary, not ternary" -- "$frugal" train "$tmp/lenet5.onnx" --binarize ternary --limit 64 --epochs 2 --resume "$tmp/bin.onnx.ckpt" -o "$tmp/bin.onnx"
expect 1 "was made with --binarize; give the same --binarize" -- "$frugal" train "$tmp/lenet5.onnx" --limit 64 --epochs 2 --resume "$tmp/bin.onnx.ckpt" -o "$tmp/bin.onnx"
