#!/usr/bin/env bash
# `frugal study --quick` end to end: it must finish, write results.sqlite and report.html,
# print where they are and the Pareto rows. Usage: study_quick.sh FRUGAL OUT_DIR CACHE_DIR
set -u
frugal="$1" out="$2" cache="$3"
rm -rf "$out"
start=$(date +%s)
"$frugal" study --quick -o "$out" --cache "$cache" >"$out.log" 2>&1
rc=$?
took=$(( $(date +%s) - start ))
cat "$out.log"
echo "study --quick: exit $rc in ${took} s"
fails=0
[ "$rc" -eq 0 ] || { echo "FAIL: exit $rc"; fails=1; }
for f in results.sqlite report.html; do
  [ -s "$out/$f" ] || { echo "FAIL: no $out/$f"; fails=1; }
done
grep -q "^report  $out/report.html" "$out.log" || { echo "FAIL: report path not printed"; fails=1; }
grep -q "^Pareto front over " "$out.log" || { echo "FAIL: no Pareto rows printed"; fails=1; }
grep -q "0 failed" "$out.log" || { echo "FAIL: some points failed"; fails=1; }
[ "$took" -le 120 ] || echo "WARNING: --quick took ${took} s, over its 2-minute budget (loaded machine?)"
exit $fails
