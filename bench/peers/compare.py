#!/usr/bin/python3
"""frugal's cpu backend next to ONNX Runtime (onnxruntime-node) on the same ONNX files.

For each zoo model x batch x threads x precision, runs ORT (ort_run.js) and frugal
(frugal_peer) in alternating rounds on the same file and the same input (.npy), each round a
fresh process under /usr/bin/time -v, and prints a Markdown table: median and p90 latency of
each, the ratio ORT/frugal (> 1: frugal faster), the max abs output difference relative to
max |ORT output|, the peak RSS of each process, and the median init time of each (model
file read to session ready: ORT's InferenceSession.create, frugal's load and Session).

  bench/peers/install.sh        # once: onnxruntime-node into bench/peers/node_modules
  ninja -C build frugal frugal_peer
  /usr/bin/python3 bench/peers/compare.py --build build [--models resnet18,mobilenet_v2]
      [--batches 1,8] [--threads 1,2] [--precisions fp32,bf16] [--rounds 3] [--iters 5]
      [--omp-wait-policy passive|active]

frugal_peer applies the thread runtime's defaults the frugal CLI runs with
(kernels/thread_environment.h: OpenMP workers spin about 0.1 ms before they sleep), so the
table measures what the CLI does; --omp-wait-policy overrides it for frugal's process. ORT's
process is left as it is (its thread pool is not OpenMP).

Precision int8 compares int8 with int8 on one file: the model is quantized once by
`frugal quantize --quant int8 --calibration random:8` into a QDQ ONNX file (weights s8 per
channel, activations u8 per tensor), which ONNX Runtime runs with its QDQ fusions
(QLinearConv, QGemm) and frugal_peer runs on cpu:int8 (its QDQ import turns each pair into
the int8 boundary with the file's own scales). `--int8-vs-fp32` adds, for the int8 rows,
frugal's fp32 time on the float file in the same rounds (the int8/fp32 speed-up).

Files from other tool chains (paddle2onnx, tf2onnx, older torch exports): a FILE.onnx whose
first input already has a symbolic batch dimension is run as it is, by both runtimes (the
exporter's own bytes, not frugal's re-export); other files are rebatched. Inputs with
other symbolic dimensions (an image's height and width, a sequence length) take their shape
from `--shape NAME=DIMS` (repeatable; DIMS as 1x3x48x320, the first dimension replaced by
each batch of --batches), e.g. PaddleOCR's recognizer:
  compare.py --models rec.onnx --shape x=1x3x48x320 --batches 1,8

`--baseline DIR` also times DIR/bench/frugal_peer (a build of the code before a change) in
the same rounds, after frugal's run, and prints a line under each row with its median and
ORT/baseline: before and after measured side by side under the same load.
"""
import argparse
import json
import os
import re
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ZOO = ["lenet5", "resnet18", "resnet50", "mobilenet_v2", "mobilenet_v3_small",
       "squeezenet1_1", "shufflenet_v2_x1_0", "efficientnet_b0", "densenet121", "convnext_tiny",
       "swin_t"]


def write_npy(path, shape, seed, dtype="float32", name=""):
    """A .npy from a fixed xorshift stream: float32 uniform [-1, 1); int64 (token ids, masks)
    0 or 1 (index 1 exists in every embedding table), all 1 for an input named *mask*."""
    count = 1
    for d in shape:
        count *= d
    s = seed or 1
    values = []
    for _ in range(count):
        s ^= (s << 13) & 0xFFFFFFFF
        s ^= s >> 17
        s ^= (s << 5) & 0xFFFFFFFF
        values.append(s)
    if dtype == "int64":
        descr, fmt = "<i8", "<%dq" % count
        values = [1 if "mask" in name else v & 1 for v in values]
    elif dtype == "float32":
        descr, fmt = "<f4", "<%df" % count
        values = [v / 4294967296.0 * 2 - 1 for v in values]
    else:
        raise RuntimeError("input %s: dtype %s is not supported" % (name, dtype))
    header = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (
        descr, "".join("%d, " % d for d in shape))
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode("latin1"))
        f.write(struct.pack(fmt, *values))


def symbolic_batch(peer, model):
    """True when the file's first input has a symbolic (or unknown) first dimension."""
    p = subprocess.run([peer, "--model", model, "--describe"], capture_output=True, text=True)
    if p.returncode != 0:
        return False
    ins = json.loads(p.stdout.strip().splitlines()[-1])["inputs"]
    return bool(ins) and bool(ins[0]["shape"]) and ins[0]["shape"][0] < 0


def timed(cmd, env=None):
    """Runs cmd under /usr/bin/time -v: (parsed JSON stdout, peak RSS in MiB)."""
    p = subprocess.run(["/usr/bin/time", "-v"] + cmd, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        why = [l for l in p.stderr.splitlines() if l and not l.startswith("\t") and "Command" not in l]
        raise RuntimeError("%s failed: %s" % (os.path.basename(cmd[1] if cmd[0] == "node" else cmd[0]),
                                              " ".join(why)[-200:]))
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr)
    return json.loads(p.stdout.strip().splitlines()[-1]), int(m.group(1)) / 1024.0 if m else float("nan")


def percentile(values, q):
    v = sorted(values)
    if not v:
        return float("nan")
    k = (len(v) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build", help="build directory with frugal and bench/frugal_peer")
    ap.add_argument("--models", default=",".join(ZOO),
                    help="zoo names or ONNX files (FILE.onnx, named by its base name)")
    ap.add_argument("--batches", default="1,8")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--precisions", default="fp32")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--workdir", default=None, help="where models and inputs go (default: a temp dir)")
    ap.add_argument("--json", default=None, help="also write every row as JSON here")
    ap.add_argument("--int8-vs-fp32", action="store_true",
                    help="int8 rows: also time frugal fp32 and ORT fp32 on the float file in the same rounds")
    ap.add_argument("--frugal-env", action="append", default=[], metavar="KEY=VALUE",
                    help="environment for frugal's process only (e.g. ONEDNN_VERBOSE=1)")
    ap.add_argument("--baseline", default=None, metavar="DIR",
                    help="a second build (the code before a change) timed in the same rounds")
    ap.add_argument("--shape", action="append", default=[], metavar="NAME=DIMS",
                    help="an input's shape where the file leaves dimensions symbolic "
                         "(1x3x48x320; the first dimension becomes each batch)")
    ap.add_argument("--omp-wait-policy", default=None, metavar="passive|active",
                    help="OMP_WAIT_POLICY of frugal's process; default: the environment as it "
                         "is, with the frugal CLI's defaults (kernels/thread_environment.h)")
    a = ap.parse_args()

    build = os.path.abspath(a.build)
    frugal = os.path.join(build, "frugal")
    peer = os.path.join(build, "bench", "frugal_peer")
    base_peer = os.path.join(os.path.abspath(a.baseline), "bench", "frugal_peer") if a.baseline else None
    for f in (frugal, peer) + ((base_peer,) if base_peer else ()):
        if not os.path.exists(f):
            sys.exit("compare.py: %s not found: build it (ninja -C %s frugal frugal_peer)" % (f, a.build))
    if not os.path.isdir(os.path.join(HERE, "node_modules", "onnxruntime-node")):
        sys.exit("compare.py: onnxruntime-node not installed: run bench/peers/install.sh")
    work = a.workdir or tempfile.mkdtemp(prefix="frugal-peers-")
    os.makedirs(work, exist_ok=True)

    shapes = {}
    for kv in a.shape:
        name, _, dims = kv.partition("=")
        try:
            shapes[name] = [int(d) for d in dims.split("x")]
        except ValueError:
            sys.exit("compare.py: --shape %s: DIMS must be integers joined by x (1x3x48x320)" % kv)
        if not name or min(shapes[name]) < 1:
            sys.exit("compare.py: --shape %s: give NAME=DIMS with every dimension >= 1" % kv)

    frugal_env = dict(os.environ)
    if a.omp_wait_policy is not None:
        frugal_env["OMP_WAIT_POLICY"] = a.omp_wait_policy
    for kv in a.frugal_env:
        k, _, v = kv.partition("=")
        frugal_env[k] = v
    rows = []
    print("| model | prec | batch | thr | ORT median ms | ORT p90 | frugal median ms | frugal p90 "
          "| ORT/frugal | max abs diff / max abs | ORT RSS MiB | frugal RSS MiB | ORT init ms | frugal init ms |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    sys.stdout.flush()
    for model in a.models.split(","):
        # A zoo name, or an ONNX file (e.g. from bench/make_vit) named by its base name.
        source = os.path.abspath(model) if model.endswith(".onnx") else None
        if source:
            model = os.path.basename(model)[:-len(".onnx")]
        fixed = source or os.path.join(work, model + "_b1.onnx")
        onnx = os.path.join(work, model + "_bN.onnx")
        if source and symbolic_batch(peer, source):
            onnx = source  # already rebatchable: both runtimes read the exporter's own file
        elif not os.path.exists(onnx):
            if not source:
                subprocess.run([frugal, "zoo", model, "-o", fixed], check=True, capture_output=True)
            subprocess.run([peer, "--model", fixed, "--rebatch", onnx], check=True, capture_output=True)
        desc, _ = timed([peer, "--model", onnx, "--describe"])
        for batch in [int(b) for b in a.batches.split(",")]:
            inputs = []  # one .npy per graph input, in order
            for i, port in enumerate(desc["inputs"]):
                dims = shapes.get(port["name"], port["shape"])
                if len(dims) != len(port["shape"]):
                    sys.exit("compare.py: --shape %s: %d dimensions, the input has %d" % (
                        port["name"], len(dims), len(port["shape"])))
                shape = [batch] + [d for d in dims[1:]]
                if min(shape[1:] or [1]) < 1:
                    sys.exit("compare.py: %s: input %s has symbolic dimensions %s: give --shape %s=DIMS"
                             % (model, port["name"], port["shape"], port["name"]))
                npy = os.path.join(work, "%s_b%d%s.npy" % (model, batch, "" if i == 0 else "_%d" % i))
                if not os.path.exists(npy):
                    write_npy(npy, shape, 1234 + i, port["dtype"], port["name"])
                inputs += ["--input", npy]
            for threads in [int(t) for t in a.threads.split(",")]:
                for prec in a.precisions.split(","):
                    common = inputs + ["--threads", str(threads), "--iters", str(a.iters),
                              "--warmup", str(a.warmup)]
                    ort_ms, fr_ms, ort_rss, fr_rss = [], [], [], []
                    ort_init, fr_init = [], []  # session creation, file read included
                    f32_ms, ort32_ms = [], []
                    base_ms = []
                    diff = None
                    model_file = onnx
                    try:
                        if prec == "int8":
                            model_file = os.path.join(work, model + "_bN.qdq.onnx")
                            if not os.path.exists(model_file):
                                q = subprocess.run([frugal, "quantize", onnx, "-o", model_file, "--quant",
                                                    "int8", "--calibration", "random:8"],
                                                   capture_output=True, text=True)
                                if q.returncode != 0:
                                    raise RuntimeError("frugal quantize failed: " + q.stderr.strip()[-200:])
                        for _ in range(a.rounds):
                            o, rss = timed(["node", os.path.join(HERE, "ort_run.js"), "--model", model_file] + common)
                            ort_ms += o["ms"]
                            ort_init.append(o.get("init_ms", float("nan")))
                            ort_rss.append(rss)
                            f, rss = timed([peer, "--model", model_file, "--precision", prec] + common, frugal_env)
                            fr_ms += f["ms"]
                            fr_init.append(f.get("init_ms", float("nan")))
                            fr_rss.append(rss)
                            if base_peer:
                                fb, _ = timed([base_peer, "--model", model_file, "--precision", prec] + common,
                                              frugal_env)
                                base_ms += fb["ms"]
                            if prec == "int8" and a.int8_vs_fp32:
                                f32, _ = timed([peer, "--model", onnx, "--precision", "fp32"] + common, frugal_env)
                                f32_ms += f32["ms"]
                                o32, _ = timed(["node", os.path.join(HERE, "ort_run.js"), "--model", onnx] + common)
                                ort32_ms += o32["ms"]
                            yo, yf = o["output"]["data"], f["output"]["data"]
                            scale = max(abs(v) for v in yo) or 1.0
                            d = max(abs(p - q) for p, q in zip(yo, yf)) / scale
                            if len(yo) != len(yf):
                                d = float("inf")
                            diff = d if diff is None else max(diff, d)
                    except RuntimeError as e:
                        print("| %s | %s | %d | %d | skipped: %s |" % (model, prec, batch, threads, e))
                        continue
                    row = {"model": model, "precision": prec, "batch": batch, "threads": threads,
                           "ort_median_ms": percentile(ort_ms, 0.5), "ort_p90_ms": percentile(ort_ms, 0.9),
                           "frugal_median_ms": percentile(fr_ms, 0.5), "frugal_p90_ms": percentile(fr_ms, 0.9),
                           "max_abs_diff_rel": diff, "ort_rss_mib": max(ort_rss), "frugal_rss_mib": max(fr_rss),
                           "ort_init_ms": percentile(ort_init, 0.5), "frugal_init_ms": percentile(fr_init, 0.5)}
                    row["ratio"] = row["ort_median_ms"] / row["frugal_median_ms"]
                    if f32_ms:
                        row["frugal_fp32_median_ms"] = percentile(f32_ms, 0.5)
                        row["ort_fp32_median_ms"] = percentile(ort32_ms, 0.5)
                        row["frugal_int8_vs_fp32"] = row["frugal_fp32_median_ms"] / row["frugal_median_ms"]
                    if base_ms:
                        row["baseline_median_ms"] = percentile(base_ms, 0.5)
                        row["baseline_p90_ms"] = percentile(base_ms, 0.9)
                        row["baseline_ratio"] = row["ort_median_ms"] / row["baseline_median_ms"]
                    rows.append(row)
                    print("| %s | %s | %d | %d | %.2f | %.2f | %.2f | %.2f | %.2f | %.1e | %.0f | %.0f | %.0f | %.0f |" % (
                        model, prec, batch, threads, row["ort_median_ms"], row["ort_p90_ms"],
                        row["frugal_median_ms"], row["frugal_p90_ms"], row["ratio"], diff,
                        row["ort_rss_mib"], row["frugal_rss_mib"], row["ort_init_ms"], row["frugal_init_ms"]))
                    if base_ms:
                        print("|  | (baseline in the same rounds) | %d | %d |  |  | %.2f | %.2f | %.2f |  |  |  |  |  |" % (
                            batch, threads, row["baseline_median_ms"], row["baseline_p90_ms"],
                            row["baseline_ratio"]))
                    if f32_ms:
                        print("|  | (fp32 in the same rounds) | %d | %d | %.2f |  | %.2f |  | frugal int8 %.2fx its fp32 |  |  |  |  |  |" % (
                            batch, threads, row["ort_fp32_median_ms"], row["frugal_fp32_median_ms"],
                            row["frugal_int8_vs_fp32"]))
                    sys.stdout.flush()
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
