# Issue 24: options and inputs a hostile user tried. Sourced by cli_errors.sh (expect, $frugal, $tmp).
expect 1 "Could not convert: --threads = abc (see frugal run --help)" -- "$frugal" run "$tmp/lenet5.onnx" --threads abc
expect 1 "'nosuchcmd' is not a frugal command" -- "$frugal" nosuchcmd
expect 1 "A subcommand is required" -- "$frugal"
expect 1 "model is required (see frugal run --help)" -- "$frugal" run
: >"$tmp/zero.sqlite"
expect 1 "zero.sqlite: empty file, not a frugal results store" -- "$frugal" report "$tmp/zero.sqlite"
printf 'name: abuse\nmodels: [{file: %s}]\nbackends: [ref]\nduration: 0.05\n' "$tmp/lenet5.onnx" >"$tmp/abuse-ok.yaml"
expect 1 "zero.sqlite: empty file, not a frugal results store" -- "$frugal" sweep "$tmp/abuse-ok.yaml" --db "$tmp/zero.sqlite"
: >"$tmp/cachefile"
expect 1 "--cache $tmp/cachefile: is a file, not a directory" -- "$frugal" sweep "$tmp/abuse-ok.yaml" --db "$tmp/abuse-cache.sqlite" --cache "$tmp/cachefile"
# A sweep whose every point failed exits 1 (it used to exit 0).
printf 'name: allfail\nmodels: [{file: %s}]\nbackends: [ref]\nduration: 0.05\n' "$tmp/nosuch-model.onnx" >"$tmp/allfail.yaml"
# (stderr also carries the sweep's own progress, so only the last line is the error.)
"$frugal" sweep "$tmp/allfail.yaml" --db "$tmp/allfail.sqlite" >/dev/null 2>"$tmp/err"
if [ $? -eq 1 ] && tail -n 1 "$tmp/err" | grep -qF "sweep allfail: all 1 points run failed"; then
  passes=$((passes+1)); else echo "FAIL: all-failed sweep:"; cat "$tmp/err"; fails=$((fails+1)); fi
# --profile names a key the store does not hold.
"$frugal" sweep "$tmp/abuse-ok.yaml" --db "$tmp/abuse-ok.sqlite" >/dev/null 2>&1
expect 1 "--profile: no measured point 'nokey' in this store" -- "$frugal" report "$tmp/abuse-ok.sqlite" --profile nokey -o "$tmp/r.html"
[ -e "$tmp/r.html" ] && { echo "FAIL: report --profile nokey left $tmp/r.html"; fails=$((fails+1)); }
# Thread counts are bounded in the library (libgomp crashed at 100000, refused 32768).
expect 1 "--threads: 100000 is outside 1..1024" -- "$frugal" run "$tmp/lenet5.onnx" --threads 100000
expect 1 "--threads: 32768 is outside 1..1024" -- "$frugal" bench "$tmp/lenet5.onnx" --threads 32768 --duration 0.1
# A batch whose activation arena exceeds what the process can still map is refused up front,
# naming the batch and the bytes (it used to grind in memory until killed). Sub-batches off:
# by default this batch runs as 320 runs of 625 images, whose arena fits.
expect 1 "activations at batch 200000 need 4.7 GB (4704000000 bytes), more than the" -- bash -c "ulimit -v 3000000; FRUGAL_SUB_BATCH=off exec \"$frugal\" run \"$tmp/lenet5.onnx\" --batch 200000"
expect 1 "(RLIMIT_AS)" -- bash -c "ulimit -v 3000000; FRUGAL_SUB_BATCH=off exec \"$frugal\" bench \"$tmp/lenet5.onnx\" --batch 200000 --duration 0.1"
# Sub-batches asked for by the environment: a bad value, a size that does not divide the batch.
expect 1 "FRUGAL_SUB_BATCH: expected auto, off, a number of images or N@node, got 'x'" -- env FRUGAL_SUB_BATCH=x "$frugal" run "$tmp/lenet5.onnx" --batch 4
expect 1 "sub-batch 3: a sub-batch of 3 does not divide the batch of 4" -- env FRUGAL_SUB_BATCH=3 "$frugal" run "$tmp/lenet5.onnx" --batch 4
expect 1 "sub-batch 2 until node 'nowhere': the graph has no such node" -- env FRUGAL_SUB_BATCH=2@nowhere "$frugal" run "$tmp/lenet5.onnx" --batch 4
# --max-drop -1 was taken as "not given" (the internal sentinel) and silently ignored.
expect 1 "--max-drop: must be 0 or more top-1 points, got -1" -- "$frugal" compress "$tmp/lenet5.onnx" --quant int8 --calibration random:4 --max-drop -1 -o "$tmp/md.onnx"
