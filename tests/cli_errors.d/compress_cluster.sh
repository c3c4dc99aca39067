# frugal compress --cluster / --encode and frugal decompress: bad specs, too many centroids,
# damaged containers (one line, exit 1, no output file left).
expect 1 "--cluster '9': bits '9' must be 1 to 8" -- "$frugal" compress "$tmp/lenet5.onnx" --cluster 9 -o "$tmp/k.onnx"
expect 1 "init 'kmeans' is not linear" -- "$frugal" compress "$tmp/lenet5.onnx" --cluster 5:init=kmeans -o "$tmp/k.onnx"
expect 1 "layer 'conv1' has 150 weights, fewer than the 256 centroids asked for it (8 bits); give it 7 bits or fewer" -- "$frugal" compress "$tmp/lenet5.onnx" --cluster conv1=8 -o "$tmp/k.onnx"
expect 1 "no Conv/Gemm/MatMul layer named 'fc9'" -- "$frugal" compress "$tmp/lenet5.onnx" --cluster fc9=4 -o "$tmp/k.onnx"
expect 1 "--encode: -o $tmp/k.onnx must end in .fgz" -- "$frugal" compress "$tmp/lenet5.onnx" --encode -o "$tmp/k.onnx"
expect 1 "--gather: needs --cluster" -- "$frugal" compress "$tmp/lenet5.onnx" --prune 0.5 --gather -o "$tmp/k.onnx"
expect 1 "--index-bits: must be 1 to 8" -- "$frugal" compress "$tmp/lenet5.onnx" --encode --index-bits 9 -o "$tmp/k.fgz"
if [ -e "$tmp/k.onnx" ] || [ -e "$tmp/k.fgz" ]; then echo "FAIL: a refused compress left an output file"; fails=$((fails+1)); fi
expect 0 "" -- "$frugal" compress "$tmp/lenet5.onnx" --prune 0.5 --cluster 4 --encode -o "$tmp/ok.fgz"
size=$(stat -c %s "$tmp/ok.fgz")
head -c $((size - 100)) "$tmp/ok.fgz" >"$tmp/trunc.fgz"
expect 1 "trunc.fgz: truncated" -- "$frugal" decompress "$tmp/trunc.fgz" -o "$tmp/d.onnx"
# a flipped byte inside the last record (initializer names sort, fc3.weight is last)
cp "$tmp/ok.fgz" "$tmp/bad.fgz"
printf '\x55' | dd of="$tmp/bad.fgz" bs=1 seek=$((size - 30)) conv=notrunc 2>/dev/null
expect 1 "bad.fgz: layer 'fc3.weight': checksum mismatch" -- "$frugal" decompress "$tmp/bad.fgz" -o "$tmp/d.onnx"
cp "$tmp/ok.fgz" "$tmp/v9.fgz"
printf '\x09' | dd of="$tmp/v9.fgz" bs=1 seek=8 conv=notrunc 2>/dev/null
expect 1 "v9.fgz: .fgz version 9, this frugal reads version 1" -- "$frugal" decompress "$tmp/v9.fgz" -o "$tmp/d.onnx"
expect 1 "lenet5.onnx: not a .fgz file" -- "$frugal" decompress "$tmp/lenet5.onnx" -o "$tmp/d.onnx"
if [ -e "$tmp/d.onnx" ]; then echo "FAIL: a refused decompress left $tmp/d.onnx"; fails=$((fails+1)); fi
if "$frugal" decompress "$tmp/ok.fgz" -o "$tmp/d.onnx" >/dev/null 2>"$tmp/err" && [ -s "$tmp/d.onnx" ]; then
  passes=$((passes+1))
else
  echo "FAIL: frugal decompress ok.fgz:"; cat "$tmp/err"; fails=$((fails+1))
fi
