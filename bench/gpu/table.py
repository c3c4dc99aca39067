#!/usr/bin/env python3
"""The table of bench/gpu/run.sh: one row per (model, precision, batch) from frugal bench's
records in OUT/*.json and PyTorch's lines in OUT/torch.jsonl, with the machine line.

  table.py OUT > table.md
"""
import glob
import json
import os
import sys


def fmt(v, spec):
    return format(v, spec) if isinstance(v, (int, float)) else "-"


def main(out):
    torch = {}
    path = os.path.join(out, "torch.jsonl")
    if os.path.exists(path):
        for line in open(path):
            r = json.loads(line)
            torch[(r["model"], r["precision"], r["batch"], r["mode"])] = r["p50_ms"]
    rows, where = [], None
    for f in sorted(glob.glob(os.path.join(out, "*_b*.json"))):
        try:
            rec = json.load(open(f))
        except (json.JSONDecodeError, OSError):
            continue
        name = os.path.basename(f)[:-5]
        model, precision, batch = name.rsplit("_", 2)
        batch = int(batch[1:])
        res, where = rec["results"], rec["where"]
        lat, thr, en = res.get("latency", {}), res.get("throughput", {}), res.get("energy") or {}
        rows.append((model, precision, batch, lat.get("p50_ms"), thr.get("samples_per_s"),
                     en.get("joules_per_inference"), en.get("active_joules_per_inference"),
                     en.get("source", "-"),
                     len(res.get("fallbacks") or []), torch.get((model, precision, batch, "eager+cudnn.benchmark")),
                     torch.get((model, precision, batch, "cuda graph"))))
    gpu = (where or {}).get("gpu") or {}
    print(f"Machine: {gpu.get('gpu', 'no GPU recorded')}; CUDA driver API {gpu.get('cuda_driver_api', '?')}, "
          f"runtime {gpu.get('cuda_runtime', '?')}, cuDNN {gpu.get('cudnn', '?')}, cuBLASLt {gpu.get('cublaslt', '?')}; "
          f"host {(where or {}).get('cpu_model', '?')}; frugal {(where or {}).get('git_revision', '?')}.")
    print()
    print("| model | precision | batch | frugal p50 ms | frugal samples/s | J/sample (above idle) [source] | "
          "steps off GPU | PyTorch eager p50 ms | PyTorch CUDA graph p50 ms |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in sorted(rows, key=lambda r: (r[0], ["fp32", "tf32", "fp16", "bf16"].index(r[1]), r[2])):
        print(f"| {r[0]} | {r[1]} | {r[2]} | {fmt(r[3], '.3f')} | {fmt(r[4], '.0f')} | "
              f"{fmt(r[5], '.4f')} ({fmt(r[6], '.4f')}) [{r[7]}] | {r[8]} | {fmt(r[9], '.3f')} | "
              f"{fmt(r[10], '.3f')} |")


if __name__ == "__main__":
    main(sys.argv[1])
