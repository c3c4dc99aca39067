"""Shared fixtures: the CLI binary (FRUGAL_CLI, set by ctest) and small models on disk."""
import os
import subprocess

import pytest

import frugal


@pytest.fixture(scope="session")
def cli():
    path = os.environ.get("FRUGAL_CLI", "")
    if not os.path.exists(path):
        pytest.skip("FRUGAL_CLI (the frugal binary) not set: run through ctest")

    def run(*args):
        return subprocess.run([path, *map(str, args)], check=True, capture_output=True, text=True)

    return run


@pytest.fixture(scope="session")
def lenet(tmp_path_factory):
    path = tmp_path_factory.mktemp("models") / "lenet5.onnx"
    frugal.zoo("lenet5", seed=3).save(str(path))
    return str(path)
