"""frugal from Python: a numpy-native module over the frugal C++ library.

    import numpy as np, frugal
    model = frugal.zoo("lenet5")                      # or frugal.Model.load("m.onnx")
    session = frugal.Session(model)                   # backend "auto", as the CLI
    logits, = session.run(np.zeros((1, 1, 28, 28), np.float32))
    record = frugal.bench(model, backend="cpu,ref", duration=1)   # as `frugal bench --json`
    small, report = frugal.compress(model, prune="0.5", quant="int8")
    frugal.formats.round(np.float32([0.3]), "e4m3", rounding="stochastic", seed=1)

Errors from the library are frugal.Error (a ValueError) or frugal.FileNotFound (also a
FileNotFoundError), carrying the CLI's one-line message. docs/python.md.
"""
from __future__ import annotations

import json as _json
import os as _os
import shutil as _shutil
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

# Thread runtimes read their environment once, when they load, which happens with _frugal:
# the defaults the frugal CLI applies (kernels/thread_environment.h: OpenMP workers spin
# about 0.1 ms before they sleep) are set here first, unless the user chose. The CLI chooses no
# spin instead on a machine busier than its CPUs (kernels/cpu/openmp_spin.h); this package
# sets the quiet-machine value, as the choice is made in the library it has not loaded yet.
# tests/python/test_frugal.py checks them against _frugal.thread_environment().
_THREAD_ENVIRONMENT = [("GOMP_SPINCOUNT", "10000", ("OMP_WAIT_POLICY",))]
for _name, _value, _choices in _THREAD_ENVIRONMENT:
    if not any(k in _os.environ for k in (_name,) + _choices):
        _os.environ[_name] = _value

try:
    from . import _frugal  # the shared-object module (FRUGAL_PYTHON_MODULE, pip install)
except ImportError:
    import _frugal  # built into build/frugal-python

from . import formats  # noqa: E402,F401

Model = _frugal.Model
Error = _frugal.Error
FileNotFound = _frugal.FileNotFound

__all__ = ["Model", "Session", "zoo", "zoo_names", "bench", "eval", "compress", "train",
           "from_torch", "sweep", "report", "formats", "Error", "FileNotFound"]

# As the CLI: the fastest backends present, resolved by the library (kernels::auto_backends:
# cpu,ref here, a GPU backend first where one is present).
DEFAULT_BACKEND = "auto"


def _engine(backend: Union[str, Sequence[str]] = DEFAULT_BACKEND, precision: str = "fp32",
            threads: int = 1, calibration: Optional[str] = None, format: Optional[str] = None,
            batch: int = 1, shapes: Optional[Mapping[str, Sequence[int]]] = None,
            sparse: str = "auto", optimize: bool = True) -> Any:
    """The engine options of `frugal run/bench/eval`: --backend, --precision, ..."""
    e = _frugal.EngineOptions()
    e.backends = backend.split(",") if isinstance(backend, str) else list(backend)
    e.precision = precision
    e.threads = threads
    e.calibration = calibration or ""
    e.format = format or ""
    e.batch = batch
    e.shapes = [f"{k}={'x'.join(str(d) for d in v)}" for k, v in (shapes or {}).items()]
    e.sparse = sparse
    e.no_optimize = not optimize
    return e


def zoo(name: str, seed: int = 0) -> Model:
    """A built-in model, weights seeded (as `frugal zoo NAME --seed SEED`)."""
    return _frugal.zoo(name, seed)


def zoo_names() -> List[str]:
    """The names zoo() accepts."""
    return list(_frugal.zoo_names())


class Session:
    """A model compiled for the engine (runtime::Session).

    backend: preference list, "auto" (default: as the CLI), "cpu,ref" or ["emu", "ref"]; precision: fp32, bf16
    or int8 (cpu; int8 needs calibration="random:N", "ranges.json" or "a.npy,..." unless the
    model is QDQ); format: emu formats ("w=e4m3,a=e4m3"); threads, batch, shapes
    ({input: dims}), sparse (auto|off|force), optimize (graph passes). The computation
    runs without the GIL; one Session runs one call at a time (use one per thread).
    """

    def __init__(self, model: Model, backend: Union[str, Sequence[str]] = DEFAULT_BACKEND,
                 precision: str = "fp32", threads: int = 1, calibration: Optional[str] = None,
                 format: Optional[str] = None, **engine: Any) -> None:
        self.model = model
        self._s = _frugal.Session(model, _engine(backend, precision, threads, calibration,
                                                 format, **engine))

    def run(self, inputs: Any) -> Any:
        """Run once. A dict {input: array} returns {output: array}; an array (one input) or
        a sequence of arrays (in input order) returns the list of outputs. Arrays must have
        the input's dtype and shape exactly (TypeError otherwise); C-contiguous, 64-byte
        aligned arrays are read in place, and outputs are numpy views of frugal's tensors."""
        return self._s.run(inputs)

    def plan(self) -> List[Dict[str, Any]]:
        """Per compiled node: node, op, backend (None when folded), impl, declined."""
        return self._s.plan()

    @property
    def inputs(self) -> List[Dict[str, Any]]:
        """[{name, dtype, shape}] with the batch fixed."""
        return self._s.inputs

    @property
    def outputs(self) -> List[Dict[str, Any]]:
        return self._s.outputs

    @property
    def backends(self) -> List[str]:
        """The resolved preference list ("cpu" with precision bf16 -> "cpu:bf16")."""
        return list(self._s.backends)


def bench(model: Model, *, scenario: str = "single-stream", duration: float = 1.0,
          power: str = "none", inputs: Optional[Sequence[Any]] = None, min_queries: int = 64,
          warmup: float = 0.5, max_duration: float = 150.0, qps: float = 0,
          latency_bound_ms: float = 0, find_qps: bool = False, idle_seconds: float = 2.0,
          **engine: Any) -> Dict[str, Any]:
    """Latency, throughput, memory and energy under a load scenario; the Record of
    `frugal bench --json` as a dict. engine: Session's options (backend, precision, ...).
    inputs: arrays per model input (default: seeded random, as the CLI)."""
    o = _frugal.BenchOptions()
    o.scenario, o.duration, o.power, o.min_queries = scenario, duration, power, min_queries
    o.warmup, o.max_duration, o.qps = warmup, max_duration, qps
    o.latency_bound_ms, o.find_qps, o.idle_seconds = latency_bound_ms, find_qps, idle_seconds
    return _json.loads(_frugal.bench(model, _engine(**engine), o, list(inputs or [])))


def eval(model: Model, data: str, *, limit: int = 0,
         datasets_root: str = "/usr/share/datasets", **engine: Any) -> Dict[str, Any]:
    """Top-1/top-5 accuracy on a data set (`frugal eval --data`: fashion-mnist, FILE.npz,
    an image folder); the Record of `frugal eval --json` as a dict."""
    return _json.loads(_frugal.eval(model, _engine(**engine), data, limit, datasets_root))


def compress(model: Model, *, prune: Optional[str] = None, quant: Optional[str] = None,
             cluster: Optional[str] = None, exclude: Optional[str] = None,
             max_drop: Optional[float] = None, data: Optional[str] = None,
             calib_data: Optional[str] = None, calibration: Optional[str] = None,
             limit: int = 0, datasets_root: str = "/usr/share/datasets",
             lowrank: Optional[str] = None, binarize: Optional[str] = None,
             **engine: Any) -> Tuple[Model, Dict[str, Any]]:
    """Factor (lowrank: "0.25", "rank=R", "energy=0.9"), prune, share weights, binarize ("binary", "ternary"), quantize (compress/pipeline.h, as `frugal compress`): returns
    the new model and the report of `frugal compress --json`. prune: "0.9",
    "global:0.9", "2:4", ...; quant: "int8", "int4", "dynamic"; data: a labelled set to score
    accuracy before/after and to calibrate; calibration: "random:N" or "a.npy,..."."""
    o = _frugal.CompressOptions()
    o.prune, o.quant, o.cluster, o.exclude = prune or "", quant or "", cluster or "", exclude or ""
    o.max_drop = -1 if max_drop is None else max_drop
    o.lowrank, o.binarize = lowrank or "", binarize or ""
    o.data, o.calib_data, o.calibration = data or "", calib_data or "", calibration or ""
    o.limit, o.datasets_root = limit, datasets_root
    new, report = _frugal.compress(model, _engine(**engine), o)
    return new, _json.loads(report)


def train(model: Model, data: str = "fashion-mnist", *, epochs: int = 1, batch: int = 64,
          lr: Optional[float] = None, optimizer: str = "sgd", momentum: float = 0.9,
          weight_decay: float = 0.0, schedule: str = "cosine", seed: int = 0, limit: int = 0,
          threads: int = 1, format: Optional[str] = None, rounding: Optional[str] = None,
          precision_schedule: Optional[str] = None, loss_scale: str = "none",
          augment: Optional[str] = None, val_split: float = 0.0,
          test_data: Optional[str] = None, prune: Optional[str] = None,
          qat: Optional[str] = None, checkpoint: Optional[str] = None,
          resume: Optional[str] = None, kernels: str = "fast",
          datasets_root: str = "/usr/share/datasets") -> Tuple[Model, Dict[str, Any]]:
    """Train (or fine-tune) with frugal's trainer, as `frugal train` (docs/training.md):
    returns the trained model (inference form) and the run as `frugal train --json` prints
    it: data, precision policy, seed and `epochs`, one dict per epoch (train_loss,
    train_accuracy, test_accuracy, lr, seconds, ...). format/rounding: the precision policy
    ("W=e4m3,A=e4m3,E=e5m2,G=e5m2"); lr None: the optimizer's default. Runs without the
    GIL; deterministic for a seed and a thread count."""
    o = _frugal.TrainOptions()
    o.data, o.epochs, o.batch, o.optimizer = data, epochs, batch, optimizer
    if lr is not None:
        o.lr = lr
    o.momentum, o.weight_decay, o.schedule, o.seed = momentum, weight_decay, schedule, seed
    o.limit, o.threads, o.loss_scale, o.val_split = limit, threads, loss_scale, val_split
    o.format, o.rounding = format or "", rounding or ""
    o.precision_schedule, o.augment = precision_schedule or "", augment or ""
    o.test_data, o.prune, o.qat = test_data or "", prune or "", qat or ""
    o.checkpoint, o.resume, o.kernels = checkpoint or "", resume or "", kernels
    o.datasets_root = datasets_root
    new, summary = _frugal.train(model, o)
    return new, _json.loads(summary)


def from_torch(module: Any, example_input: Any, *, opset: int = 13,
               input_names: Sequence[str] = ("input",),
               output_names: Sequence[str] = ("output",)) -> Model:
    """A PyTorch module as a frugal Model, exported by torch.onnx.export with
    `example_input` (a tensor, or a tuple of tensors) fixing the shapes. Needs PyTorch
    (Debian's python3-torch); without it, frugal.Error says so."""
    try:
        import torch  # noqa: F401
    except ImportError as e:
        raise Error(f"from_torch: needs PyTorch (python3-torch), and `import torch` failed: {e}")
    import tempfile
    name = type(module).__name__
    with tempfile.TemporaryDirectory(prefix="frugal-torch-") as d:
        path = _os.path.join(d, name + ".onnx")
        was_training = getattr(module, "training", False)
        module.eval()
        try:
            torch.onnx.export(module, example_input, path, opset_version=opset,
                              input_names=list(input_names), output_names=list(output_names),
                              do_constant_folding=True)
        finally:
            module.train(was_training)
        return Model._load_detached(path, "torch:" + name)


def _frugal_cli() -> str:
    """The frugal binary a sweep's child processes run: FRUGAL_CLI, else `frugal` on PATH,
    else the build tree's (build/frugal next to build/python/frugal)."""
    env = _os.environ.get("FRUGAL_CLI")
    if env:
        return env
    here = _os.path.join(_os.path.dirname(_os.path.abspath(__file__)), "..", "..", "frugal")
    found = _shutil.which("frugal")
    if found:
        return found
    if _os.path.exists(here):
        return _os.path.abspath(here)
    raise Error("sweep: no frugal binary (set FRUGAL_CLI, or put frugal on PATH)")


def sweep(spec: Union[str, Mapping[str, Any]], db: Optional[str] = None, *, jobs: int = 1,
          resume: bool = False, cache: Optional[str] = None, quiet: bool = False,
          base_dir: str = ".") -> Dict[str, Any]:
    """Run a sweep (`frugal sweep SPEC --db DB`, docs/sweep.md): spec is a YAML file's path
    or the spec as a dict; each point runs in a child process of the frugal binary and its
    Record goes into the SQLite store `db` (default NAME.sqlite). Returns planned, skipped,
    ok, failed, wall_s, keys and db."""
    if isinstance(spec, str):
        path, text = spec, ""
    else:
        path, text = "", _json.dumps(dict(spec))
    return dict(_frugal.sweep(path, text, base_dir, db or "", jobs, resume, cache or "",
                              _frugal_cli(), quiet))


def report(db: str, out: Optional[str] = None, *, csv: Optional[str] = None,
           json: Optional[str] = None, pareto: Optional[str] = None) -> Dict[str, Any]:
    """Report a results store (`frugal report DB -o OUT`): writes the HTML report to `out`
    (and CSV/JSON where given); returns points, ok, failed, the Pareto front as text
    (`pareto`: two or more metrics, "acc,latency" by default) and `records`: the store as
    `frugal report --json` writes it."""
    r = dict(_frugal.report(db, out or "", csv or "", json or "", pareto or ""))
    r["records"] = _json.loads(r.pop("points_json"))
    return r
