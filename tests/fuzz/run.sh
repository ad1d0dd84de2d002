#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (fuzzer + ASan + UBSan) and runs each
# one, in-process, on its corpus.
#
#   tests/fuzz/run.sh [-r RUNS] [-t SECONDS] [-j JOBS] [-b BUILD_DIR] [TARGET...]
#
# -r: executions per target (default 10000000); -t: seconds per target
# (default: none, RUNS decides; with both, whichever comes first). TARGETs:
# client_msg publish webhook topic config delta http_post deflate_offer wsframe (default: all). New inputs go to
# BUILD_DIR/tests/fuzz/corpus/<target>; the seed corpus in tests/fuzz/corpus
# is only read. Logs: BUILD_DIR/fuzz-logs/<target>.log; the last line printed
# per target is its execution count.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
runs=10000000
seconds=0
jobs=1
build="$root/build/fuzz"
while getopts "r:t:j:b:" opt; do
  case $opt in
    r) runs=$OPTARG ;;
    t) seconds=$OPTARG ;;
    j) jobs=$OPTARG ;;
    b) build=$OPTARG ;;
    *) sed -n '2,13p' "$0"; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(client_msg publish webhook topic config delta http_post deflate_offer wsframe)

CC=clang cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTACWS_FUZZ=ON \
  -DTACWS_SANITIZE=ON -DTACWS_WERROR=OFF >/dev/null
cmake --build "$build" -j"$jobs" --target $(printf 'fuzz_%s ' "${targets[@]}")

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
mkdir -p "$build/fuzz-logs"
status=0
for t in "${targets[@]}"; do
  scratch="$build/tests/fuzz/corpus/$t"
  mkdir -p "$scratch"
  args=(-runs="$runs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1)
  [ "$seconds" = 0 ] || args+=(-max_total_time="$seconds")
  log="$build/fuzz-logs/$t.log"
  if "$build/tests/fuzz/fuzz_$t" "${args[@]}" "$scratch" "$here/corpus/$t" >"$log" 2>&1; then
    result=ok
  else
    result=FAILED
    status=1
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  echo "fuzz_$t: $result, ${execs:-?} executions (log: $log)"
done
exit $status
