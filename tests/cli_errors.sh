#!/usr/bin/env bash
# CLI bad-input paths: each must exit 1 with one line on stderr that names the culprit,
# and never crash. Usage: cli_errors.sh PATH/TO/frugal
set -u
frugal="$1"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0; passes=0
# expect CODE NEEDLE -- command...
expect() {
  local code="$1" needle="$2"; shift 3
  "$@" >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  local lines; lines=$(wc -l <"$tmp/err")
  if [ "$rc" -ne "$code" ] || { [ -n "$needle" ] && ! grep -qF -- "$needle" "$tmp/err"; } || { [ "$code" -eq 1 ] && [ "$lines" -ne 1 ]; }; then
    echo "FAIL: $* -> rc=$rc (want $code), stderr:"; cat "$tmp/err"; fails=$((fails+1))
  else
    passes=$((passes+1))
  fi
}
"$frugal" zoo lenet5 -o "$tmp/lenet5.onnx" >/dev/null || { echo "cannot build lenet5"; exit 1; }
head -c 200 "$tmp/lenet5.onnx" >"$tmp/trunc.onnx"
head -c 4096 /dev/urandom >"$tmp/random.onnx"
: >"$tmp/empty.onnx"
printf 'not numpy' >"$tmp/bad.npy"

expect 1 "no such file" -- "$frugal" info "$tmp/missing.onnx"
expect 1 "trunc.onnx" -- "$frugal" info "$tmp/trunc.onnx"
expect 1 "random.onnx" -- "$frugal" run "$tmp/random.onnx"
expect 1 "empty file" -- "$frugal" info "$tmp/empty.onnx"
expect 1 "is a directory" -- "$frugal" info "$tmp"
expect 1 "bad.npy" -- "$frugal" run "$tmp/lenet5.onnx" --input "$tmp/bad.npy"
expect 1 "--backend: unknown backend 'nope'" -- "$frugal" run "$tmp/lenet5.onnx" --backend nope
expect 1 "--top" -- "$frugal" run "$tmp/lenet5.onnx" --top -1
expect 1 "--threads" -- "$frugal" run "$tmp/lenet5.onnx" --threads 0
expect 1 "--batch" -- "$frugal" info "$tmp/lenet5.onnx" --batch 0
expect 1 "--shape" -- "$frugal" info "$tmp/lenet5.onnx" --shape input=1xAx28x28
expect 1 "no input named 'nosuch'" -- "$frugal" info "$tmp/lenet5.onnx" --shape nosuch=1x1x28x28
expect 1 "unknown zoo model 'nosuch'" -- "$frugal" zoo nosuch -o "$tmp/x.onnx"
expect 1 "cannot write" -- "$frugal" zoo lenet5 -o "$tmp/no/such/dir/x.onnx"
expect 1 "random:x" -- "$frugal" run "$tmp/lenet5.onnx" --input random:x
expect 1 "The following argument was not expected" -- "$frugal" info "$tmp/lenet5.onnx" --bogus-option
# Wrong input shape through an NPY written by frugal itself.
"$frugal" run "$tmp/lenet5.onnx" --output "$tmp/logits.npy" >/dev/null
expect 1 "expects 1x1x28x28" -- "$frugal" run "$tmp/lenet5.onnx" --input "$tmp/logits.npy"
# --precision int8 and --calibration.
printf '{"schema":"frugal.ranges/1","method":"minmax","samples":1,"ranges":{"x":[2,1]}}' >"$tmp/badrange.json"
expect 1 "--precision int8: needs activation ranges" -- "$frugal" run "$tmp/lenet5.onnx" --backend cpu,ref --precision int8
expect 1 "--precision: 'int4'" -- "$frugal" run "$tmp/lenet5.onnx" --backend cpu,ref --precision int4
expect 1 "--calibration: applies to --precision int8" -- "$frugal" run "$tmp/lenet5.onnx" --backend cpu,ref --calibration random:2
expect 1 "random:x" -- "$frugal" run "$tmp/lenet5.onnx" --backend cpu,ref --precision int8 --calibration random:x
expect 1 "N must be between 1 and 10000" -- "$frugal" run "$tmp/lenet5.onnx" --backend cpu,ref --precision int8 --calibration random:0
expect 1 "nosuch.json: cannot open" -- "$frugal" run "$tmp/lenet5.onnx" --backend cpu,ref --precision int8 --calibration "$tmp/nosuch.json"
expect 1 "range 'x'" -- "$frugal" run "$tmp/lenet5.onnx" --backend cpu,ref --precision int8 --calibration "$tmp/badrange.json"
expect 1 "is not FILE.json, random:N[:SEED] or a list of .npy files" -- "$frugal" run "$tmp/lenet5.onnx" --backend cpu,ref --precision int8 --calibration samples.txt
expect 1 "expects 1x1x28x28" -- "$frugal" run "$tmp/lenet5.onnx" --backend cpu,ref --precision int8 --calibration "$tmp/logits.npy"
# --- bench and eval (issue 5) ---
# npy FILE DESCR SHAPE: an NPY v1.0 header (data appended by the caller).
npy() {
  local h="{'descr': '$2', 'fortran_order': False, 'shape': $3, }"
  local n=$(( ${#h} + 1 )); local pad=$(( (64 - (10 + n) % 64) % 64 ))
  h="$h$(printf '%*s' "$pad" '')"; n=$(( ${#h} + 1 ))
  { printf '\x93NUMPY\x01\x00'; printf "\\x$(printf %02x $((n & 255)))\\x$(printf %02x $((n >> 8)))"
    printf '%s\n' "$h"; } >"$1"
}
npy "$tmp/img2.npy" '<f4' '(2, 1, 28, 28)'; head -c 6272 /dev/zero >>"$tmp/img2.npy"
npy "$tmp/lab_ok.npy" '<i8' '(2,)'; printf '\x03\0\0\0\0\0\0\0\x07\0\0\0\0\0\0\0' >>"$tmp/lab_ok.npy"
npy "$tmp/lab_big.npy" '<i8' '(2,)'; printf '\x03\0\0\0\0\0\0\0\x0c\0\0\0\0\0\0\0' >>"$tmp/lab_big.npy"
npy "$tmp/lab_3.npy" '<i8' '(3,)'; head -c 24 /dev/zero >>"$tmp/lab_3.npy"
npy "$tmp/img_small.npy" '<f4' '(2, 1, 14, 14)'; head -c 1568 /dev/zero >>"$tmp/img_small.npy"
npy "$tmp/img_rgb.npy" '<f4' '(2, 3, 28, 28)'; head -c 18816 /dev/zero >>"$tmp/img_rgb.npy"
expect 1 "lab_big.npy: label 12 of sample 1 is out of range" -- "$frugal" eval "$tmp/lenet5.onnx" --data "npy:$tmp/img2.npy,$tmp/lab_big.npy"
expect 1 "3 labels for 2 samples" -- "$frugal" eval "$tmp/lenet5.onnx" --data "npy:$tmp/img2.npy,$tmp/lab_3.npy"
expect 1 "img_small.npy: samples are 1x14x14" -- "$frugal" eval "$tmp/lenet5.onnx" --data "npy:$tmp/img_small.npy,$tmp/lab_ok.npy"
expect 1 "img_rgb.npy: samples are 3x28x28" -- "$frugal" eval "$tmp/lenet5.onnx" --data "npy:$tmp/img_rgb.npy,$tmp/lab_ok.npy"
expect 1 "data set nosuch" -- "$frugal" eval "$tmp/lenet5.onnx" --data nosuch
expect 1 "missing.onnx" -- "$frugal" eval "$tmp/lenet5.onnx" --data "npy:$tmp/img2.npy,$tmp/lab_ok.npy" --reference "$tmp/missing.onnx"
expect 1 "--limit" -- "$frugal" eval "$tmp/lenet5.onnx" --data "npy:$tmp/img2.npy,$tmp/lab_ok.npy" --limit -1
expect 1 "--mean" -- "$frugal" eval "$tmp/lenet5.onnx" --data "npy:$tmp/img2.npy,$tmp/lab_ok.npy" --mean 0.5,x
expect 1 "--duration 0" -- "$frugal" bench "$tmp/lenet5.onnx" --duration 0
expect 1 "--duration -1" -- "$frugal" bench "$tmp/lenet5.onnx" --duration=-1
expect 1 "--min-queries" -- "$frugal" bench "$tmp/lenet5.onnx" --min-queries 0
expect 1 "--scenario burst" -- "$frugal" bench "$tmp/lenet5.onnx" --scenario burst
expect 1 "--qps" -- "$frugal" bench "$tmp/lenet5.onnx" --scenario server
expect 1 "--find-qps: needs --latency-bound" -- "$frugal" bench "$tmp/lenet5.onnx" --scenario server --find-qps
expect 1 "/nonexistent/tty" -- "$frugal" bench "$tmp/lenet5.onnx" --power serial:/nonexistent/tty
expect 1 "--power watts" -- "$frugal" bench "$tmp/lenet5.onnx" --power watts
expect 1 "--pin 0-x" -- "$frugal" bench "$tmp/lenet5.onnx" --pin 0-x
expect 1 "--pin 1000" -- "$frugal" bench "$tmp/lenet5.onnx" --pin 1000
# An unsustainable --qps is a result, not an error: it ends within the bound and says so.
if "$frugal" bench "$tmp/lenet5.onnx" --scenario server --qps 1000000 --duration 0.2 --warmup 0 >"$tmp/out" 2>"$tmp/err" &&
   grep -q "unsustainable" "$tmp/out"; then passes=$((passes+1)); else
  echo "FAIL: bench --qps 1000000 did not report unsustainable:"; cat "$tmp/out" "$tmp/err"; fails=$((fails+1)); fi
# Working runs: exactly one JSON Record each.
if "$frugal" bench "$tmp/lenet5.onnx" --duration 0.1 --min-queries 5 --warmup 0 --json >"$tmp/out" 2>"$tmp/err" &&
   grep -q '"schema": "frugal.record/1"' "$tmp/out" && [ "$(grep -c '"schema"' "$tmp/out")" -eq 1 ]; then passes=$((passes+1)); else
  echo "FAIL: bench --json:"; cat "$tmp/out" "$tmp/err"; fails=$((fails+1)); fi
if "$frugal" eval "$tmp/lenet5.onnx" --data "npy:$tmp/img2.npy,$tmp/lab_ok.npy" --json >"$tmp/out" 2>"$tmp/err" &&
   grep -q '"samples": 2' "$tmp/out"; then passes=$((passes+1)); else
  echo "FAIL: eval --json:"; cat "$tmp/out" "$tmp/err"; fails=$((fails+1)); fi
# --- emu backend and compare (issue 4): bad --format strings name --format and the grammar ---
for f in e4m3:chunk=0 acc=e4m3:chunk=0 w=e0m3 a=e9m30 "w=fixed<40.40>" w=int0 round=sometimes; do
  expect 1 "--format: '$f'" -- "$frugal" run "$tmp/lenet5.onnx" --backend emu --format "$f"
done
expect 1 "accepted: w=FMT,a=FMT,acc=FMT" -- "$frugal" compare "$tmp/lenet5.onnx" --format acc=fp16:chunk=x
expect 1 "--format: applies to the emu backend" -- "$frugal" run "$tmp/lenet5.onnx" --format w=e4m3
expect 1 "random:0" -- "$frugal" compare "$tmp/lenet5.onnx" --format w=e4m3 --input random:0
if "$frugal" compare "$tmp/lenet5.onnx" --format w=e4m3,a=e4m3,acc=fp16:chunk=32 --input random:2 --json >"$tmp/out" 2>"$tmp/err" &&
   grep -q '"sqnr_db"' "$tmp/out"; then passes=$((passes+1)); else
  echo "FAIL: compare --json:"; cat "$tmp/out" "$tmp/err"; fails=$((fails+1)); fi
# --- train (issue 6): refused models, divergence, shape mismatch, bad schedules ---
expect 1 "(Transpose): op type Transpose has no backward" -- "$frugal" train shufflenet_v2_x1_0 -o "$tmp/t.onnx"
expect 1 "non-finite loss at epoch 1 iteration" -- "$frugal" train lenet5 --limit 64 --batch 32 --lr 1e30 -o "$tmp/t.onnx"
expect 1 "expected 3x224x224" -- "$frugal" train squeezenet1_1 --data fashion-mnist --limit 64 -o "$tmp/t.onnx"
expect 1 "--schedule-lr: invalid schedule 'bogus'" -- "$frugal" train lenet5 --schedule-lr bogus -o "$tmp/t.onnx"
expect 1 "--precision-schedule: invalid schedule '0:e5m2,x:e4m3'" -- "$frugal" train lenet5 --precision-schedule 0:e5m2,x:e4m3 -o "$tmp/t.onnx"
expect 1 "--format: unknown tensor class 'Q'" -- "$frugal" train lenet5 --format W=e4m3,Q=fp16 -o "$tmp/t.onnx"
expect 1 "--resume: cannot open checkpoint" -- "$frugal" train lenet5 --resume "$tmp/none.ckpt" -o "$tmp/t.onnx"
if "$frugal" train lenet5 --limit 128 --batch 32 --epochs 1 --json -o "$tmp/t.onnx" >"$tmp/out" 2>"$tmp/err" &&
   grep -q '"test_accuracy"' "$tmp/out" && [ -f "$tmp/t.onnx.ckpt" ] && [ ! -f "$tmp/t.onnx.ckpt.tmp" ] &&
   "$frugal" run "$tmp/t.onnx" >/dev/null 2>>"$tmp/err"; then passes=$((passes+1)); else
  echo "FAIL: train --json smoke:"; cat "$tmp/out" "$tmp/err"; fails=$((fails+1)); fi
# explore: sweep specs, results stores and report outputs.
printf 'models: [lenet5]\nbackend: [ref]\n' >"$tmp/unknown_key.yaml"
printf 'models: [lenet5]\nthreads: [1, two]\n' >"$tmp/type_error.yaml"
printf 'models: [lenet5]\nexclude:\n  - {model: lenet5}\n' >"$tmp/empty_grid.yaml"
expect 1 "unknown_key.yaml:2:1: unknown key 'backend' in the spec" -- "$frugal" sweep "$tmp/unknown_key.yaml" --dry-run
expect 1 "type_error.yaml:2:14: threads: expected an integer, got 'two'" -- "$frugal" sweep "$tmp/type_error.yaml" --dry-run
expect 1 "empty_grid.yaml:3:3: the grid is empty" -- "$frugal" sweep "$tmp/empty_grid.yaml" --db "$tmp/e.sqlite"
expect 1 "--shard" -- "$frugal" sweep "$tmp/empty_grid.yaml" --shard 5/4
expect 1 "no_spec.yaml: no such file" -- "$frugal" sweep "$tmp/no_spec.yaml"
head -c 3000 /dev/urandom >"$tmp/corrupt.sqlite"
cp "$tmp/corrupt.sqlite" "$tmp/corrupt.orig"
printf 'models: [{file: missing.onnx}, {zoo: lenet5}]\nbackends: ["cpu,ref"]\nduration: 0.2\nmin_queries: 5\nbench_args: [--idle-seconds, "0", --warmup, "0"]\n' >"$tmp/sweep.yaml"
expect 1 "corrupt.sqlite: not a frugal results store" -- "$frugal" sweep "$tmp/sweep.yaml" --db "$tmp/corrupt.sqlite"
expect 1 "corrupt.sqlite: not a frugal results store" -- "$frugal" report "$tmp/corrupt.sqlite"
cmp -s "$tmp/corrupt.sqlite" "$tmp/corrupt.orig" || { echo "FAIL: a corrupt store was written to"; fails=$((fails+1)); }
expect 1 "nothere.sqlite: no such file" -- "$frugal" report "$tmp/nothere.sqlite"
# A missing model file fails its point; the sweep goes on and measures the zoo model.
expect 0 "missing.onnx: no such file" -- "$frugal" sweep "$tmp/sweep.yaml" --db "$tmp/s.sqlite" --cache "$tmp/cache"
grep -q "2 points: 1 ok, 1 failed" "$tmp/out" || { echo "FAIL: sweep summary:"; cat "$tmp/out"; fails=$((fails+1)); }
expect 1 "--pareto: unknown metric 'speed'" -- "$frugal" report "$tmp/s.sqlite" --pareto acc,speed
# A store from a newer frugal is refused and left as it is (python3's sqlite3 edits the version).
if command -v python3 >/dev/null && python3 -c 'import sqlite3' 2>/dev/null; then
  cp "$tmp/s.sqlite" "$tmp/newer.sqlite"
  python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("UPDATE schema_version SET version=7"); c.commit(); c.execute("PRAGMA wal_checkpoint(TRUNCATE)"); c.close()' "$tmp/newer.sqlite"
  cp "$tmp/newer.sqlite" "$tmp/newer.orig"
  expect 1 "newer.sqlite: written by a newer frugal (store schema 7" -- "$frugal" sweep "$tmp/sweep.yaml" --db "$tmp/newer.sqlite"
  expect 1 "newer.sqlite: written by a newer frugal" -- "$frugal" report "$tmp/newer.sqlite"
  cmp -s "$tmp/newer.sqlite" "$tmp/newer.orig" || { echo "FAIL: a newer store was written to"; fails=$((fails+1)); }
fi
# Read-only output folder (as nobody when we are root, who may write anywhere).
mkdir -p "$tmp/ro" && chmod 755 "$tmp" && chmod 555 "$tmp/ro"
as_user=()
[ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null && as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups)
if [ "$(id -u)" -ne 0 ] || [ ${#as_user[@]} -gt 0 ]; then
  expect 1 "ro/x.sqlite: cannot create: Permission denied" -- "${as_user[@]}" "$frugal" sweep "$tmp/sweep.yaml" --db "$tmp/ro/x.sqlite"
  expect 1 "ro/r.html: cannot write: Permission denied" -- "${as_user[@]}" "$frugal" report "$tmp/s.sqlite" -o "$tmp/ro/r.html"
fi
# Further cases by area, one fragment each (sourced here: they use expect, $frugal, $tmp).
for fragment in "$(dirname "$0")"/cli_errors.d/*.sh; do
  [ -e "$fragment" ] && . "$fragment"
done
echo "cli errors: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
