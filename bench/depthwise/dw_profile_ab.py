#!/usr/bin/python3
"""Per-node A/B of the cpu backend's own depthwise kernel (kernels/cpu/depthwise.h) against
oneDNN's: `frugal bench MODEL --profile --json` with FRUGAL_OWN_DW=on and =off,
alternated round by round (A first in even rounds, B first in odd ones); prints, for every
node that either run gives a depthwise kernel, the fastest and the median time per call of
each side, their ratio (own / oneDNN, below 1: own faster), and the totals over those nodes.
The minimum over rounds is the figure least disturbed by other processes on a shared machine.

  /usr/bin/python3 bench/depthwise/dw_profile_ab.py FRUGAL MODEL [ROUNDS [THREADS [BATCH]]]
"""
import json
import os
import statistics
import subprocess
import sys


def profile(frugal, model, threads, batch, own):
    env = dict(os.environ, FRUGAL_OWN_DW="on" if own else "off")
    out = subprocess.run([frugal, "bench", model, "--backend", "cpu", "--threads", str(threads),
                          "--batch", str(batch), "--profile", "--json", "--duration", "1",
                          "--min-queries", "10"],
                         capture_output=True, text=True, check=True, env=env).stdout
    return {r["node"]: (r["kernel"], r["time_s"] / r["calls"] * 1e3)
            for r in json.loads(out)["results"]["profile"]}


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    frugal, model = sys.argv[1], sys.argv[2]
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    threads = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    batch = int(sys.argv[5]) if len(sys.argv) > 5 else 1
    times = {True: {}, False: {}}
    kernels = {True: {}, False: {}}
    for r in range(rounds):
        for own in ((True, False) if r % 2 == 0 else (False, True)):
            for node, (kernel, ms) in profile(frugal, model, threads, batch, own).items():
                times[own].setdefault(node, []).append(ms)
                kernels[own][node] = kernel
    dw = [n for n in kernels[True] if "dw" in kernels[True][n] or "dw" in kernels[False].get(n, "")]
    print(f"{'node':32} {'own min':>8} {'own med':>8} {'dnn min':>8} {'dnn med':>8} {'min ratio':>9}  own kernel / oneDNN kernel")
    tot = {True: 0.0, False: 0.0}
    for n in dw:
        a, b = times[True][n], times[False][n]
        tot[True] += min(a)
        tot[False] += min(b)
        print(f"{n:32} {min(a):8.3f} {statistics.median(a):8.3f} {min(b):8.3f} "
              f"{statistics.median(b):8.3f} {min(a) / min(b):9.3f}  {kernels[True][n]} / {kernels[False][n]}")
    print(f"{'total (sum of minima, ms)':32} {tot[True]:8.3f} {'':8} {tot[False]:8.3f} {'':8} {tot[True] / tot[False]:9.3f}")


if __name__ == "__main__":
    main()
