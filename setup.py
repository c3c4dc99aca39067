"""pip install --no-build-isolation .  — the frugal Python module, built by CMake.

setuptools only packages; CMake builds the extension `frugal._frugal` (FRUGAL_PYTHON_MODULE=ON:
the library compiled -fPIC, linked into the module). The CMake build directory is, in order:
FRUGAL_MODULE_BUILD_DIR; build/ when it already is such a build (scripts/setup.sh makes
one: pip then only packages its module); else build-pymodule/, configured here for the
Python running pip. FRUGAL_MODULE_PACKAGE_ONLY=1 packages the module as it is, building
nothing (ctest python_pip_install, which must not rebuild under other tests). docs/python.md.
"""
import glob
import os
import subprocess
import sys
import sysconfig

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))


def _is_module_build(build):
    """True when `build` is a configured CMake build with FRUGAL_PYTHON_MODULE=ON."""
    cache = os.path.join(build, "CMakeCache.txt")
    if not os.path.exists(cache):
        return False
    with open(cache, encoding="utf-8") as f:
        return any(line.strip() == "FRUGAL_PYTHON_MODULE:BOOL=ON" for line in f)


def _build_dir():
    chosen = os.environ.get("FRUGAL_MODULE_BUILD_DIR")
    if chosen:
        return os.path.abspath(chosen)
    default = os.path.join(HERE, "build")
    return default if _is_module_build(default) else os.path.join(HERE, "build-pymodule")


def _configure(build):
    """A new build directory: the module only, for the interpreter running pip (a venv's
    python resolves to the base interpreter whose headers and ABI the module needs)."""
    python = os.path.realpath(sys.executable)
    subprocess.run(["cmake", "-S", HERE, "-B", build, "-G", "Ninja",
                    "-DCMAKE_BUILD_TYPE=Release", "-DFRUGAL_PYTHON_MODULE=ON",
                    "-DFRUGAL_BUILD_TESTS=OFF", "-DFRUGAL_BUILD_BENCH=OFF",
                    f"-DPython3_EXECUTABLE={python}"], check=True)


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        build = _build_dir()
        if not os.path.exists(os.path.join(build, "CMakeCache.txt")):
            _configure(build)
        elif not _is_module_build(build):
            sys.exit(f"setup.py: {build} is a CMake build without the module: reconfigure it "
                     "with -DFRUGAL_PYTHON_MODULE=ON, or point FRUGAL_MODULE_BUILD_DIR elsewhere")
        if os.environ.get("FRUGAL_MODULE_PACKAGE_ONLY") != "1":
            print(f"setup.py: building frugal._frugal in {build}", flush=True)
            jobs = os.environ.get("FRUGAL_JOBS", str(os.cpu_count() or 2))
            subprocess.run(["cmake", "--build", build, "--target", "frugal_python", "-j", jobs],
                           check=True)
        suffix = sysconfig.get_config_var("EXT_SUFFIX")
        built = glob.glob(os.path.join(build, "python", "frugal", "_frugal" + suffix))
        if not built:
            sys.exit(f"setup.py: no _frugal{suffix} for this Python in {build}/python/frugal "
                     "(pybind11-dev, python3-dev, python3-numpy installed? the build made for "
                     "another Python?)")
        target = self.get_ext_fullpath(ext.name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        self.copy_file(built[0], target)


setup(
    name="frugal",
    version="0.1.0",
    description="frugal: run, compress and measure ONNX models on constrained hardware",
    packages=["frugal"],
    package_dir={"frugal": "src/frugal/python/frugal"},
    package_data={"frugal": ["*.pyi", "py.typed"]},
    ext_modules=[Extension("frugal._frugal", sources=[])],
    cmdclass={"build_ext": CMakeBuild},
    # setuptools' own staging stays out of the CMake build directory build/.
    options={"build": {"build_base": "build-setuptools"}},
    python_requires=">=3.9",
)
