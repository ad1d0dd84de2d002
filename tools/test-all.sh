#!/usr/bin/env bash
# Builds and runs every test twice (plain, then AddressSanitizer + UBSan) and the static analyser.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=2

run_suite() { # name, cmake flags...
  local dir="build/$1"; shift
  cmake -S . -B "$dir" "$@" >/dev/null
  cmake --build "$dir" -j"$jobs"
  (cd "$dir" && ctest --output-on-failure -j"$jobs" --timeout 600)
}

echo "== plain build =="
run_suite plain -DCMAKE_BUILD_TYPE=RelWithDebInfo
echo "== AddressSanitizer + UndefinedBehaviorSanitizer =="
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
run_suite asan -DCMAKE_BUILD_TYPE=Debug -DTACWS_SANITIZE=ON
echo "== cppcheck =="
cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
  --std=c11 --inline-suppr -D__GNUC__ -I include -I core -I plugins/common \
  --suppress=missingIncludeSystem core plugins tools
echo "tacws: all tests passed"
