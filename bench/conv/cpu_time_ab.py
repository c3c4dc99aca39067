#!/usr/bin/python3
"""CPU time per query of two frugal configurations on one model, alternated, for a machine
whose cores other jobs share: wall-clock latency there measures the scheduler (a 53 ms
resnet50 query takes 110-140 ms at load 8), the process's own user + system time far less.
Each round runs `frugal bench MODEL --backend cpu --threads T --batch B --duration 0.001
--warmup 0` twice per configuration, with LO and HI queries, and takes (cpu(HI) - cpu(LO)) /
(HI - LO): session init, first inference and process start cancel out. Configurations run
A, B in even rounds and B, A in odd ones; prints each one's ms per query (median, min, max
over rounds) and the A/B ratio round by round. With --threads 2 the figure also counts
OpenMP's spinning between kernels, so compare like with like only.

  /usr/bin/python3 bench/conv/cpu_time_ab.py MODEL ROUNDS THREADS BATCH A_FRUGAL B_FRUGAL \\
      [--env-a K=V ...] [--env-b K=V ...] [--queries LO,HI]
"""
import argparse
import os
import resource
import statistics
import subprocess


def cpu_seconds(cmd, env):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def ms_per_query(binary, env, args, lo, hi):
    def run(queries):
        return cpu_seconds([binary, "bench", args.model, "--backend", "cpu", "--threads",
                            args.threads, "--batch", args.batch, "--duration", "0.001", "--warmup",
                            "0", "--min-queries", str(queries)], env)
    return (run(hi) - run(lo)) * 1000.0 / (hi - lo)


def env_with(pairs):
    env = dict(os.environ)
    for p in pairs:
        k, _, v = p.partition("=")
        env[k] = v
    return env


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for name in ("model", "rounds", "threads", "batch", "a", "b"):
        ap.add_argument(name)
    ap.add_argument("--env-a", action="append", default=[])
    ap.add_argument("--env-b", action="append", default=[])
    ap.add_argument("--queries", default="4,20")
    args = ap.parse_args()
    lo, hi = (int(x) for x in args.queries.split(","))
    configs = {"A": (args.a, env_with(args.env_a)), "B": (args.b, env_with(args.env_b))}
    times = {"A": [], "B": []}
    for r in range(int(args.rounds)):
        for name in ("A", "B") if r % 2 == 0 else ("B", "A"):
            binary, env = configs[name]
            times[name].append(ms_per_query(binary, env, args, lo, hi))
    for name in ("A", "B"):
        v = times[name]
        print("%s cpu ms/query: median %.3f (min %.3f, max %.3f)" % (name, statistics.median(v), min(v), max(v)))
    ratio = [x / y for x, y in zip(times["A"], times["B"])]
    print("A/B cpu time: median %.3f (min %.3f, max %.3f)" % (statistics.median(ratio), min(ratio), max(ratio)))


if __name__ == "__main__":
    main()
