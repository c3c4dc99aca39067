#!/usr/bin/env bash
# A sweep whose devices axis names an accel device (frugal accel's Eyeriss-like array in
# e4m3): each point runs `frugal pipeline --simulate` and stores a Record whose time and
# energy are labelled estimates. Usage: accel_sweep.sh FRUGAL OUT_DIR
set -u
frugal="$1" out="$2"
rm -rf "$out"
mkdir -p "$out"
cat >"$out/eyeriss.yaml" <<'YAML'
devices:
  - name: eyeriss
    kind: accel
    arch: eyeriss
    format: w=e4m3,a=e4m3,acc=fp16
    link_bytes_per_s: 100M
    count: 2
YAML
cat >"$out/spec.yaml" <<'YAML'
models: [lenet5]
devices: eyeriss.yaml
stages: [1, 2]
YAML
"$frugal" sweep "$out/spec.yaml" --db "$out/r.sqlite" --cache "$out/cache" >"$out/sweep.log" 2>&1
rc=$?
cat "$out/sweep.log"
[ "$rc" -eq 0 ] || { echo "FAIL: sweep exit $rc"; exit 1; }
python3 - "$out/r.sqlite" <<'PY'
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
rows = db.execute("SELECT key, record, energy_kind, joules_per_inference FROM records").fetchall()
assert len(rows) == 2, f"expected 2 records, got {len(rows)}"
for key, record, kind, joules in rows:
    r = json.loads(record)["results"]
    assert r["pipeline"]["simulated"] and r["pipeline"]["estimate"], key
    assert r["throughput"]["estimate"] and r["latency"]["estimate"], key
    assert kind == "estimated" and joules > 0, (key, kind, joules)
    for s in r["pipeline"]["stages"]:
        assert s["estimate"] and "accel model (eyeriss" in s["energy"]["source"], (key, s)
    print(f"ok {key}: {joules:.3e} J, {r['throughput']['queries_per_s']:.1f}/s (estimates)")
PY
