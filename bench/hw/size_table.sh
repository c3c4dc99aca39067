#!/usr/bin/env bash
# Synthesized size of multiply, add, FMA and MAC for every table format (docs/hw.md), and the
# measured-area data file the cost model reads (src/frugal/numeric/synthesized_area.inc).
# Usage: bench/hw/size_table.sh [path/to/frugal]   (yosys required; minutes on 2 cores, the
# fp32 FMA and MAC about 5 CPU minutes each)
#        ONLY="int4 int8" bench/hw/size_table.sh ...   re-measures those formats' rows and keeps
#        the other rows of both files as they are.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
frugal="${1:-$root/build/frugal}"
. "$here/formats.sh"
out="$here/size_table.md"
inc="$root/src/frugal/numeric/synthesized_area.inc"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ -n "${ONLY:-}" ]; then
  cp "$out" "$tmp/old.md"
  cp "$inc" "$tmp/old.inc"
  FORMATS="$ONLY"
fi
{
  echo "| format | op | NAND2 eq. | um^2 (NanGate45) | cells | depth |"
  echo "|---|---|---:|---:|---:|---:|"
} >"$out"
{
  echo "// Synthesized operator areas, written by bench/hw/size_table.sh (do not edit):"
  echo "// yosys synth + abc -g (generic gates), area in NAND2 equivalents (docs/hw.md)."
  echo "// {format, op, accumulator, nand2_area, depth}"
} >"$inc"
for f in $FORMATS; do
  acc=$(acc_of "$f")
  for op in mul add fma mac; do
    extra=()
    [ "$op" = mac ] && extra=(--acc "$acc")
    "$frugal" hw size "$op" --format "$f" "${extra[@]}" --fpga none --json >"$tmp/j.json"
    python3 - "$tmp/j.json" "$f" "$op" "${acc}" "$out" "$inc" <<'PY'
import json, sys
path, f, op, acc, out, inc = sys.argv[1:]
d = json.load(open(path))
label = op if op != "mac" else f"mac (+{acc})"
with open(out, "a") as o:
    o.write(f"| {f} | {label} | {d['nand2_area']:.0f} | {d['area_um2_nangate45']:.0f} | "
            f"{d['total_cells']} | {d['depth']} |\n")
acc_field = acc if op == "mac" else ""
with open(inc, "a") as o:
    o.write(f'{{"{f}", "{op}", "{acc_field}", {d["nand2_area"]:.1f}, {d["depth"]}}},\n')
PY
    echo "$f $op done" >&2
  done
done
if [ -n "${ONLY:-}" ]; then
  python3 "$here/merge_rows.py" "$tmp/old.md" "$out" 2 md "$ONLY"
  python3 "$here/merge_rows.py" "$tmp/old.inc" "$inc" 3 inc "$ONLY"
fi
echo "wrote $out and $inc"
