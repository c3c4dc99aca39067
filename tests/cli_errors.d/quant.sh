# frugal quantize: bad specs, calibration sets that do not fit, missing options.
python3 - "$tmp" <<'PY'
import struct, sys
def npy(path, shape):
    hdr = "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }" % "".join(f"{d}, " for d in shape)
    hdr = hdr.ljust(118) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr.encode())
        n = 1
        for d in shape: n *= d
        f.write(struct.pack("<%df" % n, *([0.5] * n)))
npy(sys.argv[1] + "/calib_rgb.npy", (2, 3, 28, 28))
npy(sys.argv[1] + "/calib_ok.npy", (2, 1, 28, 28))
PY
expect 1 "--quant 'int3'" -- "$frugal" quantize "$tmp/lenet5.onnx" -o "$tmp/q.onnx" --quant int3 --calibration random:4
expect 1 "calib: 'kl'" -- "$frugal" quantize "$tmp/lenet5.onnx" -o "$tmp/q.onnx" --quant int8,calib=kl --calibration random:4
expect 1 "percentile '200'" -- "$frugal" quantize "$tmp/lenet5.onnx" -o "$tmp/q.onnx" --quant int8,calib=percentile:200 --calibration random:4
expect 1 "group 48" -- "$frugal" quantize "$tmp/lenet5.onnx" -o "$tmp/q.onnx" --quant int4:group=48
expect 1 "unknown option 'fast'" -- "$frugal" quantize "$tmp/lenet5.onnx" -o "$tmp/q.onnx" --quant int8,fast --calibration random:4
expect 1 "needs calibration data" -- "$frugal" quantize "$tmp/lenet5.onnx" -o "$tmp/q.onnx" --quant int8
expect 1 "--quant: required" -- "$frugal" quantize "$tmp/lenet5.onnx" -o "$tmp/q.onnx"
expect 1 "2x3x28x28 but model input" -- "$frugal" quantize "$tmp/lenet5.onnx" -o "$tmp/q.onnx" --quant int8 --calibration "$tmp/calib_rgb.npy"
expect 1 "is not random:N" -- "$frugal" quantize "$tmp/lenet5.onnx" -o "$tmp/q.onnx" --quant int8 --calibration random:x
expect 1 "a.txt" -- "$frugal" quantize "$tmp/lenet5.onnx" -o "$tmp/q.onnx" --quant int8 --calibration a.txt
expect 1 "no such file" -- "$frugal" quantize "$tmp/missing.onnx" -o "$tmp/q.onnx" --quant int8 --calibration random:4
expect 1 "cannot write" -- "$frugal" quantize "$tmp/lenet5.onnx" -o "$tmp/no/dir/q.onnx" --quant int8 --calibration "$tmp/calib_ok.npy"
expect 0 "only 2 samples" -- "$frugal" quantize "$tmp/lenet5.onnx" -o "$tmp/q.onnx" --quant int8 --calibration "$tmp/calib_ok.npy"
