#!/usr/bin/python3
"""Session init time of two frugal_peer binaries A and B, alternated (A then B in even
rounds, B then A in odd ones), on each model given: init_ms as frugal_peer reports it
(model file read to session ready, as compare.py's init column) and the process's CPU
time (user + system, from getrusage: page faults count as system time), with one run of
the model after init. Prints per model and binary the median init_ms with min and max, the
median CPU seconds, and the A/B ratio of init_ms taken round by round (median, min, max).
For before/after figures of a change to session construction (A: with it, B: without).

  /usr/bin/python3 bench/init_ab.py A_PEER B_PEER ROUNDS WORKDIR MODEL[:int8] ...

MODEL names compare.py's cached files in WORKDIR: MODEL_b1.onnx with MODEL_b1.npy, or
with :int8 the QDQ file MODEL_bN.qdq.onnx (compare.py --precisions int8 writes it) run on
cpu:int8. Example (A = this build, B = main's):
  /usr/bin/python3 bench/init_ab.py build/bench/frugal_peer /tmp/base/frugal_peer 5 \
      /tmp/work resnet50:int8 densenet121 inception_v3
"""
import json
import os
import resource
import statistics
import subprocess
import sys


def one(peer, workdir, spec):
    model, _, precision = spec.partition(":")
    precision = precision or "fp32"
    onnx = model + ("_bN.qdq.onnx" if precision == "int8" else "_b1.onnx")
    cmd = [peer, "--model", os.path.join(workdir, onnx), "--input",
           os.path.join(workdir, model + "_b1.npy"), "--precision", precision,
           "--iters", "1", "--warmup", "0", "--no-output"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return json.loads(out.strip().splitlines()[-1])["init_ms"], cpu


def spread(v):
    return "%.0f (%.0f-%.0f)" % (statistics.median(v), min(v), max(v))


def main():
    if len(sys.argv) < 6:
        sys.exit(__doc__)
    a, b, rounds, workdir, models = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5:]
    print("| model | A init ms | B init ms | A/B init (min-max) | A CPU s | B CPU s |")
    print("|---|---|---|---|---|---|")
    for spec in models:
        init = {"A": [], "B": []}
        cpu = {"A": [], "B": []}
        for r in range(rounds):
            for name in ("A", "B") if r % 2 == 0 else ("B", "A"):
                ms, s = one(a if name == "A" else b, workdir, spec)
                init[name].append(ms)
                cpu[name].append(s)
        ratios = [x / y for x, y in zip(init["A"], init["B"])]
        print("| %s | %s | %s | %.3f (%.3f-%.3f) | %.3f | %.3f |" % (
            spec, spread(init["A"]), spread(init["B"]), statistics.median(ratios), min(ratios),
            max(ratios), statistics.median(cpu["A"]), statistics.median(cpu["B"])), flush=True)


if __name__ == "__main__":
    main()
