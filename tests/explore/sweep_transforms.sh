#!/usr/bin/env bash
# A swept Record keeps both kinds of transform in what.transforms: the compress steps that
# made the point's model, then the graph passes its session ran (pass:...).
# Usage: sweep_transforms.sh FRUGAL WORK_DIR
set -u
frugal="$1" dir="$2"
rm -rf "$dir" && mkdir -p "$dir"
cat >"$dir/spec.yaml" <<'YAML'
models: [lenet5]
transforms:
  - {name: p50, steps: ["compress --prune 0.5"]}
backends: [ref]
duration: 0.05
min_queries: 5
YAML
"$frugal" sweep "$dir/spec.yaml" --db "$dir/r.sqlite" --cache "$dir/cache" || exit 1
/usr/bin/python3 - "$dir/r.sqlite" <<'PY'
import json, sqlite3, sys
rows = sqlite3.connect(sys.argv[1]).execute("SELECT record FROM records").fetchall()
assert len(rows) == 1, f"expected one Record, got {len(rows)}"
t = json.loads(rows[0][0])["what"]["transforms"]
print("what.transforms:", t)
assert t[0] == "compress --prune 0.5", "the compress step is not first"
assert any(x.startswith("pass:") for x in t[1:]), "no graph pass after the compress step"
PY
