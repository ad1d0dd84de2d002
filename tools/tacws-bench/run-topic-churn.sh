#!/usr/bin/env bash
# Starts its own tacwsd (adw-state on an empty agents/ folder), runs
# tacws-topic-churn against it, stops it by PID. Prints one JSON line per level.
#
#   tools/tacws-bench/run-topic-churn.sh [tacws-topic-churn options]   (from the repo root)
#   env: BUILD (default build), PORT (18013)
# Default: --levels 100,100000 --ops 256 --rounds 5 --timeout 900.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
build=${BUILD:-build}
port=${PORT:-18013}
tacwsd=$root/$build/core/tacwsd
churn=$root/$build/tools/tacws-bench/tacws-topic-churn
work=$(mktemp -d /tmp/tacws-churn.XXXXXX)
ulimit -n "$(ulimit -Hn)"
mkdir -p "$work/repo/agents"

# ping_interval_s is long: the sockets holding topics read nothing while others fill.
# interval_ms is long so that polls of 100,000 topics do not crowd the measurement;
# each new topic is still polled once, for its first snapshot.
write_ini() {
	cat >"$work/tacws.ini" <<INI
[server]
listen = 127.0.0.1
port = $port
plugin_dir = $root/$build/plugins
web_dir =
workers = 2
max_subscriptions = 10000
ping_interval_s = 3600
client_messages_per_s = 100000
max_inbound_bytes = 65536
topic_idle_s = 1
log_level = warn
$1
[sources]
repo_root = $work/repo
[feed.adw-state]
plugin = adw_state
interval_ms = 3600000
INI
}
# The issue-13 limits, raised above the levels, where this tacwsd knows them.
write_ini $'max_topics = 1000000\ntopic_creations_per_s = 100000'
if ! "$tacwsd" --config "$work/tacws.ini" --check-config >/dev/null 2>&1; then
	write_ini ""
fi

"$tacwsd" --config "$work/tacws.ini" >"$work/tacwsd.log" 2>&1 &
pid=$!
# Bounded: before issue 13's fix, closing sockets that hold many topics can take
# minutes (each unsubscribe inserts an idle timer into a sorted list).
stop() {
	kill "$pid" 2>/dev/null || true
	for _ in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "run-topic-churn: tacwsd still stopping after 10 s; killed" >&2
		kill -9 "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
	rm -rf "$work"
}
trap stop EXIT
for _ in $(seq 100); do
	curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
	sleep 0.1
done
args=("$@")
[ ${#args[@]} -gt 0 ] || args=(--levels 100,100000 --ops 256 --rounds 5 --timeout 900)
"$churn" --port "$port" --pid "$pid" "${args[@]}"
