#!/usr/bin/env bash
# Training points end to end on the real binary: two 200-iteration LeNet-5 runs (fp32 and
# e4m3 with stochastic rounding), their Records (accuracy, loss, wall time, estimated
# cost per MAC), then --resume runs nothing. Usage: sweep_train.sh FRUGAL WORK_DIR
set -u
frugal="$1" work="$2"
rm -rf "$work"; mkdir -p "$work"
cat >"$work/t.yaml" <<'YAML'
name: train-dse
train:
  - model: lenet5
    limit: 3200
    batch: 16
    formats: [fp32, e4m3]
    rounding: stochastic
    timeout: 120
YAML
"$frugal" sweep "$work/t.yaml" --db "$work/t.sqlite" --cache "$work/cache" >"$work/out" 2>&1
rc=$?
cat "$work/out"
[ "$rc" -eq 0 ] || { echo "FAIL: sweep exit $rc"; exit 1; }
python3 - "$work/t.sqlite" <<'PY' || exit 1
import json, math, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
rows = {k: json.loads(r) for k, r in db.execute("SELECT key, record FROM records")}
fp32 = rows["lenet5|train|fp32|acc=fp32|stochastic|e1 n3200 s0|t1|b16"]
e4m3 = rows["lenet5|train|e4m3|acc=fp32|stochastic|e1 n3200 s0|t1|b16"]
for name, r in (("fp32", fp32), ("e4m3", e4m3)):
    t = r["results"]["training"]
    top1 = r["results"]["accuracy"]["top1"]
    assert 0.3 < top1 <= 1, (name, top1)  # 200 iterations learn well above chance (0.1)
    assert math.isfinite(t["final_loss"]) and t["final_loss"] > 0, (name, t["final_loss"])
    assert t["wall_s"] > 0 and t["mac_cost"]["kind"] == "estimated", name
    assert r["what"]["scenario"] == "train", name
    print(name, "top1", top1, "loss", round(t["final_loss"], 4), "wall", round(t["wall_s"], 2),
          "s, pJ/MAC", round(t["mac_cost"]["energy_pj"], 3))
assert abs(fp32["results"]["training"]["mac_cost"]["energy_pj"] - 4.6) < 1e-9  # 3.7 + 0.9 pJ
assert e4m3["results"]["training"]["mac_cost"]["energy_pj"] < 4.6 / 2
# Synthesized areas (bench/hw/size_table.sh): the fp32 FMA, the e4m3 MAC into fp32.
assert abs(fp32["results"]["training"]["mac_cost"]["synthesized_area_um2"] - 10503.3 * 0.798) < 1e-6
assert abs(e4m3["results"]["training"]["mac_cost"]["synthesized_area_um2"] - 3064.6 * 0.798) < 1e-6
assert e4m3["what"]["formats"]["policy"] == "W=e4m3,A=e4m3,E=e4m3,G=e4m3"
PY
"$frugal" sweep "$work/t.yaml" --db "$work/t.sqlite" --cache "$work/cache" --resume >"$work/out2" 2>&1
grep -q "2 skipped" "$work/out2" || { cat "$work/out2"; echo "FAIL: --resume re-ran training points"; exit 1; }
echo "sweep_train: ok"
