# frugal sweep: training points (docs/sweep.md) and MPI runs (issue 19).
printf 'train:\n  - model: lenet5\n    formats: [bf16, e9m99]\n' >"$tmp/badtrain.yaml"
expect 1 "badtrain.yaml:3:21: train formats 'e9m99': bad number format" -- "$frugal" sweep "$tmp/badtrain.yaml" --db "$tmp/badtrain.sqlite"
[ ! -e "$tmp/badtrain.sqlite" ] || { echo "FAIL: a bad train spec left a store behind"; fails=$((fails+1)); }
