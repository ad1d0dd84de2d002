#!/usr/bin/env bash
# Runs one benchmark scenario against tacwsd and the Node peer, back to back
# in the same session, with the same tacws-bench; prints one JSON line per
# server and run. Starts and stops only its own servers, by PID.
#
#   tools/tacws-bench/run-compare.sh SCENARIO [RUNS]      (from the repo root)
#   SCENARIO: b | latency | memory | slow | slow-baseline | storm | deflate | deflate-baseline |
#             deflate-10k | deflate-baseline-10k | smoke | storm-snapshot | storm-resume
#   storm-snapshot and storm-resume (tacws only): 19,000 subscribers of a 34 KB workflows
#   snapshot drop and reconnect at once, without and with ?since=&epoch= (N: env STORM_N)
#   env: BUILD (default build), PORT_TACWS (18003), PORT_NODE (18004),
#        SERVERS ("tacws node")
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
scenario=${1:?scenario}
runs=${2:-3}
build=${BUILD:-build}
bench=$root/$build/tools/tacws-bench/tacws-bench
tacwsd=$root/$build/core/tacwsd
port_t=${PORT_TACWS:-18003}
port_n=${PORT_NODE:-18004}
token=bench-token
work=$(mktemp -d /tmp/tacws-bench.XXXXXX)
ulimit -n "$(ulimit -Hn)"

case $scenario in
b) args=(-n 10000 -m 100 -r 10 -s 1024 --concurrency 1000) ;;
latency) args=(-n 1000 -m 500 -r 50 -s 1024) ;;
memory) args=(-n 19000 -m 0 --idle 35 --concurrency 1000) ;;
slow) args=(-n 1000 -k 10 -m 40 -r 4 -s 65536) ;;
slow-baseline) args=(-n 1000 -k 0 -m 40 -r 4 -s 65536) ;;
storm) args=(-n 19000 -m 0 --storm --concurrency 1000) ;;
deflate) args=(-n 1000 -m 100 -r 10 -s 2048 --deflate) ;;
deflate-baseline) args=(-n 1000 -m 100 -r 10 -s 2048) ;;
deflate-10k) args=(-n 10000 -m 100 -r 10 -s 2048 --concurrency 1000 --deflate) ;;
deflate-baseline-10k) args=(-n 10000 -m 100 -r 10 -s 2048 --concurrency 1000) ;;
smoke) args=(-n 50 -m 20 -r 100 -s 512) ;;
storm-snapshot) args=(-n "${STORM_N:-19000}" -m 0 --storm --concurrency 1000) ;;
storm-resume) args=(-n "${STORM_N:-19000}" -m 0 --storm --resume --concurrency 1000) ;;
*) echo "unknown scenario $scenario" >&2; exit 2 ;;
esac

mkdir -p "$work/repo/agents"
. "$root/tools/tacws-bench/bench-lib.sh"
servers=${SERVERS:-tacws node}
case $scenario in
storm-snapshot | storm-resume)
	bench_agents "$work/repo" 290 # a 34 KB snapshot
	servers=${SERVERS:-tacws} # the Node peer has no resume
	;;
esac
bench_ini "$port_t" "$root/$build/plugins" "$work/repo" "$token" >"$work/tacws.ini"
# compression is set either way, so these figures stay comparable whatever its default
if [ "$scenario" = deflate ] || [ "$scenario" = deflate-10k ]; then
	compression=1
	node_extra=(--deflate)
else
	compression=0 # plain frames for every client, though compression is on by default
	node_extra=()
fi
sed -i "s/^\[server\]\$/[server]\ncompression = $compression/" "$work/tacws.ini"

server_pid=
stop_server() {
	if [ -n "$server_pid" ]; then
		kill "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
		server_pid=
	fi
}
trap 'stop_server; rm -rf "$work"' EXIT

for run in $(seq "$runs"); do
	for server in $servers; do
		if [ "$server" = tacws ]; then
			"$tacwsd" --config "$work/tacws.ini" >>"$work/tacwsd.log" 2>&1 &
			server_pid=$!
			port=$port_t
		else
			node "$root/tools/bench/server.js" --port "$port_n" --token "$token" \
				--feeds workflows "${node_extra[@]}" >>"$work/node.log" 2>&1 &
			server_pid=$!
			port=$port_n
		fi
		bench_wait_port "$port"
		"$bench" --port "$port" --pid "$server_pid" --token "$token" --feed workflows \
			--label "$server" --timeout 240 "${args[@]}"
		if [ "${scenario%%-*}" = storm ] && [ "$server" = tacws ]; then
			curl -s --max-time 5 "http://127.0.0.1:$port/metrics" |
				grep -E "^tacws_(polls_total|changes_total|messages_sent_total|connections_total)" >&2 || true
		fi
		stop_server
		sleep 1
	done
done
