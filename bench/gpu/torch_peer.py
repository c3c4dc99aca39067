#!/usr/bin/env python3
"""PyTorch on the same GPU, for bench/gpu/run.sh: torchvision's model (random weights,
eval mode) at a batch and precision, eager with cudnn.benchmark and replayed as a CUDA
graph; prints one JSON line per mode with the median latency over `--iters` timed runs
(CUDA events around each run, after warm-up).

  torch_peer.py --model resnet18 --batch 8 --precision fp16 [--iters 50]

Exits 2 (and says why on stderr) where torch with CUDA or torchvision is missing.
"""
import argparse
import json
import statistics
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--batch", type=int, required=True)
    ap.add_argument("--precision", choices=["fp32", "tf32", "fp16", "bf16"], required=True)
    ap.add_argument("--iters", type=int, default=50)
    a = ap.parse_args()
    try:
        import torch
        import torchvision
    except ImportError as e:
        print(f"torch_peer: {e}", file=sys.stderr)
        return 2
    if not torch.cuda.is_available():
        print("torch_peer: torch has no CUDA device", file=sys.stderr)
        return 2
    torch.backends.cudnn.benchmark = True
    # fp32 means fp32: no TF32 in convolutions or matmuls (PyTorch allows it in cuDNN by default).
    tf32 = a.precision == "tf32"
    torch.backends.cudnn.allow_tf32 = tf32
    torch.backends.cuda.matmul.allow_tf32 = tf32
    dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(a.precision, torch.float32)
    size = 299 if a.model == "inception_v3" else 224
    model = getattr(torchvision.models, a.model)(weights=None).eval().cuda().to(dtype)
    x = torch.randn(a.batch, 3, size, size, device="cuda", dtype=dtype)

    def timed(fn):
        times = []
        for i in range(10 + a.iters):
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            torch.cuda.synchronize()
            if i >= 10:
                times.append(start.elapsed_time(end))
        return statistics.median(times)

    with torch.inference_mode():
        eager_ms = timed(lambda: model(x))
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            for _ in range(3):
                model(x)
        torch.cuda.current_stream().wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            model(x)
        graph_ms = timed(graph.replay)
    for mode, ms in (("eager+cudnn.benchmark", eager_ms), ("cuda graph", graph_ms)):
        print(json.dumps({"model": a.model, "batch": a.batch, "precision": a.precision,
                          "mode": mode, "p50_ms": ms, "torch": torch.__version__}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
