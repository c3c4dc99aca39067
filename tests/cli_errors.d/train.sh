# frugal train: emulated accumulators (ACC) in the precision policy.
expect 1 "--format: ACC: bad accumulator 'fp16:chunk=0'" -- "$frugal" train lenet5 --format ACC=fp16:chunk=0 -o "$tmp/t.onnx"
expect 1 "--format: ACC: bad accumulator 'nosuch'" -- "$frugal" train lenet5 --format ACC=nosuch -o "$tmp/t.onnx"
expect 1 "--rounding: ACC=stochastic: stochastic rounding of accumulators is not supported" -- "$frugal" train lenet5 --format ACC=fp16 --rounding ACC=stochastic -o "$tmp/t.onnx"
expect 1 "--rounding: ACC: compensated accumulation needs nearest rounding" -- "$frugal" train lenet5 --format ACC=bf16:comp --rounding ACC=rz -o "$tmp/t.onnx"
expect 1 "--rounding: ACC is given a rounding but --format has no ACC=FORMAT" -- "$frugal" train lenet5 --rounding ACC=rz -o "$tmp/t.onnx"
expect 1 "emulated accumulators run on the fast kernels" -- "$frugal" train lenet5 --format ACC=fp16 --kernels ref -o "$tmp/t.onnx"
