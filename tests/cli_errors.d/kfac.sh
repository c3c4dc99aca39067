# frugal train --optimizer kfac: damping, periods and the per-part number formats.
expect 1 "--kfac-damping must be a positive number" -- "$frugal" train lenet5 --optimizer kfac --kfac-damping 0 -o "$tmp/t.onnx"
expect 1 "--kfac-damping must be a positive number" -- "$frugal" train lenet5 --optimizer kfac --kfac-damping -0.5 -o "$tmp/t.onnx"
expect 1 "--kfac-format: factors: " -- "$frugal" train lenet5 --optimizer kfac --kfac-format factors=bogus -o "$tmp/t.onnx"
expect 1 "--kfac-format: unknown part 'weights' (stats, factors, inverse, update)" -- "$frugal" train lenet5 --optimizer kfac --kfac-format weights=bf16 -o "$tmp/t.onnx"
expect 1 "--kfac-format: 'bf16' is not PART=FORMAT" -- "$frugal" train lenet5 --optimizer kfac --kfac-format bf16 -o "$tmp/t.onnx"
expect 1 "--kfac-rounding: inverse: " -- "$frugal" train lenet5 --optimizer kfac --kfac-rounding inverse=sideways -o "$tmp/t.onnx"
expect 1 "--kfac-inv-every must be at least 1" -- "$frugal" train lenet5 --optimizer kfac --kfac-inv-every 0 -o "$tmp/t.onnx"
expect 1 "--optimizer: unknown optimizer 'kfc' (sgd, adam, adamw, kfac)" -- "$frugal" train lenet5 --optimizer kfc -o "$tmp/t.onnx"
