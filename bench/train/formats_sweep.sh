#!/usr/bin/env bash
# Runs formats_sweep.yaml and prints one row per point: test top-1, final loss, wall time and
# the cost model's estimated energy and area per training MAC.
# Usage: formats_sweep.sh FRUGAL WORK_DIR
set -eu
frugal="$1" work="$2"
mkdir -p "$work"
"$frugal" sweep "$(dirname "$0")/formats_sweep.yaml" --db "$work/formats.sqlite" --resume >/dev/null
python3 - "$work/formats.sqlite" <<'PY'
import json, sqlite3, sys
rows = sqlite3.connect(sys.argv[1]).execute("SELECT key, record FROM records ORDER BY key").fetchall()
print("| format | rounding | test top-1 | final loss | wall s | pJ/MAC (estimate) | area vs fp32 MAC (estimate) |")
print("| --- | --- | --- | --- | --- | --- | --- |")
for key, rec in rows:
    r = json.loads(rec)
    t = r["results"]["training"]
    c = t["mac_cost"]
    print(f"| {r['what']['precision']} | {key.split('|')[4]} | {r['results']['accuracy']['top1']:.4f} | "
          f"{t['final_loss']:.4f} | {t['wall_s']:.1f} | {c['energy_pj']:.2f} | {c['relative_area']:.2f} |")
PY
