# frugal train --binarize: STE training of binary/ternary layers (train/binarize_train.h).
expect 1 "--binarize 'int1': must be binary or ternary" -- "$frugal" train lenet5 --binarize int1 --limit 32 -o "$tmp/bt.onnx"
expect 1 "--binarize 'binary:packed': ':packed' needs ':acts'" -- "$frugal" train lenet5 --binarize binary:packed --limit 32 -o "$tmp/bt.onnx"
expect 1 "--binarize cannot be combined with --qat" -- "$frugal" train lenet5 --binarize binary --qat int8 --limit 32 -o "$tmp/bt.onnx"
expect 1 "--binarize cannot be combined with --circulant" -- "$frugal" train lenet5 --binarize binary --circulant 4 --limit 32 -o "$tmp/bt.onnx"
expect 1 "--binarize cannot be combined with --cluster" -- "$frugal" train lenet5 --binarize binary --cluster keep --limit 32 -o "$tmp/bt.onnx"
expect 1 "--binarize cannot be combined with --prune" -- "$frugal" train lenet5 --binarize ternary --prune 0.5 --limit 32 -o "$tmp/bt.onnx"
expect 1 "no Conv/Gemm/MatMul layer to binarize" -- "$frugal" train lenet5 --binarize binary --binarize-exclude 'conv2,fc1,fc2' --limit 32 -o "$tmp/bt.onnx"
expect 1 "--binarize-exclude and --binarize-clip need --binarize" -- "$frugal" train lenet5 --binarize-clip --limit 32 -o "$tmp/bt.onnx"
