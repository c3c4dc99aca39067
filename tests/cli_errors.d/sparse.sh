# --sparse (kernels/cpu/sparse_format.h): bad modes and formats name the option.
expect 1 "--sparse: 'bogus' is not a sparse mode" -- "$frugal" run "$tmp/lenet5.onnx" --backend cpu --sparse bogus
expect 1 "--sparse: unknown sparse format 'coo'" -- "$frugal" bench "$tmp/lenet5.onnx" --backend cpu --sparse force:coo
expect 1 "--sparse" -- "$frugal" info "$tmp/lenet5.onnx" --plan --sparse ""
