#!/usr/bin/python3
"""Two frugal binaries A and B on one model, alternated: `frugal bench MODEL --threads T
--duration 2 --backend cpu,ref --json` per run, A then B in even rounds and B then A in odd
ones; prints each binary's p50 latency (median, min, max over the rounds) and the A/B ratio
taken round by round (median, min, max). For before/after figures of an engine change:
A = the build with it, B = the build without it (or the same binary with an A/B switch in
the environment, e.g. FRUGAL_NO_CONCAT_IN_PLACE=1, through --env-b).

  /usr/bin/python3 bench/ab_latency.py MODEL ROUNDS THREADS A_FRUGAL B_FRUGAL [--env-b K=V]

AB_MIN_QUERIES=N in the environment lowers bench's --min-queries (default 64) for models
whose query takes a second under load; AB_BATCH=N sets bench's --batch (default 1) for a
model file with a dynamic batch dimension; AB_STAT=min_ms compares each run's fastest query
instead of its p50 (the least disturbed figure when other jobs share the cores).
"""
import json
import os
import statistics
import subprocess
import sys


def p50(binary, model, threads, env):
    out = subprocess.run([binary, "bench", model, "--threads", threads, "--duration", "2",
                          "--backend", "cpu,ref", "--json",
                          "--min-queries", os.environ.get("AB_MIN_QUERIES", "64"),
                          "--batch", os.environ.get("AB_BATCH", "1")],
                         capture_output=True, text=True, check=True, env=env).stdout
    return json.loads(out)["results"]["latency"][os.environ.get("AB_STAT", "p50_ms")]


def main():
    if len(sys.argv) < 6:
        sys.exit(__doc__)
    model, rounds, threads, a, b = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
    env_a, env_b = dict(os.environ), dict(os.environ)
    if len(sys.argv) == 8 and sys.argv[6] == "--env-b":
        k, _, v = sys.argv[7].partition("=")
        env_b[k] = v
    times = {"A": [], "B": []}
    for r in range(rounds):
        order = [("A", a, env_a), ("B", b, env_b)]
        for name, binary, env in order if r % 2 == 0 else reversed(order):
            times[name].append(p50(binary, model, threads, env))
    for name in ("A", "B"):
        v = times[name]
        print(("%s " + os.environ.get("AB_STAT", "p50_ms") + ": median %.3f (min %.3f, max %.3f)") % (name, statistics.median(v), min(v), max(v)))
    ratio = [x / y for x, y in zip(times["A"], times["B"])]
    print("A/B time: median %.3f (min %.3f, max %.3f)" % (statistics.median(ratio), min(ratio), max(ratio)))


if __name__ == "__main__":
    main()
