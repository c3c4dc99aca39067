# frugal compress --lowrank and --binarize: bad specs and excludes (one line, exit 1, no output file left).
expect 1 "--lowrank '1.5': '1.5' must be a number in (0, 1]" -- "$frugal" compress "$tmp/lenet5.onnx" --lowrank 1.5 -o "$tmp/lr.onnx"
expect 1 "--lowrank 'rank=0': rank '0' must be a whole number >= 1" -- "$frugal" compress "$tmp/lenet5.onnx" --lowrank rank=0 -o "$tmp/lr.onnx"
expect 1 "--lowrank 'energy=x': 'x' must be a number in (0, 1]" -- "$frugal" compress "$tmp/lenet5.onnx" --lowrank energy=x -o "$tmp/lr.onnx"
expect 1 "need -o OUT.onnx" -- "$frugal" compress "$tmp/lenet5.onnx" --lowrank 0.5
expect 1 "--exclude: 'nosuch*' matches no prunable layer" -- "$frugal" compress "$tmp/lenet5.onnx" --lowrank 0.5 --exclude 'nosuch*' -o "$tmp/lr.onnx"
if [ -e "$tmp/lr.onnx" ]; then echo "FAIL: a refused compress left $tmp/lr.onnx"; fails=$((fails+1)); fi
expect 0 "" -- "$frugal" compress "$tmp/lenet5.onnx" --lowrank energy=0.9 --exclude last -o "$tmp/lr.onnx"
# --binarize
expect 1 "--binarize 'int1': must be binary or ternary" -- "$frugal" compress "$tmp/lenet5.onnx" --binarize int1 -o "$tmp/b.onnx"
expect 1 "--binarize 'binary:first': unknown option ':first'" -- "$frugal" compress "$tmp/lenet5.onnx" --binarize binary:first -o "$tmp/b.onnx"
expect 1 "--binarize 'binary:packed': ':packed' needs ':acts'" -- "$frugal" compress "$tmp/lenet5.onnx" --binarize binary:packed -o "$tmp/b.onnx"
expect 1 "--binarize 'ternary:acts:acts': ':acts' given twice" -- "$frugal" compress "$tmp/lenet5.onnx" --binarize ternary:acts:acts -o "$tmp/b.onnx"
expect 1 "--binarize 'binary:acts': no binarized Conv or Gemm layer to take binary activations" -- "$frugal" compress "$tmp/lenet5.onnx" --binarize binary:acts --exclude 'conv2,fc1,fc2' -o "$tmp/b.onnx"
expect 1 "--binarize: give it or --quant, not both" -- "$frugal" compress "$tmp/lenet5.onnx" --binarize binary --quant int4 -o "$tmp/b.onnx"
if [ -e "$tmp/b.onnx" ]; then echo "FAIL: a refused compress left $tmp/b.onnx"; fails=$((fails+1)); fi
