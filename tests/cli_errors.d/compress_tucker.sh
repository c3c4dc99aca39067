# frugal compress --lowrank ...:conv=tucker: bad options (one line, exit 1, no output file left).
expect 1 "--lowrank '0.5:conv=cp': unknown option 'conv=cp' (conv=svd|tucker, hooi=N)" -- "$frugal" compress "$tmp/lenet5.onnx" --lowrank 0.5:conv=cp -o "$tmp/tk.onnx"
expect 1 "--lowrank '0.5:conv=tucker:hooi=101': hooi '101' must be a whole number from 0 to 100" -- "$frugal" compress "$tmp/lenet5.onnx" --lowrank 0.5:conv=tucker:hooi=101 -o "$tmp/tk.onnx"
expect 1 "--lowrank '0.5:hooi=2': hooi=N refines Tucker-2 factors: give conv=tucker" -- "$frugal" compress "$tmp/lenet5.onnx" --lowrank 0.5:hooi=2 -o "$tmp/tk.onnx"
expect 1 "--lowrank 'energy=2:conv=tucker': '2' must be a number in (0, 1]" -- "$frugal" compress "$tmp/lenet5.onnx" --lowrank energy=2:conv=tucker -o "$tmp/tk.onnx"
if [ -e "$tmp/tk.onnx" ]; then echo "FAIL: a refused compress left $tmp/tk.onnx"; fails=$((fails+1)); fi
expect 0 "" -- "$frugal" compress "$tmp/lenet5.onnx" --lowrank energy=0.9:conv=tucker:hooi=2 -o "$tmp/tk.onnx"
