"""frugal.train (the library trainer, as `frugal train`) and frugal.from_torch."""
import json

import numpy as np
import pytest

import frugal


def test_train_equals_cli_train(cli, tmp_path):
    # The same zoo model, seed, data and recipe: the same losses, step for step.
    model, run = frugal.train(frugal.zoo("lenet5"), "fashion-mnist", limit=256, batch=32)
    assert len(run["epochs"]) == 1
    epoch = run["epochs"][0]
    assert np.isfinite(epoch["train_loss"]) and 0 <= epoch["test_accuracy"] <= 1
    out = cli("train", "lenet5", "--data", "fashion-mnist", "--limit", 256, "--batch", 32,
              "-o", tmp_path / "l.onnx", "--json", "-q")
    want = json.loads(out.stdout)
    assert epoch["train_loss"] == want["epochs"][0]["train_loss"]
    assert epoch["test_accuracy"] == want["epochs"][0]["test_accuracy"]
    assert run["precision"] == want["precision"]
    # The trained model runs, and differs from the untrained one.
    x = np.zeros((1, 1, 28, 28), np.float32)
    before, = frugal.Session(frugal.zoo("lenet5")).run(x)
    after, = frugal.Session(model).run(x)
    assert not np.array_equal(before, after)
    assert model.origin == "lenet5 | train"


def test_train_errors_carry_the_cli_message():
    with pytest.raises(frugal.Error, match="--kernels: 'fastest' is not fast, onednn, gemm"):
        frugal.train(frugal.zoo("lenet5"), limit=64, kernels="fastest")
    with pytest.raises(frugal.Error, match="optimizer"):
        frugal.train(frugal.zoo("lenet5"), limit=64, optimizer="lbfgs")


def _torch():
    try:
        import torch
    except ImportError:
        pytest.skip("PyTorch (python3-torch) is not installed: from_torch is not tested here")
    return torch


def test_from_torch_runs_like_torch():
    torch = _torch()
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.ReLU(), torch.nn.Flatten(),
                              torch.nn.Linear(4 * 26 * 26, 10))
    x = torch.randn(1, 1, 28, 28)
    model = frugal.from_torch(net, x)
    assert model.origin == "torch:Sequential"
    assert model.inputs[0]["name"] == "input"
    got, = frugal.Session(model, backend="ref").run(x.numpy())
    with torch.no_grad():
        want = net(x).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_from_torch_without_torch_is_a_clear_error(monkeypatch):
    import builtins
    real_import = builtins.__import__

    def no_torch(name, *args, **kwargs):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("No module named 'torch'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_torch)
    with pytest.raises(frugal.Error, match="from_torch: needs PyTorch"):
        frugal.from_torch(object(), None)
