"""frugal from Python: a numpy-native module over the frugal C++ library."""
try:
    from . import _frugal  # the shared-object module (FRUGAL_PYTHON_MODULE, pip install)
except ImportError:
    import _frugal  # built into build/frugal-python
Model, zoo = _frugal.Model, _frugal.zoo
formats = _frugal.formats
