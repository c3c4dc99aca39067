#!/usr/bin/env python3
"""The tables of bench/gpu/run.sh: one row per (model, precision, batch) from frugal bench's
records in OUT/*.json (OUT/eager/*.json: batch 1 with device graphs off) and PyTorch's lines
in OUT/torch.jsonl, with the machine line; then the CPU-versus-GPU table from
OUT/cpu_gpu/MODEL__CONFIG_bB.json.

  table.py OUT > table.md
"""
import glob
import json
import os
import sys


def fmt(v, spec):
    return format(v, spec) if isinstance(v, (int, float)) else "-"


def load(path):
    try:
        return json.load(open(path))
    except (json.JSONDecodeError, OSError):
        return None


def device_split(res):
    d = res.get("device_time") or {}
    if not d:
        return "-"
    return f"{fmt(d.get('to_device_ms'), '.3f')} / {fmt(d.get('compute_ms'), '.3f')} / {fmt(d.get('to_host_ms'), '.3f')}"


def cpu_gpu(out):
    rows = []
    for f in sorted(glob.glob(os.path.join(out, "cpu_gpu", "*__*_b*.json"))):
        rec = load(f)
        if not rec:
            continue
        model, rest = os.path.basename(f)[:-5].split("__")
        config, batch = rest.rsplit("_b", 1)
        res = rec["results"]
        lat, thr, en = res.get("latency", {}), res.get("throughput", {}), res.get("energy") or {}
        rows.append((model, int(batch), config, lat.get("p50_ms"), thr.get("samples_per_s"),
                     en.get("joules_per_inference"), en.get("source", "-"),
                     en.get("kind", "-"), len(res.get("fallbacks") or [])))
    if not rows:
        return
    order = ["cpu-fp32", "cpu-bf16", "cpu-int8", "cpu-p90-int8", "gpu-fp32", "gpu-fp16", "gpu-int8"]
    print()
    print("CPU versus GPU (cpu: every host core; p90-int8: 90% global magnitude pruning, then int8 QDQ; "
          "random weights, so no accuracy applies; energy kinds as the Record says, estimates labelled)")
    print()
    print("| model | batch | configuration | p50 ms | samples/s | J/sample [source, kind] | steps off the first backend |")
    print("|---|---:|---|---:|---:|---:|---:|")
    for r in sorted(rows, key=lambda r: (r[0], r[1], order.index(r[2]) if r[2] in order else 99)):
        print(f"| {r[0]} | {r[1]} | {r[2]} | {fmt(r[3], '.3f')} | {fmt(r[4], '.0f')} | "
              f"{fmt(r[5], '.4f')} [{r[6]}, {r[7]}] | {r[8]} |")


def main(out):
    torch = {}
    path = os.path.join(out, "torch.jsonl")
    if os.path.exists(path):
        for line in open(path):
            r = json.loads(line)
            torch[(r["model"], r["precision"], r["batch"], r["mode"])] = r["p50_ms"]
    rows, where = [], None
    for f in sorted(glob.glob(os.path.join(out, "*_b*.json"))):
        rec = load(f)
        if not rec:
            continue
        name = os.path.basename(f)[:-5]
        model, precision, batch = name.rsplit("_", 2)
        batch = int(batch[1:])
        res, where = rec["results"], rec["where"]
        lat, thr, en = res.get("latency", {}), res.get("throughput", {}), res.get("energy") or {}
        eager = load(os.path.join(out, "eager", os.path.basename(f))) if batch == 1 else None
        eager_p50 = ((eager or {}).get("results", {}).get("latency") or {}).get("p50_ms")
        rows.append((model, precision, batch, lat.get("p50_ms"), thr.get("samples_per_s"),
                     en.get("joules_per_inference"), en.get("active_joules_per_inference"),
                     en.get("source", "-"),
                     len(res.get("fallbacks") or []), torch.get((model, precision, batch, "eager+cudnn.benchmark")),
                     torch.get((model, precision, batch, "cuda graph")), eager_p50, device_split(res)))
    gpu = (where or {}).get("gpu") or {}
    print(f"Machine: {gpu.get('gpu', 'no GPU recorded')}; CUDA driver API {gpu.get('cuda_driver_api', '?')}, "
          f"runtime {gpu.get('cuda_runtime', '?')}, cuDNN {gpu.get('cudnn', '?')}, cuBLASLt {gpu.get('cublaslt', '?')}; "
          f"host {(where or {}).get('cpu_model', '?')}; frugal {(where or {}).get('git_revision', '?')}.")
    print()
    print("| model | precision | batch | frugal p50 ms | frugal, device graphs off, p50 ms | "
          "frugal samples/s | GPU ms per run: to device / compute / to host | "
          "J/sample (above idle) [source] | steps off the first backend | PyTorch eager p50 ms | PyTorch CUDA graph p50 ms |")
    print("|---|---|---:|---:|---:|---:|---|---:|---:|---:|---:|")
    for r in sorted(rows, key=lambda r: (r[0], ["fp32", "tf32", "fp16", "bf16", "int8"].index(r[1]), r[2])):
        print(f"| {r[0]} | {r[1]} | {r[2]} | {fmt(r[3], '.3f')} | {fmt(r[11], '.3f')} | {fmt(r[4], '.0f')} | "
              f"{r[12]} | {fmt(r[5], '.4f')} ({fmt(r[6], '.4f')}) [{r[7]}] | {r[8]} | {fmt(r[9], '.3f')} | "
              f"{fmt(r[10], '.3f')} |")
    cpu_gpu(out)


if __name__ == "__main__":
    main(sys.argv[1])
