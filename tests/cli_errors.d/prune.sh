# frugal compress / frugal train --prune: bad specs, unknown layers, impossible surgery.
# Sourced by ../cli_errors.sh (expect, $frugal, $tmp, $tmp/lenet5.onnx).
expect 1 "no prunable layer 'conv9'" -- "$frugal" compress "$tmp/lenet5.onnx" --prune conv9=0.5 -o "$tmp/p.onnx"
expect 1 "sparsity 1.5 is outside [0, 1)" -- "$frugal" compress "$tmp/lenet5.onnx" --prune 1.5 -o "$tmp/p.onnx"
expect 1 "sparsity 1 is outside [0, 1)" -- "$frugal" compress "$tmp/lenet5.onnx" --prune global:1 -o "$tmp/p.onnx"
expect 1 "layer fc1: sparsity -0.2 is outside" -- "$frugal" compress "$tmp/lenet5.onnx" --prune fc1=-0.2 -o "$tmp/p.onnx"
expect 1 "'abc' is not a number" -- "$frugal" compress "$tmp/lenet5.onnx" --prune abc -o "$tmp/p.onnx"
expect 1 "N must be 1..M-1" -- "$frugal" compress "$tmp/lenet5.onnx" --prune nm:4:4 -o "$tmp/p.onnx"
expect 1 "criterion 'l3'" -- "$frugal" compress "$tmp/lenet5.onnx" --prune channels:0.5:l3 -o "$tmp/p.onnx"
expect 1 "every one of the 6 output channels of conv1" -- "$frugal" compress "$tmp/lenet5.onnx" --prune channels:0.95 -o "$tmp/p.onnx"
expect 1 "--exclude: 'nosuch*' matches no prunable layer" -- "$frugal" compress "$tmp/lenet5.onnx" --prune 0.5 --exclude 'nosuch*' -o "$tmp/p.onnx"
expect 1 "--prune, --cluster and --quant need -o" -- "$frugal" compress "$tmp/lenet5.onnx" --prune 0.5
expect 1 "is the input model" -- "$frugal" compress "$tmp/lenet5.onnx" --prune 0.5 -o "$tmp/lenet5.onnx"
expect 1 "nothing to do" -- "$frugal" compress "$tmp/lenet5.onnx"
expect 1 "--levels" -- "$frugal" compress "$tmp/lenet5.onnx" --sensitivity --levels 0.5,x
expect 1 "level 1.000000 is outside [0, 1)" -- "$frugal" compress "$tmp/lenet5.onnx" --sensitivity --levels 0.5,1
expect 1 "schedule='linear' is not cubic or oneshot" -- "$frugal" train "$tmp/lenet5.onnx" --limit 64 --prune 0.9:schedule=linear -o "$tmp/t.onnx"
expect 1 "channel pruning is graph surgery" -- "$frugal" train "$tmp/lenet5.onnx" --limit 64 --prune channels:0.5 -o "$tmp/t.onnx"
expect 1 "does not fit in the 1 epoch(s)" -- "$frugal" train "$tmp/lenet5.onnx" --limit 64 --prune 0.9:schedule=cubic,end=3 -o "$tmp/t.onnx"
expect 1 "no prunable layer 'fc9'" -- "$frugal" train "$tmp/lenet5.onnx" --limit 64 --prune fc9=0.5 -o "$tmp/t.onnx"
