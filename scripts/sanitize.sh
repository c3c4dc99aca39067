#!/usr/bin/env bash
# Builds the unit tests of core, numeric, ir, ops and train/data with clang + AddressSanitizer
# + UndefinedBehaviorSanitizer into build-asan/ (tools/sanitize/CMakeLists.txt says why those)
# and runs them; any sanitizer report fails the run. CI runs it through ctest (`sanitizers`).
#   scripts/sanitize.sh [GTEST_FILTER]
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v clang++ >/dev/null; then
  echo "sanitize: clang++ not found; skipped"
  exit 0
fi
cmake -S tools/sanitize -B build-asan -G Ninja -DCMAKE_CXX_COMPILER=clang++ >/dev/null
cmake --build build-asan -j "${FRUGAL_JOBS:-$(nproc)}"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
status=0
for t in core numeric ops data; do
  echo "== san_$t"
  ./build-asan/san_$t --gtest_brief=1 --gtest_filter="${1:-*}" || status=1
done
exit $status
