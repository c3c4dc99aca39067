#!/usr/bin/python3
"""One recurrent layer (LSTM, GRU, RNN) in frugal's cpu backend and in ONNX Runtime 1.30
(bench/peers), over a matrix of cells, directions, sequence lengths, batches and hidden sizes,
with and without initial states and the Y_h/Y_c outputs, at 1 and 2 threads.

Per configuration and round, three processes run one after the other on the same file and
the same input (--shape, --seed 1: both peers draw it from one xorshift stream): frugal_peer
with frugal's own recurrent kernel (kernels/cpu/own_rnn.h), frugal_peer with
FRUGAL_NO_OWN_RNN=1 (oneDNN's recurrent primitive, the kernel before it), and ort_run.js.
Each reports the median of its iterations; the table gives, over the rounds, the median
and [min, max] of those medians in ms, and the ratio ORT / frugal (> 1: frugal faster)
computed within each round.

The models are written here as ONNX (a few protobuf fields encoded by hand: no onnx or
numpy module needed): weights uniform in +-1/sqrt(hidden) (PyTorch's initialization),
initial states (when used) constant initializers, input size 64.

  ninja -C build frugal_peer
  /usr/bin/python3 bench/rnn/compare.py --build build [--rounds 3] [--threads 1,2]
      [--only NAME,NAME] [--quick]
"""
import argparse
import json
import os
import random
import statistics
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
PEERS = os.path.join(HERE, "..", "peers")
INPUT = 64

# name, op, linear_before_reset, direction, seq, batch, hidden, states (initial_h/c inputs
# and Y_h/Y_c outputs)
CONFIGS = [
    ("lstm_s32_b1_h128", "LSTM", 0, "forward", 32, 1, 128, False),
    ("gru_lbr_s32_b1_h128", "GRU", 1, "forward", 32, 1, 128, False),
    ("gru_s32_b1_h128", "GRU", 0, "forward", 32, 1, 128, False),
    ("rnn_s32_b1_h128", "RNN", 0, "forward", 32, 1, 128, False),
    ("lstm_bidi_s32_b1_h128", "LSTM", 0, "bidirectional", 32, 1, 128, False),
    ("lstm_s8_b1_h64_states", "LSTM", 0, "forward", 8, 1, 64, True),
    ("lstm_s128_b1_h256", "LSTM", 0, "forward", 128, 1, 256, False),
    ("lstm_s32_b8_h128_states", "LSTM", 0, "forward", 32, 8, 128, True),
    ("gru_lbr_bidi_s32_b8_h256_states", "GRU", 1, "bidirectional", 32, 8, 256, True),
    ("lstm_s32_b1_h512", "LSTM", 0, "forward", 32, 1, 512, False),
    ("gru_s32_b8_h512", "GRU", 0, "forward", 32, 8, 512, False),
    ("rnn_bidi_s128_b8_h64_states", "RNN", 0, "bidirectional", 128, 8, 64, True),
]


# --- a few protobuf fields (onnx.proto's numbers) ---
def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field_varint(number, value):
    return varint(number << 3) + varint(value)


def field_bytes(number, data):
    if isinstance(data, str):
        data = data.encode()
    return varint(number << 3 | 2) + varint(len(data)) + data


def tensor(name, dims, values):
    body = b"".join(field_varint(1, d) for d in dims) + field_varint(2, 1)  # FLOAT
    return body + field_bytes(8, name) + field_bytes(9, struct.pack("<%df" % len(values), *values))


def attribute_int(name, value):
    return field_bytes(1, name) + field_varint(3, value) + field_varint(20, 2)  # INT


def attribute_string(name, value):
    return field_bytes(1, name) + field_bytes(4, value) + field_varint(20, 3)  # STRING


def value_info(name, dims=None):
    tensor_type = field_varint(1, 1)
    if dims is not None:
        shape = b"".join(field_bytes(1, field_varint(1, d)) for d in dims)
        tensor_type += field_bytes(2, shape)
    return field_bytes(1, name) + field_bytes(2, field_bytes(1, tensor_type))


def model_bytes(op, lbr, direction, seq, batch, hidden, states, seed=1):
    rng = random.Random(seed)
    gates = {"LSTM": 4, "GRU": 3, "RNN": 1}[op]
    dirs = 2 if direction == "bidirectional" else 1
    bound = hidden ** -0.5

    def init(name, dims):
        n = 1
        for d in dims:
            n *= d
        return tensor(name, dims, [rng.uniform(-bound, bound) for _ in range(n)])

    inits = [init("W", [dirs, gates * hidden, INPUT]), init("R", [dirs, gates * hidden, hidden]),
             init("B", [dirs, 2 * gates * hidden])]
    inputs = ["X", "W", "R", "B"]
    outputs = ["Y"]
    if states:
        inputs += ["", "H0"]
        inits.append(init("H0", [dirs, batch, hidden]))
        outputs.append("Y_h")
        if op == "LSTM":
            inputs.append("C0")
            inits.append(init("C0", [dirs, batch, hidden]))
            outputs.append("Y_c")
    node = b"".join(field_bytes(1, i) for i in inputs) + b"".join(field_bytes(2, o) for o in outputs)
    node += field_bytes(3, "cell") + field_bytes(4, op)
    node += field_bytes(5, attribute_int("hidden_size", hidden))
    node += field_bytes(5, attribute_string("direction", direction))
    if op == "GRU":
        node += field_bytes(5, attribute_int("linear_before_reset", lbr))
    graph = field_bytes(1, node) + field_bytes(2, "g")
    graph += b"".join(field_bytes(5, t) for t in inits)
    graph += field_bytes(11, value_info("X", [seq, batch, INPUT]))
    graph += b"".join(field_bytes(12, value_info(o)) for o in outputs)
    opset = field_bytes(1, "") + field_varint(2, 14)
    return field_varint(1, 8) + field_bytes(8, opset) + field_bytes(7, graph)


def macs(op, direction, seq, batch, hidden):
    gates = {"LSTM": 4, "GRU": 3, "RNN": 1}[op]
    dirs = 2 if direction == "bidirectional" else 1
    return dirs * seq * batch * gates * hidden * (INPUT + hidden)


def median_ms(cmd, env=None):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    return statistics.median(json.loads(out)["ms"])


def frugal_impl(build, path, shape, threads):
    out = subprocess.run([os.path.join(build, "bench", "frugal_peer"), "--model", path, "--shape", shape,
                          "--threads", str(threads), "--iters", "1", "--warmup", "0",
                          "--no-output", "--profile"], check=True, capture_output=True,
                         text=True).stdout
    return json.loads(out)["profile"][0]["impl"]


def spread(values, digits=3):
    return "%.*f [%.*f, %.*f]" % (digits, statistics.median(values), digits, min(values), digits,
                                  max(values))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--only", default="", help="comma-separated config names")
    ap.add_argument("--quick", action="store_true", help="about 0.05 s per measurement")
    a = ap.parse_args()
    peer = os.path.join(a.build, "bench", "frugal_peer")
    if not os.path.exists(peer):
        sys.exit("compare.py: %s not found (ninja -C %s frugal_peer)" % (peer, a.build))
    configs = [c for c in CONFIGS if not a.only or c[0] in a.only.split(",")]
    threads = [int(t) for t in a.threads.split(",")]
    target_s = 0.05 if a.quick else 0.2
    old_env = dict(os.environ, FRUGAL_NO_OWN_RNN="1")
    with tempfile.TemporaryDirectory() as tmp:
        rows = []
        for name, op, lbr, direction, seq, batch, hidden, states in configs:
            path = os.path.join(tmp, name + ".onnx")
            with open(path, "wb") as f:
                f.write(model_bytes(op, lbr, direction, seq, batch, hidden, states))
            shape = "%dx%dx%d" % (seq, batch, INPUT)
            est_s = macs(op, direction, seq, batch, hidden) / 20e9
            iters = int(max(20, min(3000, target_s / est_s)))
            for t in threads:
                common = ["--model", path, "--shape", shape, "--seed", "1", "--threads", str(t),
                          "--iters", str(iters), "--warmup", str(max(3, iters // 10)),
                          "--no-output"]
                own, old, ort = [], [], []
                for _ in range(a.rounds):
                    own.append(median_ms([peer] + common))
                    old.append(median_ms([peer] + common, env=old_env))
                    ort.append(median_ms(["node", os.path.join(PEERS, "ort_run.js")] + common))
                impl = frugal_impl(a.build, path, shape, t)
                rows.append((name, t, own, old, ort, impl))
                print("%s t%d done" % (name, t), file=sys.stderr)
        print("| layer | thr | frugal own ms | frugal oneDNN ms | ORT ms | ORT/own | ORT/oneDNN "
              "| own kernel |")
        print("|---|---|---|---|---|---|---|---|")
        for name, t, own, old, ort, impl in rows:
            r_own = [o / f for o, f in zip(ort, own)]
            r_old = [o / f for o, f in zip(ort, old)]
            print("| %s | %d | %s | %s | %s | %s | %s | %s |" % (
                name, t, spread(own), spread(old), spread(ort), spread(r_own, 2),
                spread(r_old, 2), impl))


if __name__ == "__main__":
    main()
