#!/usr/bin/python3
"""Where the time goes, ONNX Runtime against frugal, per operator type: runs ort_run.js and
frugal_peer with --profile in alternating rounds on the same file and input, sums each
node's median time (ms_median: robust to a preempted run on a shared machine) per op type
(frugal's fused post-ops, "Conv+relu", count as their node's op) and prints the median
over the rounds of each side, with the difference. ORT's own Reorder nodes (its NCHWc
conversions) show as such; frugal's layout conversions are inside its nodes.

  /usr/bin/python3 bench/peers/profile_ops.py --model M.onnx --input x.npy [--threads 1]
      [--iters 40] [--rounds 3] [--build build] [--env-frugal K=V ...] [--precision int8]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def per_op(cmd, env):
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env).stdout
    d = json.loads(out)
    ops = {}
    for n in d["profile"]:
        op = (n.get("op") or "?").split("+")[0]
        ops[op] = ops.get(op, 0.0) + n["ms_median"]
    return ops, statistics.median(d["ms"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--input", required=True)
    ap.add_argument("--threads", default="1")
    ap.add_argument("--iters", default="40")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--build", default="build")
    ap.add_argument("--env-frugal", action="append", default=[], help="K=V for frugal_peer")
    ap.add_argument("--precision", default="fp32",
                    help="frugal_peer's --precision (int8 on a QDQ file: cpu:int8 against ORT's QLinear ops)")
    a = ap.parse_args()
    common = ["--model", a.model, "--input", a.input, "--threads", a.threads, "--iters", a.iters,
              "--warmup", "3", "--no-output", "--profile"]
    peer = os.path.join(a.build, "bench", "frugal_peer")
    if not os.path.exists(peer):
        sys.exit("profile_ops.py: %s not found: build it (ninja -C %s frugal_peer)" % (peer, a.build))
    fenv = dict(os.environ)
    for kv in a.env_frugal:
        k, _, v = kv.partition("=")
        fenv[k] = v
    sides = {"ort": (["node", os.path.join(HERE, "ort_run.js")] + common, dict(os.environ)),
             "frugal": ([peer] + common + ["--precision", a.precision], fenv)}
    got = {s: [] for s in sides}
    walls = {s: [] for s in sides}
    for r in range(a.rounds):
        for s in (["ort", "frugal"] if r % 2 == 0 else ["frugal", "ort"]):
            ops, wall = per_op(*sides[s])
            got[s].append(ops)
            walls[s].append(wall)
    names = sorted({op for s in got for ops in got[s] for op in ops})
    med = {s: {op: statistics.median([ops.get(op, 0.0) for ops in got[s]]) for op in names}
           for s in got}
    print("%-22s %10s %10s %10s" % ("op (sum of node medians)", "ORT ms", "frugal ms", "diff"))
    for op in sorted(names, key=lambda o: -max(med["ort"][o], med["frugal"][o])):
        print("%-22s %10.3f %10.3f %+10.3f" % (op, med["ort"][op], med["frugal"][op],
                                               med["frugal"][op] - med["ort"][op]))
    tot = {s: sum(med[s].values()) for s in med}
    print("%-22s %10.3f %10.3f %+10.3f" % ("all nodes", tot["ort"], tot["frugal"],
                                           tot["frugal"] - tot["ort"]))
    print("%-22s %10.3f %10.3f   (median run, wall clock)" % ("run", statistics.median(walls["ort"]),
                                                              statistics.median(walls["frugal"])))
    print(os.popen("uptime").read().strip())


if __name__ == "__main__":
    main()
