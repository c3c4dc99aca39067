# frugal sweep: training points (docs/sweep.md) and MPI runs (issue 19).
printf 'train:\n  - model: lenet5\n    formats: [bf16, e9m99]\n' >"$tmp/badtrain.yaml"
expect 1 "badtrain.yaml:3:21: train formats 'e9m99': bad number format" -- "$frugal" sweep "$tmp/badtrain.yaml" --db "$tmp/badtrain.sqlite"
[ ! -e "$tmp/badtrain.sqlite" ] || { echo "FAIL: a bad train spec left a store behind"; fails=$((fails+1)); }
# A study folder holding a store of another program: one line, the file left as it was
# (a newer frugal's store under sweep --db: cli_errors.sh).
mkdir -p "$tmp/study_other"
python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("CREATE TABLE t(x)"); c.commit()' "$tmp/study_other/results.sqlite"
other_sum=$(sha256sum <"$tmp/study_other/results.sqlite")
expect 1 "results.sqlite: not a frugal results store (no schema_version table)" -- "$frugal" study --quick -o "$tmp/study_other" --cache "$tmp/study_cache"
[ "$other_sum" = "$(sha256sum <"$tmp/study_other/results.sqlite")" ] ||
  { echo "FAIL: the refused study store was changed"; fails=$((fails+1)); }
