#!/usr/bin/env bash
# `pip install --no-build-isolation .` offline (no index, Debian's setuptools), into a
# scratch --target directory, packaging the module of the build directory BUILD as it is
# (FRUGAL_MODULE_PACKAGE_ONLY: no cmake --build while other tests run); then a plain PYTHON
# imports the installed package, not the build tree's, and runs LeNet-5.
#   tests/python/pip_install.sh PYTHON SOURCE_DIR BUILD_DIR
set -euo pipefail
python=$1 src=$2 build=$3
target=$(mktemp -d)
trap 'rm -rf "$target"' EXIT
FRUGAL_MODULE_BUILD_DIR=$build FRUGAL_MODULE_PACKAGE_ONLY=1 "$python" -m pip install --quiet \
  --no-build-isolation --no-index --no-deps --disable-pip-version-check \
  --root-user-action=ignore --target "$target" "$src"
cd "$target"
PYTHONPATH=$target "$python" - "$target" <<'EOF'
import os, sys
import numpy as np
import frugal
where = os.path.dirname(frugal._frugal.__file__)
assert os.path.samefile(where, os.path.join(sys.argv[1], "frugal")), where
(y,) = frugal.Session(frugal.zoo("lenet5")).run(np.zeros((1, 1, 28, 28), np.float32))
assert y.shape == (1, 10), y.shape
print("installed", frugal._frugal.__file__)
EOF
