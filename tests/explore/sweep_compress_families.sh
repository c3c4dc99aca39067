#!/usr/bin/env bash
# The compress families on the sweep's transform axis: a spec naming weight sharing, binary
# and ternary weights and block-circulant layers runs one point each, and each Record keeps
# its compress step and an encoded size under half the uncompressed model's.
# Usage: sweep_compress_families.sh FRUGAL WORK_DIR
set -u
frugal="$1" dir="$2"
rm -rf "$dir" && mkdir -p "$dir"
cat >"$dir/spec.yaml" <<'YAML'
models: [lenet5]
transforms:
  - none
  - {name: share5, steps: ["compress --prune 0.9 --cluster 5"]}
  - {name: binary, steps: ["compress --binarize binary"]}
  - {name: ternary, steps: ["compress --binarize ternary"]}
  - {name: circulant8, steps: ["compress --circulant 8:pad"]}
backends: [ref]
duration: 0.05
min_queries: 5
YAML
"$frugal" sweep "$dir/spec.yaml" --db "$dir/r.sqlite" --cache "$dir/cache" || exit 1
/usr/bin/python3 - "$dir/r.sqlite" <<'PY'
import json, sqlite3, sys
rows = sqlite3.connect(sys.argv[1]).execute("SELECT transform, record FROM records").fetchall()
labels = sorted(t for t, _ in rows)
assert labels == ["binary", "circulant8", "none", "share5", "ternary"], f"points: {labels}"
records = {t: json.loads(r) for t, r in rows}
full = records.pop("none")["results"]["memory"]["weight_bytes"]
for label, r in records.items():
    steps = r["what"]["transforms"]
    assert steps[0].startswith("compress --"), f"{label}: first transform {steps[0]}"
    mem = r["results"]["memory"]
    enc = mem.get("encoded_bytes")
    print(f"{label}: {steps[0]}, encoded {enc} B (uncompressed {full} B)")
    assert enc and enc < full / 2, f"{label}: encoded size {enc} B, not under half of {full} B"
PY
