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
  if [ "$rc" -ne "$code" ] || ! grep -qF -- "$needle" "$tmp/err" || { [ "$code" -eq 1 ] && [ "$lines" -gt 3 ]; }; then
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
echo "cli errors: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
