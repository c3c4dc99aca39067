"""The Python module against the library and the CLI (docs/python.md)."""
import json
import threading
import time

import numpy as np
import pytest

import frugal


def lenet_input(seed=0):
    return np.random.default_rng(seed).standard_normal((1, 1, 28, 28)).astype(np.float32)


# --- Model and zoo -------------------------------------------------------------------------

def test_model_save_load_info(lenet, tmp_path):
    m = frugal.Model.load(lenet)
    assert m.inputs == [{"name": "input", "dtype": "float32"}]
    info = m.info()
    assert [r["op"] for r in info][:2] == ["Conv", "Relu"] or info[0]["op"] == "Conv"
    assert sum(r["params"] for r in info) > 60000  # LeNet-5: 61,706 parameters
    assert info[0]["output_shapes"] == [(1, 6, 28, 28)]
    again = tmp_path / "again.onnx"
    m.save(str(again))
    assert frugal.Model.load(str(again)).info() == info
    assert "lenet5" in frugal.zoo_names()


def test_thread_environment_matches_the_library():
    expected = [(n, v, list(c)) for n, v, c in frugal._THREAD_ENVIRONMENT]
    assert [tuple(e) for e in frugal._frugal.thread_environment()] == [tuple(e) for e in expected]


def test_info_matches_cli(cli, lenet):
    layers = json.loads(cli("info", lenet, "--json").stdout)["layers"]
    mine = frugal.Model.load(lenet).info()
    assert [(l["name"], l["op"], l["params"], l["macs"]) for l in layers] == \
        [(r["name"], r["op"], r["params"], r["macs"]) for r in mine]


def test_errors_carry_the_cli_message(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file") as e:
        frugal.Model.load(str(tmp_path / "missing.onnx"))
    assert isinstance(e.value, frugal.Error) and isinstance(e.value, ValueError)
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(frugal.Error, match="bad.onnx: not a valid ONNX model"):
        frugal.Model.load(str(bad))
    with pytest.raises(ValueError, match="--precision: 'fp8' is not one of"):
        frugal.Session(frugal.zoo("lenet5"), precision="fp8")
    with pytest.raises(ValueError):
        frugal.zoo("no-such-net")


# --- Session ------------------------------------------------------------------------------

def test_run_equals_cli_run(cli, lenet, tmp_path):
    x = lenet_input(1)
    np.save(tmp_path / "x.npy", x)
    cli("run", lenet, "--backend", "cpu,ref", "--input", tmp_path / "x.npy", "--output",
        tmp_path / "y.npy")
    expected = np.load(tmp_path / "y.npy")
    s = frugal.Session(frugal.Model.load(lenet), backend="cpu,ref")
    (y,) = s.run(x)
    assert y.dtype == np.float32 and y.shape == (1, 10)
    assert np.array_equal(y, expected)
    named = s.run({"input": x})
    assert list(named) == ["logits"] and np.array_equal(named["logits"], expected)


def test_run_reads_any_layout_and_owns_outputs(lenet):
    s = frugal.Session(frugal.Model.load(lenet))
    x = lenet_input(2)
    (ref,) = s.run(x)
    strided = np.asfortranarray(x)  # not C-contiguous: copied, same result
    assert np.array_equal(s.run(strided)[0], ref)
    (again,) = s.run(x.copy())
    again[:] = 0  # outputs are the caller's: writing one changes no later result
    assert np.array_equal(s.run(x)[0], ref)


def test_dtype_and_shape_errors(lenet):
    s = frugal.Session(frugal.Model.load(lenet))
    x = lenet_input()
    with pytest.raises(TypeError, match=r"input 'input': expected float32 \(1, 1, 28, 28\), got float64"):
        s.run(x.astype(np.float64))
    with pytest.raises(TypeError, match=r"expected float32 \(1, 1, 28, 28\), got float32 \(1, 28, 28\)"):
        s.run(x[0])
    with pytest.raises(TypeError, match="not one frugal computes with"):
        s.run(x.astype(np.complex64))
    with pytest.raises(ValueError, match="no input named 'image'"):
        s.run({"image": x})
    with pytest.raises(ValueError, match="input 'input' not given"):
        s.run({})
    with pytest.raises(ValueError, match="expected 1 inputs, got 2"):
        s.run([x, x])


def test_plan_and_ports(lenet):
    s = frugal.Session(frugal.Model.load(lenet), backend="cpu,ref", threads=1)
    plan = s.plan()
    assert plan and all({"node", "op", "backend", "impl", "declined"} <= set(p) for p in plan)
    assert any(p["backend"] == "cpu" for p in plan)
    assert s.inputs == [{"name": "input", "dtype": "float32", "shape": (1, 1, 28, 28)}]
    assert frugal.Session(frugal.Model.load(lenet), batch=4).inputs[0]["shape"] == (4, 1, 28, 28)
    assert frugal.Session(frugal.Model.load(lenet), precision="bf16").backends[0] == "cpu:bf16"


def test_run_releases_the_gil():
    # Thread A runs long inferences; while A is inside run(), thread B runs a short one on
    # another session and notes when it returned. B returning in the first three quarters
    # of one of A's runs is impossible if run() held the GIL (B could then only run Python
    # at the edges of A's runs), so the overlap is measured, not assumed.
    big = frugal.Session(frugal.zoo("resnet18"), backend="cpu,ref")
    small = frugal.Session(frugal.zoo("lenet5"))
    xb = np.zeros(big.inputs[0]["shape"], np.float32)
    xs = lenet_input()
    small.run(xs)
    t0 = time.perf_counter()
    big.run(xb)
    big_s = time.perf_counter() - t0
    inside = threading.Event()
    intervals, b_done = [], []

    def a():
        for _ in range(3):
            start = time.perf_counter()
            inside.set()
            big.run(xb)
            intervals.append((start, time.perf_counter()))

    def b():
        inside.wait()
        time.sleep(big_s / 10)
        small.run(xs)
        b_done.append(time.perf_counter())

    ta, tb = threading.Thread(target=a), threading.Thread(target=b)
    ta.start(), tb.start()
    ta.join(), tb.join()
    t = b_done[0]
    assert any(s < t < e - 0.25 * (e - s) for s, e in intervals), \
        f"B returned at {t:.4f}, A's runs {intervals} (resnet18 {big_s * 1e3:.1f} ms)"


def test_two_threads_get_the_same_results(lenet):
    x = [lenet_input(i) for i in range(2)]
    serial = [frugal.Session(frugal.Model.load(lenet)).run(xi)[0] for xi in x]
    out = [None, None]

    def work(i):
        s = frugal.Session(frugal.Model.load(lenet))
        for _ in range(20):
            out[i] = s.run(x[i])[0]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert all(np.array_equal(out[i], serial[i]) for i in range(2))


# --- Records and compress -----------------------------------------------------------------

def test_bench_record_has_the_cli_schema(cli, lenet):
    record = frugal.bench(frugal.Model.load(lenet), backend="cpu,ref", duration=0.1, min_queries=8,
                          warmup=0)
    theirs = json.loads(cli("bench", lenet, "--backend", "cpu,ref", "--duration", "0.1",
                            "--min-queries", "8", "--warmup", "0", "--json").stdout)
    assert record["schema"] == theirs["schema"] == "frugal.record/1"
    assert set(record) == set(theirs)
    for part in ("what", "results"):
        assert set(record[part]) == set(theirs[part])
    assert record["what"]["model_digest"] == theirs["what"]["model_digest"]
    assert record["results"]["latency"]["count"] >= 8
    assert record["results"]["latency"]["p50_ms"] > 0


def test_default_backend_is_the_clis(cli, lenet):
    record = frugal.bench(frugal.Model.load(lenet), duration=0.1, min_queries=8, warmup=0)
    theirs = json.loads(cli("bench", lenet, "--duration", "0.1", "--min-queries", "8",
                            "--warmup", "0", "--json").stdout)
    assert record["what"]["backend"] == theirs["what"]["backend"]
    assert "auto" not in record["what"]["backend"]


def test_eval_record(lenet):
    model = frugal.zoo("resnet8_fmnist")
    record = frugal.eval(model, "fashion-mnist", limit=64)
    acc = record["results"]["accuracy"]
    assert record["what"]["scenario"] == "eval" and acc["samples"] == 64
    assert 0 <= acc["top1"] <= 1


def test_compress_prunes_and_quantizes(lenet):
    m = frugal.Model.load(lenet)
    pruned, report = frugal.compress(m, prune="0.5")
    assert pruned.origin.endswith("prune:0.5") and "prune" in report
    zeros = sum(r["params"] for r in pruned.info())  # same shapes, zeros inside
    assert zeros == sum(r["params"] for r in m.info())
    q, qreport = frugal.compress(m, quant="int8", calibration="random:4")
    assert any(r["op"] == "QuantizeLinear" for r in q.info()) and "quant" in qreport
    s = frugal.Session(q, precision="int8")  # QDQ: no calibration needed
    (y,) = s.run(lenet_input())
    (y0,) = frugal.Session(m).run(lenet_input())
    assert np.argmax(y) == np.argmax(y0) or np.abs(y - y0).max() < 0.5 * np.abs(y0).max()
    with pytest.raises(ValueError, match="prune"):
        frugal.compress(m, prune="1.5")


# --- formats ------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["e4m3", "e5m2", "bf16", "fp16", "e3m2", "fixed4.4", "int8"])
def test_format_info_is_the_cli_table(cli, name):
    table = json.loads(cli("formats", name, "--json").stdout)["formats"][0]
    mine = frugal.formats.info(name)
    for key in ("name", "layout", "bits", "max", "min", "min_normal", "epsilon", "finite_values",
                "has_inf", "has_nan", "mac_energy_pj", "mac_relative_area"):
        assert mine[key] == table[key], key


@pytest.mark.parametrize("name", ["e4m3", "e5m2", "bf16", "e2m1"])
def test_round_is_bit_exact_with_the_cli(cli, name):
    rng = np.random.default_rng(7)
    x = (rng.standard_normal(12) * 4).astype(np.float32)
    texts = [repr(float(v)) for v in x]
    args = ["formats", name, "--seed", "5", "--json"]
    for t in texts:
        args += ["--round", t]
    table = json.loads(cli(*args).stdout)["rounding"][0]["values"]
    for mode, mine_mode in (("rne", "nearest"), ("rz", "rz"), ("up", "up"), ("down", "down")):
        mine = frugal.formats.round(x, name, rounding=mine_mode)
        theirs = [next(m["value"] for m in v["modes"] if m["mode"] == mode) for v in table]
        assert mine.tolist() == theirs, mode
    # Stochastic: element i draws counter i, the CLI's single value counter 0.
    for i, v in enumerate(x):
        mine = frugal.formats.round(np.float32([v]), name, rounding="stochastic", seed=5)
        theirs = next(m["value"] for m in table[i]["modes"] if m["mode"] == "sr")
        assert mine[0] == theirs


def test_round_values_and_errors():
    values = frugal.formats.values("e4m3")
    assert len(values) == frugal.formats.info("e4m3")["finite_values"]
    v32 = values.astype(np.float32)
    assert np.array_equal(frugal.formats.round(v32, "e4m3"), v32)
    sr = frugal.formats.round(np.full(10000, 0.3, np.float32), "e4m3", rounding="stochastic", seed=1)
    assert set(sr.tolist()) == {0.28125, 0.3125} and abs(sr.mean() - 0.3) < 0.002
    again = frugal.formats.round(np.full(10000, 0.3, np.float32), "e4m3", rounding="stochastic", seed=1)
    assert np.array_equal(sr, again)
    with pytest.raises(TypeError, match="expected a float32 array"):
        frugal.formats.round(np.zeros(3), "e4m3")
    with pytest.raises(ValueError):
        frugal.formats.round(np.zeros(3, np.float32), "e9m99x")
    assert "e4m3" in frugal.formats.presets()


# --- sweep and report ---------------------------------------------------------------------

def test_sweep_and_report(cli, tmp_path, monkeypatch):
    import os
    monkeypatch.setenv("FRUGAL_CLI", os.environ["FRUGAL_CLI"])
    spec = {"name": "py", "models": ["lenet5"], "backends": ["ref", "cpu,ref"],
            "duration": 0.1, "min_queries": 4, "power": "none"}
    db = str(tmp_path / "py.sqlite")
    s = frugal.sweep(spec, db, cache=str(tmp_path / "cache"), quiet=True)
    assert (s["planned"], s["ok"], s["failed"]) == (2, 2, 0)
    again = frugal.sweep(spec, db, resume=True, cache=str(tmp_path / "cache"), quiet=True)
    assert again["skipped"] == 2
    out = tmp_path / "report.html"
    r = frugal.report(db, str(out), pareto="latency,memory")
    assert r["points"] == 2 and r["ok"] == 2 and out.stat().st_size > 1000
    assert "lenet5" in r["pareto"] and len(r["records"]["points"]) == 2
    with pytest.raises(ValueError):
        frugal.report(str(tmp_path / "none.sqlite"))
