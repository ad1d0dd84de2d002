#!/usr/bin/env bash
# Builds and runs every test twice (plain, then AddressSanitizer + UBSan), builds the whole tree
# at the other CMake build types with gcc and with clang without running it, runs the static
# analyser, and a short run of each libFuzzer target (clang; tests/fuzz/run.sh runs them long).
# Warnings are errors in every build here (TACWS_WERROR=ON; a packager's build leaves it off).
# Every build type is built whole with both compilers (issue 13): gcc at RelWithDebInfo (plain),
# Debug (ASan), Release and MinSizeRel; clang at Debug, RelWithDebInfo, Release and MinSizeRel.
# Warnings depend on the compiler and on the optimisation level (gcc's -O3 finds truncations
# that -O2 does not), so no build stands in for another. The not-run builds cost a few minutes
# each on two cores.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=2

configure_and_build() { # dir, cmake flags...
  local dir="$1"; shift
  cmake -S . -B "$dir" -DTACWS_WERROR=ON "$@" >/dev/null
  cmake --build "$dir" -j"$jobs"
}

run_suite() { # name, cmake flags...
  local dir="build/$1"; shift
  configure_and_build "$dir" "$@"
  (cd "$dir" && ctest --output-on-failure -j"$jobs" --timeout 600)
}

echo "== plain build (gcc, RelWithDebInfo) =="
run_suite plain -DCMAKE_BUILD_TYPE=RelWithDebInfo
echo "== AddressSanitizer + UndefinedBehaviorSanitizer (gcc, Debug) =="
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
run_suite asan -DCMAKE_BUILD_TYPE=Debug -DTACWS_SANITIZE=ON
echo "== the other build types, not run (gcc, then clang) =="
CC=gcc configure_and_build build/release-gcc -DCMAKE_BUILD_TYPE=Release
CC=gcc configure_and_build build/minsizerel-gcc -DCMAKE_BUILD_TYPE=MinSizeRel
CC=clang configure_and_build build/debug-clang -DCMAKE_BUILD_TYPE=Debug
CC=clang configure_and_build build/relwithdebinfo-clang -DCMAKE_BUILD_TYPE=RelWithDebInfo
CC=clang configure_and_build build/release-clang -DCMAKE_BUILD_TYPE=Release
CC=clang configure_and_build build/minsizerel-clang -DCMAKE_BUILD_TYPE=MinSizeRel
echo "== cppcheck =="
cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
  --std=c11 --inline-suppr -D__GNUC__ -I include -I core -I plugins/common \
  --suppress=missingIncludeSystem core plugins tools
echo "== libFuzzer targets, a few seconds each (clang, RelWithDebInfo) =="
CC=clang cmake -S . -B build/fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTACWS_FUZZ=ON \
  -DTACWS_SANITIZE=ON -DTACWS_WERROR=ON -DTACWS_FUZZ_SECONDS=3 >/dev/null
cmake --build build/fuzz -j"$jobs" --target fuzz_client_msg fuzz_publish fuzz_webhook fuzz_topic \
  fuzz_config fuzz_delta fuzz_http_post fuzz_deflate_offer fuzz_wsframe
(cd build/fuzz && ctest --output-on-failure -L fuzz)
echo "tacws: all tests passed"
