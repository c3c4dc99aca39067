#!/usr/bin/env bash
# Verilator proof of every generated operator of the table formats against the emulator:
# exhaustive where the inputs span at most 2^24 codes, else 10^7 random + 10^5 edge cases.
# Usage: bench/hw/verify_all.sh [path/to/frugal]   (verilator required; about 1 h on 2 cores)
#        ONLY="int4 int8" bench/hw/verify_all.sh ...   re-verifies those formats, keeping the
#        other rows.
#        ONLY="bf16 fp32" OPS="dot" bench/hw/verify_all.sh ...   re-verifies only the operators
#        starting with OPS of those formats.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
frugal="${1:-$root/build/frugal}"
. "$here/formats.sh"
out="$here/verify_table.md"
old=$(mktemp)
trap 'rm -f "$old"' EXIT
cp "$out" "$old"
[ -n "${OPS:-}" ] && [ -z "${ONLY:-}" ] && { echo "verify_all.sh: OPS needs ONLY" >&2; exit 1; }
[ -n "${ONLY:-}" ] && FORMATS="$ONLY"
{
  echo "| format | operator | vectors | kind | result |"
  echo "|---|---|---:|---|---|"
} >"$out"
for f in $FORMATS; do
  acc=$(acc_of "$f")
  for spec in "mul" "add" "fma" "mac --acc $acc" "to-fp32" "from-fp32" \
              "from-fp32 --round stochastic:bits=8" "dot --length 4 --acc $acc"; do
    if [ -n "${OPS:-}" ] && ! [[ " $OPS " == *" ${spec%% *} "* ]]; then continue; fi
    res=$("$frugal" hw verify $spec --format "$f" --json 2>&1)
    if echo "$res" | grep -q '"passed": true'; then
      line=$(echo "$res" | python3 -c 'import json,sys; d=json.load(sys.stdin); k="exhaustive" if d["exhaustive"] else "%d random + %d edge" % (d["random"], d["edge"]); print("%d | %s" % (d["vectors"], k))')
      echo "| $f | $spec | $line | bit-exact |" >>"$out"
    else
      echo "| $f | $spec | - | - | $(echo "$res" | tail -1 | cut -c1-160) |" >>"$out"
    fi
    echo "$f $spec done" >&2
  done
done
[ -n "${ONLY:-}" ] && python3 "$here/merge_rows.py" "$old" "$out" 2 md "$ONLY" "${OPS:-}"
echo "wrote $out"
