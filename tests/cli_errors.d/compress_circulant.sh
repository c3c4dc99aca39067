# frugal compress / train --circulant: block sizes not a power of two, out of range, not dividing a layer (one line, exit 1, no output file left).
expect 1 "--circulant '12': block size 12 is not a power of two" -- "$frugal" compress "$tmp/lenet5.onnx" --circulant 12 -o "$tmp/c.onnx"
expect 1 "--circulant '512': block size 512 is out of range (4 to 256)" -- "$frugal" compress "$tmp/lenet5.onnx" --circulant 512 -o "$tmp/c.onnx"
expect 1 "--circulant '2': block size 2 is out of range (4 to 256)" -- "$frugal" compress "$tmp/lenet5.onnx" --circulant 2 -o "$tmp/c.onnx"
expect 1 "--circulant 8: layer 'fc2' (84 outputs x 120 inputs) is not a multiple of the block size; add :pad or --exclude it" -- "$frugal" compress "$tmp/lenet5.onnx" --circulant 8 -o "$tmp/c.onnx"
expect 1 "--circulant: give it or --lowrank, not both" -- "$frugal" compress "$tmp/lenet5.onnx" --circulant 8:pad --lowrank 0.5 -o "$tmp/c.onnx"
if [ -e "$tmp/c.onnx" ]; then echo "FAIL: a refused compress left $tmp/c.onnx"; fails=$((fails+1)); fi
expect 1 "--circulant '6': block size 6 is not a power of two" -- "$frugal" train "$tmp/lenet5.onnx" --circulant 6 --data fashion-mnist -o "$tmp/ct.onnx"
expect 1 "--circulant 8: layer 'fc2' (84 outputs x 120 inputs) is not a multiple of the block size" -- "$frugal" train "$tmp/lenet5.onnx" --circulant 8 --data fashion-mnist -o "$tmp/ct.onnx"
if [ -e "$tmp/ct.onnx" ]; then echo "FAIL: a refused train left $tmp/ct.onnx"; fails=$((fails+1)); fi
