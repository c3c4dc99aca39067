# frugal sweep: training points (docs/sweep.md) and MPI runs (issue 19).
printf 'train:\n  - model: lenet5\n    formats: [bf16, e9m99]\n' >"$tmp/badtrain.yaml"
expect 1 "badtrain.yaml:3:21: train formats 'e9m99': bad number format" -- "$frugal" sweep "$tmp/badtrain.yaml" --db "$tmp/badtrain.sqlite"
[ ! -e "$tmp/badtrain.sqlite" ] || { echo "FAIL: a bad train spec left a store behind"; fails=$((fails+1)); }
# A store of another schema (a newer frugal's, another program's) under --db or in a study
# folder: one line, and the file is left as it was.
python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("CREATE TABLE schema_version(version INTEGER)"); c.execute("INSERT INTO schema_version VALUES (7)"); c.commit()' "$tmp/newer.sqlite"
printf 'models: [lenet5]\nduration: 0.1\n' >"$tmp/sweep1.yaml"
newer_sum=$(sha256sum <"$tmp/newer.sqlite")
expect 1 "newer.sqlite: written by a newer frugal (store schema 7" -- "$frugal" sweep "$tmp/sweep1.yaml" --db "$tmp/newer.sqlite"
mkdir -p "$tmp/study_other"
python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("CREATE TABLE t(x)"); c.commit()' "$tmp/study_other/results.sqlite"
other_sum=$(sha256sum <"$tmp/study_other/results.sqlite")
expect 1 "results.sqlite: not a frugal results store (no schema_version table)" -- "$frugal" study --quick -o "$tmp/study_other" --cache "$tmp/study_cache"
[ "$newer_sum" = "$(sha256sum <"$tmp/newer.sqlite")" ] && [ "$other_sum" = "$(sha256sum <"$tmp/study_other/results.sqlite")" ] ||
  { echo "FAIL: a refused store was changed"; fails=$((fails+1)); }
