#!/usr/bin/env python3
"""Prune and quantize a small model, compare accuracy, latency and energy, plot the Pareto front.

    python3 examples/python/prune_quantize_compare.py [MODEL.onnx] [--out pareto.png] [--limit 2000]

(with the module installed, or PYTHONPATH=build/python; build/frugal-python works too).

MODEL defaults to a LeNet-5 trained for one epoch on 10,000 Fashion-MNIST images, made once
with frugal.train and cached in ~/.cache/frugal/examples/. Each variant is scored on the
first --limit test images (frugal.eval), timed single-stream for one second (frugal.bench)
and its energy estimated by the model meter (power="model": an estimate from op counts and
bytes moved, labelled so in the record).
"""
import argparse
import os
import sys

import numpy as np

import frugal


def trained_lenet():
    path = os.path.expanduser("~/.cache/frugal/examples/lenet5_fmnist.onnx")
    if not os.path.exists(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        print(f"training LeNet-5 for one epoch (frugal.train) -> {path}", flush=True)
        model, _ = frugal.train(frugal.zoo("lenet5"), "fashion-mnist", epochs=1, limit=10000)
        model.save(path)
    return path


def pareto(points):
    """Indices of the points no other point beats on both latency (lower) and top-1 (higher)."""
    front = []
    for i, (lat, acc) in enumerate(points):
        if not any(l2 <= lat and a2 >= acc and (l2, a2) != (lat, acc) for l2, a2 in points):
            front.append(i)
    return sorted(front, key=lambda i: points[i][0])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", nargs="?")
    ap.add_argument("--out", default="pareto.png")
    ap.add_argument("--limit", type=int, default=2000)
    ap.add_argument("--duration", type=float, default=1.0)
    a = ap.parse_args()
    base = frugal.Model.load(a.model or trained_lenet())
    variants = {"fp32": (base, {})}
    for p in ("0.5", "0.8", "0.9"):
        variants[f"prune {p}"] = (frugal.compress(base, prune=p)[0], {})
    variants["int8"] = (frugal.compress(base, quant="int8", data="fashion-mnist",
                                        limit=a.limit)[0], {"precision": "int8"})
    variants["prune 0.8 + int8"] = (frugal.compress(base, prune="0.8", quant="int8",
                                                    data="fashion-mnist", limit=a.limit)[0],
                                    {"precision": "int8"})
    variants["bf16"] = (base, {"precision": "bf16"})

    rows = []
    print(f"{'variant':<18} {'top-1':>7} {'p50 ms':>8} {'p90 ms':>8} {'µJ/inf (est.)':>14} "
          f"{'encoded KiB':>12}")
    for name, (model, engine) in variants.items():
        acc = frugal.eval(model, "fashion-mnist", limit=a.limit, **engine)
        rec = frugal.bench(model, duration=a.duration, power="model", idle_seconds=0, **engine)
        lat = rec["results"]["latency"]
        energy = rec["results"]["energy"]
        uj = energy["joules_per_inference"] * 1e6 if energy else float("nan")
        kib = rec["results"]["memory"]["encoded_bytes"] / 1024
        top1 = acc["results"]["accuracy"]["top1"]
        rows.append((name, top1, lat["p50_ms"], lat["p90_ms"], uj, kib))
        print(f"{name:<18} {top1:>7.4f} {lat['p50_ms']:>8.4f} {lat['p90_ms']:>8.4f} {uj:>14.3f} "
              f"{kib:>12.1f}", flush=True)

    points = [(r[2], r[1]) for r in rows]
    front = pareto(points)
    print("Pareto front (p50 latency vs top-1): " + ", ".join(rows[i][0] for i in front))

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    sizes = np.array([r[5] for r in rows])
    sc = ax.scatter([p[0] for p in points], [p[1] for p in points], s=20 + 200 * sizes / sizes.max(),
               c=[r[4] for r in rows], cmap="viridis", edgecolors="k", zorder=3)
    for r, (x, y) in zip(rows, points):
        ax.annotate(r[0], (x, y), textcoords="offset points", xytext=(5, 5), fontsize=8)
    ax.plot([points[i][0] for i in front], [points[i][1] for i in front], "r--", zorder=2,
            label="Pareto front")
    ax.set_xlabel("p50 latency, ms (measured, single-stream, 1 thread)")
    ax.set_ylabel(f"top-1 on Fashion-MNIST (first {a.limit} test images)")
    ax.set_title(f"{os.path.basename(base.origin)}: colour = energy/inference (estimate), "
                 "size = encoded bytes", fontsize=9)
    fig.colorbar(sc, ax=ax, label="µJ / inference (model meter: estimate)")
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(a.out, dpi=120)
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
