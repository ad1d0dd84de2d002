#!/usr/bin/env bash
# Captures the demo's real changes for delta-stats: starts tools/demo/run-demo.sh
# (one tacwsd, seed 1), subscribes to the TAC feeds on the multiplexed socket with
# tacws-cat for SECONDS of wall time, stops the demo, and runs delta-stats on the
# capture.
#
#   tools/delta-stats/capture-demo.sh OUT_DIR [SECONDS]   (default 600: ten minutes)
#
# Writes OUT_DIR/capture.jsonl (one message a line, as tacws-cat prints them) and
# OUT_DIR/delta-stats.txt. Environment: TACWS_BUILD_DIR (default <source>/build),
# TACWS_PORT / TACWS_DEMO_PORT as for run-demo.sh.
set -euo pipefail
out=${1:?usage: $0 OUT_DIR [SECONDS]}
secs=${2:-600}
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${TACWS_BUILD_DIR:-$src/build}
mkdir -p "$out"
export TACWS_DEMO_DIR=${TACWS_DEMO_DIR:-$out/demo}
rm -rf "$TACWS_DEMO_DIR"
# its own process group: run-demo.sh runs tacwsd in the foreground, so a TERM to the
# script alone waits for tacwsd; the whole group (the script, tacwsd, tacws-demo) is stopped
setsid "$src/tools/demo/run-demo.sh" >"$out/demo.log" 2>&1 &
demo_pid=$!
trap 'kill -TERM -- -$demo_pid 2>/dev/null || true; wait $demo_pid 2>/dev/null || true' EXIT
port=
for ((i = 0; i < 600; i++)); do
	port=$(sed -n 's|.*open http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$out/demo.log" | head -1)
	[[ -n $port ]] && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
	kill -0 $demo_pid 2>/dev/null || { cat "$out/demo.log" >&2; exit 1; }
	sleep 0.2
done
[[ -n $port ]] || { echo "capture-demo: tacwsd did not start" >&2; exit 1; }
echo "capture-demo: tacwsd on $port, capturing $secs s into $out/capture.jsonl" >&2
timeout -s INT "$secs" "$build/tools/tacws-cat/tacws-cat" --quiet \
	--subscribe queue,workflow-history,adw-monitor,workflows,routes,system-status,webhook-status \
	"ws://127.0.0.1:$port/api/v1/ws" >"$out/capture.jsonl" || true
"$build/tools/delta-stats/delta-stats" <"$out/capture.jsonl" >"$out/delta-stats.txt"
cat "$out/delta-stats.txt"
