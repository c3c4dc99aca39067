#!/usr/bin/env bash
# A worker rank SIGKILLed in the middle of a point under `mpirun --enable-recovery -np 3`:
# rank 0 reports it, records its point failed with the reason, and the sweep finishes on
# the other rank with every other point ok. Exit 77 (skipped) without mpirun or an MPI
# build. Usage: sweep_mpi_kill.sh FRUGAL WORK_DIR
set -u
frugal="$1" work="$2"
command -v mpirun >/dev/null || { echo "SKIP: no mpirun (apt-get install openmpi-bin)"; exit 77; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
rm -rf "$work"; mkdir -p "$work"
cat >"$work/k.yaml" <<'YAML'
name: kill
models: [lenet5]
backends: [ref, "cpu,ref"]
threads: [1, 2]
duration: 1.5
min_queries: 8
YAML
timeout 120 mpirun --allow-run-as-root --oversubscribe --enable-recovery -np 3 \
  "$frugal" sweep "$work/k.yaml" --db "$work/k.sqlite" --cache "$work/cache" >"$work/out" 2>&1 &
launcher=$!
victim=""
for _ in $(seq 1 300); do  # find rank 1 once it runs a point (it has a child process)
  for pid in $(pgrep -P "$(pgrep -P $launcher | head -1)" 2>/dev/null) $(pgrep -P $launcher 2>/dev/null); do
    tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=1" || continue
    [ -n "$(pgrep -P "$pid")" ] && victim=$pid
  done
  [ -n "$victim" ] && break
  sleep 0.1
done
if grep -q "built without MPI" "$work/out"; then wait $launcher; echo "SKIP: frugal built without MPI"; exit 77; fi
[ -n "$victim" ] || { wait $launcher; cat "$work/out"; echo "FAIL: never saw rank 1 run a point"; exit 1; }
kill -9 "$victim"
wait $launcher
rc=$?
cat "$work/out"
fails=0
[ "$rc" -eq 0 ] || { echo "FAIL: mpirun exit $rc"; fails=1; }
grep -q "rank 1 (pid $victim on .*) stopped answering" "$work/out" || { echo "FAIL: the dead rank was not reported"; fails=1; }
python3 - "$work/k.sqlite" <<'PY' || fails=1
import sqlite3, sys
rows = sqlite3.connect(sys.argv[1]).execute("SELECT key, status, stage, error FROM points").fetchall()
assert len(rows) == 4, rows  # every point of the grid has its row
failed = [r for r in rows if r[1] != "ok"]
assert len(failed) == 1 and failed[0][2] == "rank" and "died or hung" in failed[0][3], failed
print("killed rank's point:", failed[0][0], "->", failed[0][3])
PY
[ "$fails" -eq 0 ] && echo "sweep_mpi_kill: ok"
exit $fails
