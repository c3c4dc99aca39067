"""pip install --no-build-isolation .  — the frugal Python module, built by CMake.

setuptools only packages: CMake configures build-pymodule/ (FRUGAL_MODULE_BUILD_DIR) with
FRUGAL_PYTHON_MODULE=ON, which compiles the library -fPIC and links the extension
`frugal._frugal` against it, for the Python running pip. docs/python.md.
"""
import glob
import os
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        build = os.environ.get("FRUGAL_MODULE_BUILD_DIR", os.path.join(HERE, "build-pymodule"))
        jobs = os.environ.get("FRUGAL_JOBS", str(os.cpu_count() or 2))
        subprocess.run(["cmake", "-S", HERE, "-B", build, "-G", "Ninja",
                        "-DCMAKE_BUILD_TYPE=Release", "-DFRUGAL_PYTHON_MODULE=ON",
                        "-DFRUGAL_BUILD_TESTS=OFF", "-DFRUGAL_BUILD_BENCH=OFF",
                        f"-DPython3_EXECUTABLE={sys.executable}"], check=True)
        subprocess.run(["cmake", "--build", build, "--target", "frugal_python", "-j", jobs],
                       check=True)
        built = glob.glob(os.path.join(build, "python", "frugal", "_frugal*.so"))
        if not built:
            sys.exit(f"setup.py: CMake built no _frugal module in {build}/python/frugal "
                     "(pybind11-dev, python3-dev and python3-numpy installed?)")
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
    python_requires=">=3.9",
)
