#!/usr/bin/env bash
# `mpirun -np 3 frugal sweep` against a serial run of the same spec: the same set of keys
# (a missing model file fails on the rank that runs it, named), --resume on the MPI store
# runs nothing, one rank runs serially and says so, --per-host 1 finishes, a refused store
# stops every rank. Exit 77 (skipped) without mpirun or an MPI build.
# Usage: sweep_mpi.sh FRUGAL WORK_DIR
set -u
frugal="$1" work="$2"
command -v mpirun >/dev/null || { echo "SKIP: no mpirun (apt-get install openmpi-bin)"; exit 77; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
mpi=(mpirun --allow-run-as-root --oversubscribe)
rm -rf "$work"; mkdir -p "$work"
cat >"$work/s.yaml" <<'YAML'
name: mpi
models: [lenet5, {file: missing.onnx}]
backends: [ref, "cpu,ref"]
threads: [1, 2]
duration: 0.1
min_queries: 8
exclude: [{model: missing, threads: 2}]
YAML
fails=0
fail() { echo "FAIL: $*"; fails=$((fails+1)); }
keys() {
  python3 -c 'import sqlite3,sys; [print(k, s) for k, s in sqlite3.connect(sys.argv[1]).execute("SELECT key, status FROM points ORDER BY key")]' "$1"
}
"$frugal" sweep "$work/s.yaml" --db "$work/serial.sqlite" --cache "$work/cache" >"$work/serial.out" 2>&1 ||
  { cat "$work/serial.out"; fail "serial sweep"; }
"${mpi[@]}" -np 3 "$frugal" sweep "$work/s.yaml" --db "$work/mpi.sqlite" --cache "$work/cache" \
  >"$work/mpi.out" 2>&1
rc=$?
cat "$work/mpi.out"
if grep -q "built without MPI" "$work/mpi.out"; then echo "SKIP: frugal built without MPI"; exit 77; fi
[ "$rc" -eq 0 ] || fail "mpirun -np 3 exit $rc"
grep -q "3 ranks: rank 0 on" "$work/mpi.out" || fail "no rank line"
[ "$(keys "$work/serial.sqlite")" = "$(keys "$work/mpi.sqlite")" ] ||
  { diff <(keys "$work/serial.sqlite") <(keys "$work/mpi.sqlite"); fail "keys differ from the serial run's"; }
[ "$(keys "$work/mpi.sqlite" | grep -c ' ok$')" -eq 4 ] || fail "want 4 ok points"
python3 - "$work/mpi.sqlite" <<'PY' || fail "the missing model's row"
import sqlite3, sys
rows = sqlite3.connect(sys.argv[1]).execute("SELECT stage, error FROM points WHERE status='failed'").fetchall()
assert len(rows) == 2, rows
for stage, error in rows:
    assert stage == "model" and error.startswith("rank ") and error.endswith("missing.onnx: no such file"), error
PY
# (It exits 1: the only points it runs, the missing model's, fail again.)
"${mpi[@]}" -np 3 "$frugal" sweep "$work/s.yaml" --db "$work/mpi.sqlite" --cache "$work/cache" \
  --resume >"$work/resume.out" 2>&1
grep -q "4 skipped" "$work/resume.out" || { cat "$work/resume.out"; fail "--resume did not skip the 4 ok points"; }
"${mpi[@]}" -np 1 "$frugal" sweep "$work/s.yaml" --db "$work/one.sqlite" --cache "$work/cache" \
  >"$work/one.out" 2>&1 || fail "-np 1 exit $?"
grep -q "mpirun started 1 rank: running serially" "$work/one.out" || { cat "$work/one.out"; fail "-np 1 did not say so"; }
[ "$(keys "$work/serial.sqlite")" = "$(keys "$work/one.sqlite")" ] || fail "-np 1 keys differ"
"${mpi[@]}" -np 3 "$frugal" sweep "$work/s.yaml" --db "$work/ph.sqlite" --cache "$work/cache" \
  --per-host 1 >"$work/ph.out" 2>&1 || { cat "$work/ph.out"; fail "--per-host 1 exit $?"; }
[ "$(keys "$work/serial.sqlite")" = "$(keys "$work/ph.sqlite")" ] || fail "--per-host 1 keys differ"
# A store of another program: refused by rank 0, every rank stops, the file untouched.
python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("CREATE TABLE t(x)"); c.commit()' "$work/other.sqlite"
sum=$(sha256sum <"$work/other.sqlite")
timeout 60 "${mpi[@]}" -np 3 "$frugal" sweep "$work/s.yaml" --db "$work/other.sqlite" \
  --cache "$work/cache" >"$work/other.out" 2>&1
rc=$?
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || fail "foreign store under mpirun: exit $rc"
[ "$(grep -c "not a frugal results store" "$work/other.out")" -eq 1 ] || { cat "$work/other.out"; fail "want one line naming the store"; }
[ "$sum" = "$(sha256sum <"$work/other.sqlite")" ] || fail "the foreign store was changed"
[ "$fails" -eq 0 ] && echo "sweep_mpi: ok"
[ "$fails" -eq 0 ]
