#!/usr/bin/env bash
# Builds and runs every test twice (plain, then AddressSanitizer + UBSan), the static analyser,
# and a short run of each libFuzzer target (clang; tests/fuzz/run.sh runs them long).
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
echo "== libFuzzer targets, a few seconds each (clang) =="
CC=clang cmake -S . -B build/fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTACWS_FUZZ=ON \
  -DTACWS_SANITIZE=ON -DTACWS_WERROR=OFF -DTACWS_FUZZ_SECONDS=3 >/dev/null
cmake --build build/fuzz -j"$jobs" --target fuzz_client_msg fuzz_publish fuzz_webhook fuzz_topic \
  fuzz_config fuzz_delta
(cd build/fuzz && ctest --output-on-failure -L fuzz)
echo "tacws: all tests passed"
