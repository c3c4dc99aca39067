#!/usr/bin/env bash
# FPGA columns of the hw table: Yosys synth_xilinx (7-series: LUT6, CARRY4, DSP48E1) and
# synth_ice40 -dsp (SB_LUT4, SB_CARRY, SB_MAC16) cell counts of the generated multiply and MAC
# (multiply in the format, add into its table accumulator), combinational, nearest-even.
# Synthesis estimates before place and route. fp32 runs with --fpga-only (its gate-level pass
# takes 30-50 minutes on the shared 2-core machine, docs/hw.md); its NAND2 column is then read
# from bench/hw/size_table.md.
# Usage: bench/hw/fpga_table.sh [path/to/frugal] [ops]   (yosys required; ~20 min on 2 cores)
#        ONLY="fixed8.8" bench/hw/fpga_table.sh ...   re-measures those formats' rows and keeps
#        the other rows.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
frugal="${1:-$root/build/frugal}"
ops="${2:-mul mac}"
. "$here/formats.sh"
out="$here/fpga_table.md"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ -n "${ONLY:-}" ]; then
  cp "$out" "$tmp/old.md"
  FORMATS="$ONLY"
fi
{
  echo "| format | op | Xilinx LUT | Xilinx CARRY4 | Xilinx DSP48E1 | iCE40 LUT4 | iCE40 SB_CARRY | iCE40 SB_MAC16 | NAND2 eq. |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
} >"$out"
for f in $FORMATS; do
  acc=$(acc_of "$f")
  for op in $ops; do
    extra=()
    [ "$op" = mac ] && extra=(--acc "$acc")
    [ "$f" = fp32 ] && extra+=(--fpga-only)
    "$frugal" hw size "$op" --format "$f" "${extra[@]}" --fpga xilinx --json >"$tmp/x.json"
    "$frugal" hw size "$op" --format "$f" "${extra[@]}" --fpga ice40 --json >"$tmp/i.json"
    python3 - "$tmp/x.json" "$tmp/i.json" "$f" "$op" "$acc" "$out" "$here/size_table.md" <<'PY'
import json, sys
x, i, f, op, acc, out, sizes = sys.argv[1:]
x, i = json.load(open(x)), json.load(open(i))
xc, ic = x["fpga"]["cells"], i["fpga"]["cells"]
label = op if op != "mac" else f"mac (+{acc})"
if "nand2_area" not in x:  # --fpga-only: the gate-level figure of size_table.sh
    row = [r for r in open(sizes) if r.startswith(f"| {f} | {label} |")][0]
    x["nand2_area"] = float(row.split("|")[3])
with open(out, "a") as o:
    o.write(f"| {f} | {label} | {x['fpga']['luts']} | {xc.get('CARRY4', 0)} | {x['fpga']['dsps']} | "
            f"{i['fpga']['luts']} | {ic.get('SB_CARRY', 0)} | {i['fpga']['dsps']} | {x['nand2_area']:.0f} |\n")
PY
    echo "$f $op done" >&2
  done
done
[ -n "${ONLY:-}" ] && python3 "$here/merge_rows.py" "$tmp/old.md" "$out" 2 md "$ONLY"
echo "wrote $out"
