#!/usr/bin/env bash
# A polled feed whose source changes, against tacwsd: server CPU per update and
# memory per connection for plain frames, compress-once, and either with JSON
# Patch deltas (issue 15). Prints one JSON line per run (tacws-bench's, with
# "mode" added).
#
#   tools/tacws-bench/run-feed-changes.sh MODE SUBSCRIBERS [RUNS] [IDLE_S]   (from the repo root)
#   MODE: plain | once | delta | once-delta
#     plain       compression = 0, full snapshots
#     once        compression = 1 (compress-once), the tool offers permessage-deflate
#     delta       compression = 0, subscribers ask for ?delta=json-patch
#     once-delta  both
#   env: BUILD (default build), PORT_TACWS (18013), ROWS (20), CHANGE_MS (100)
#
# The feed is the test plugin's "alpha" (BUILD/test-plugins/testfeed.so: it serves
# the JSON file it is given), polled every 50 ms. A writer rewrites that file
# every CHANGE_MS ms: ROWS rows of about 100 bytes keyed by "id" (about 2 KB in
# all), one row's status and time changed each time, as TAC's row feeds change.
# tacws-bench connects the subscribers and measures the server over IDLE_S
# seconds (default 10) while the changes go on: idle.server_us_per_update is the
# server's CPU (polls, diffs, compression and sends) over the updates the
# subscribers received. Starts and stops only its own processes, by PID.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
mode=${1:?mode}
subs=${2:?subscribers}
runs=${3:-3}
idle=${4:-10}
build=${BUILD:-build}
port=${PORT_TACWS:-18013}
bench=$root/$build/tools/tacws-bench/tacws-bench
tacwsd=$root/$build/core/tacwsd
work=$(mktemp -d /tmp/tacws-feed-bench.XXXXXX)
ulimit -n "$(ulimit -Hn)"

case $mode in
plain) compression=0 tool=() ;;
once) compression=1 tool=(--deflate) ;;
delta) compression=0 tool=(--delta) ;;
once-delta) compression=1 tool=(--deflate --delta) ;;
*) echo "unknown mode $mode" >&2; exit 2 ;;
esac

cat >"$work/tacws.ini" <<INI
[server]
listen = 127.0.0.1
port = $port
plugin_dir = $root/$build/test-plugins
web_dir =
workers = 2
max_connections = 100000
ping_interval_s = 30
send_queue_bytes = 1048576
compression = $compression
log_level = warn
[feed.alpha]
plugin = testfeed
file = $work/doc.json
interval_ms = 50
INI

server_pid=""
writer_pid=""
stop_all() {
	for pid in $server_pid $writer_pid; do
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	server_pid=""
	writer_pid=""
}
trap 'stop_all; rm -rf "$work"' EXIT

. "$root/tools/tacws-bench/bench-lib.sh"
for _ in $(seq "$runs"); do
	python3 - "$work/doc.json" "${ROWS:-20}" "${CHANGE_MS:-100}" <<'PY' &
import json, os, random, sys, time
path, rows, ms = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(1)
states = ["pending", "running", "testing", "reviewing", "completed", "failed"]
doc = [{"id": f"adw-{i:04x}", "status": "running", "phase": "build", "issue": 100 + i,
        "branch": f"feature/issue-{100 + i}-adw-{i:04x}", "updated": "2026-12-05T08:00:00Z"}
       for i in range(rows)]
n = 0
while True:
    row = doc[rnd.randrange(rows)]
    row["status"] = rnd.choice(states)
    row["updated"] = f"2026-12-05T08:{n // 600 % 60:02d}:{n // 10 % 60:02d}.{n % 10}Z"
    n += 1
    with open(path + ".tmp", "w") as f:
        json.dump({"rows": doc}, f, separators=(",", ":"))
    os.replace(path + ".tmp", path)
    time.sleep(ms / 1000)
PY
	writer_pid=$!
	for _ in $(seq 50); do [ -f "$work/doc.json" ] && break; sleep 0.1; done
	"$tacwsd" --config "$work/tacws.ini" >>"$work/tacwsd.log" 2>&1 &
	server_pid=$!
	bench_wait_port "$port"
	"$bench" --port "$port" --pid "$server_pid" --feed alpha --label "tacws-$mode" \
		-n "$subs" -m 0 --idle "$idle" --concurrency 1000 --timeout 240 "${tool[@]}" |
		sed "s/^{/{\"mode\":\"$mode\",/"
	stop_all
	sleep 1
done
