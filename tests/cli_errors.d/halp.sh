# frugal train --halp: offset bits and the inner-loop length.
expect 1 "--halp: BITS must be 2 to 16, got 1" -- "$frugal" train lenet5 --halp 1 -o "$tmp/t.onnx"
expect 1 "--halp: BITS must be 2 to 16, got 17" -- "$frugal" train lenet5 --halp 17 -o "$tmp/t.onnx"
expect 1 "--halp: EPOCH_LEN must be at least 1" -- "$frugal" train lenet5 --halp 8:0 -o "$tmp/t.onnx"
expect 1 "--halp: 'eight': BITS 'eight' is not a whole number" -- "$frugal" train lenet5 --halp eight -o "$tmp/t.onnx"
expect 1 "--halp runs its own SVRG steps: it takes --optimizer sgd" -- "$frugal" train lenet5 --halp 8 --optimizer adam -o "$tmp/t.onnx"
expect 1 "--halp-mu must be a positive number" -- "$frugal" train lenet5 --halp 8 --halp-mu 0 -o "$tmp/t.onnx"
