"""Number formats as a numpy-level library (numeric/ of frugal, like CPFloat/QPyTorch).

Names are frugal's: fp32 fp16 bf16 e4m3 e5m2 e<E>m<M>[...], fixed<I>.<F>, int<B>, binary,
ternary (`frugal formats`). Rounding: "nearest" (even), "stochastic" (seeded), or the
library's rne, rna, rz, up, down, sr[:seed=N][:bits=R]. The kernels are the emulator's, so
results are bit-exact with the emu backend.
"""
from __future__ import annotations

from typing import Any, Dict, List

import numpy as np

try:
    from . import _frugal
except ImportError:
    import _frugal

_f = _frugal.formats


def round(array: np.ndarray, format: str, rounding: str = "nearest",  # noqa: A001
          seed: int = 0) -> np.ndarray:
    """A new float32 array: each element of `array` (float32) rounded to `format`."""
    return _f.round(array, format, rounding, seed)


def info(format: str) -> Dict[str, Any]:
    """name, layout, bits, max, min, min_normal, min_subnormal, epsilon, finite_values,
    has_inf, has_nan, mac_energy_pj and mac_relative_area (cost-model estimates)."""
    return _f.info(format)


def values(format: str) -> np.ndarray:
    """Every finite value of the format, ascending (float64)."""
    return _f.values(format)


def presets() -> List[str]:
    """The named formats `frugal formats` lists."""
    return list(_f.presets())
