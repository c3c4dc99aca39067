# frugal train --qat: quantization-aware training (train/qat.h).
expect 1 "--qat 'int4': QAT trains static int8" -- "$frugal" train lenet5 --qat int4 -o "$tmp/t.onnx"
expect 1 "--qat 'int8:dynamic': QAT trains static int8" -- "$frugal" train lenet5 --qat int8:dynamic -o "$tmp/t.onnx"
expect 1 "--qat 'int8,calib=mse': calib=mse is not available while training" -- "$frugal" train lenet5 --qat int8,calib=mse -o "$tmp/t.onnx"
expect 1 "--qat 'int8,start=x': start: 'x' is not a whole number of epochs" -- "$frugal" train lenet5 --qat int8,start=x -o "$tmp/t.onnx"
expect 1 "--qat 'int8,start=2,freeze=1': freeze=1 is before start=2" -- "$frugal" train lenet5 --qat int8,start=2,freeze=1 -o "$tmp/t.onnx"
expect 1 "--qat 'int8,cle': cle and bias-correct are post-training repairs" -- "$frugal" train lenet5 --qat int8,cle -o "$tmp/t.onnx"
expect 1 "--qat 'int8:per-row'" -- "$frugal" train lenet5 --qat int8:per-row -o "$tmp/t.onnx"
expect 1 "--qat: the forward formats" -- "$frugal" train lenet5 --qat int8 --format W=e4m3 -o "$tmp/t.onnx"
expect 1 "--qat: the forward formats" -- "$frugal" train lenet5 --qat int8 --precision-schedule 0:e4m3 -o "$tmp/t.onnx"
expect 1 "--qat: start=1 leaves no epoch of QAT in --epochs 1" -- "$frugal" train lenet5 --qat int8,start=1 -o "$tmp/t.onnx"
# A checkpoint holds the QAT spec and ranges: resuming under another spec, or none, is refused.
"$frugal" train "$tmp/lenet5.onnx" --qat int8 --limit 64 --epochs 2 --stop-after 1 -q -o "$tmp/qat.onnx" >/dev/null 2>&1
expect 1 "--resume: checkpoint '$tmp/qat.onnx.ckpt' was made with --qat int8:per-channel" -- "$frugal" train "$tmp/lenet5.onnx" --qat int8:per-tensor --limit 64 --epochs 2 --resume "$tmp/qat.onnx.ckpt" -o "$tmp/qat.onnx"
expect 1 "was made with --qat; give the same --qat" -- "$frugal" train "$tmp/lenet5.onnx" --limit 64 --epochs 2 --resume "$tmp/qat.onnx.ckpt" -o "$tmp/qat.onnx"
