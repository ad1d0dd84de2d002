#!/usr/bin/env bash
# The cluster's benchmarks (issue 14), on loopback, with a throwaway redis-server.
# Starts and stops only its own processes, by PID.
#
#   tools/tacws-bench/run-cluster.sh cpu [RUNS]        (from the repo root)
#       per run: one tacwsd alone, then three tacwsd nodes on one Redis, the same
#       subscribers (spread over the nodes) and the same events published on the first
#       node; one tacws-bench JSON line each, "nodes": 1 or 3. Server CPU is summed
#       over the nodes; Redis's CPU is reported apart (redis_cpu_s).
#   tools/tacws-bench/run-cluster.sh failover [RUNS]
#       per run: SIGKILL the node holding the topic's lease, change the topic's source at
#       once, and time until a subscriber on a survivor gets the change (polled by the new
#       holder); the killed node is started again for the next run. One JSON line per run,
#       then the median.
#   env: BUILD (build), BASE_PORT (18110: nodes on BASE_PORT+0..2, Redis on BASE_PORT+9),
#        SUBS (3000), MESSAGES (100), RATE (10), SIZE (1024), LEASE_TTL_MS (3000)
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
mode=${1:?cpu or failover}
runs=${2:-3}
build=${BUILD:-build}
bench=$root/$build/tools/tacws-bench/tacws-bench
cat_bin=$root/$build/tools/tacws-cat/tacws-cat
tacwsd=$root/$build/core/tacwsd
base=${BASE_PORT:-18110}
redis_port=$((base + 9))
ttl=${LEASE_TTL_MS:-3000}
token=bench-token
redis_sh=$root/tests/support/redis_server.sh
work=$(mktemp -d /tmp/tacws-cluster.XXXXXX)
ulimit -n "$(ulimit -Hn)"
. "$root/tools/tacws-bench/bench-lib.sh"

declare -a node_pid=(0 0 0)
declare -a cat_pids=()
stop_node() {
	local i=$1
	if [ "${node_pid[$i]}" != 0 ]; then
		kill "${node_pid[$i]}" 2>/dev/null || true
		wait "${node_pid[$i]}" 2>/dev/null || true
		node_pid[$i]=0
	fi
}
cleanup() {
	for p in "${cat_pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for i in 0 1 2; do stop_node "$i"; done
	"$redis_sh" stop "$work/redis" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

# write_ini I CLUSTER(0|1): node I's config; the cluster's nodes share repo and Redis.
write_ini() {
	local i=$1 cluster=$2
	bench_ini $((base + i)) "$root/$build/plugins" "$work/repo" "$token" >"$work/node$i.ini"
	printf '[feed.adw-state]\nplugin = adw_state\ninterval_ms = 200\n' >>"$work/node$i.ini"
	if [ "$cluster" = 1 ]; then
		printf '[cluster]\nredis = redis://127.0.0.1:%s\nnode_id = node%s\nlease_ttl_ms = %s\n' \
			"$redis_port" "$i" "$ttl" >>"$work/node$i.ini"
	fi
}

start_node() {
	local i=$1
	"$tacwsd" --config "$work/node$i.ini" >>"$work/node$i.log" 2>&1 &
	node_pid[$i]=$!
	bench_wait_port $((base + i))
}

redis_pid() { cat "$work/redis/redis.pid"; }

metric() { # PORT SAMPLE -> value or 0
	curl -s --max-time 2 "http://127.0.0.1:$1/metrics" | awk -v s="$2" '$1 == s {print $2; f=1} END {if (!f) print 0}'
}

mkdir -p "$work/repo/agents"
adw_id=b0c1a2d3
write_state() {
	mkdir -p "$work/repo/agents/$adw_id"
	printf '{"adw_id":"%s","issue_number":"14","v":%s}\n' "$adw_id" "$1" >"$work/repo/agents/$adw_id/.tmp"
	mv "$work/repo/agents/$adw_id/.tmp" "$work/repo/agents/$adw_id/adw_state.json"
}
write_state 0

case $mode in
cpu)
	args=(-n "${SUBS:-3000}" -m "${MESSAGES:-100}" -r "${RATE:-10}" -s "${SIZE:-1024}"
		--concurrency 1000 --token "$token" --feed workflows --timeout 240)
	"$redis_sh" start "$work/redis" "$redis_port" >/dev/null
	for run in $(seq "$runs"); do
		write_ini 0 0
		start_node 0
		"$bench" --port "$base" --pid "${node_pid[0]}" --label "tacws-1-node" "${args[@]}" |
			sed 's/^{/{"nodes":1,"run":'"$run"',/'
		stop_node 0
		for i in 0 1 2; do write_ini "$i" 1 && start_node "$i"; done
		"$bench" --port "$base" --sub-ports "$base,$((base + 1)),$((base + 2))" \
			--pid "${node_pid[0]},${node_pid[1]},${node_pid[2]}" --redis-pid "$(redis_pid)" \
			--label "tacws-3-nodes" "${args[@]}" | sed 's/^{/{"nodes":3,"run":'"$run"',/'
		for i in 0 1 2; do stop_node "$i"; done
	done
	;;
failover)
	"$redis_sh" start "$work/redis" "$redis_port" >/dev/null
	for i in 0 1 2; do write_ini "$i" 1 && start_node "$i"; done
	topic=adw-state/$adw_id
	# A subscriber on every node keeps every node a candidate for the lease.
	for i in 0 1 2; do
		"$cat_bin" --quiet "ws://127.0.0.1:$((base + i))/api/v1/ws/$topic" >/dev/null 2>&1 &
		cat_pids+=($!)
	done
	v=0
	results=()
	for run in $(seq "$runs"); do
		holder=
		for _ in $(seq 200); do # the one node holding the lease (a new holder may take a TTL)
			held=()
			for i in 0 1 2; do
				[ "$(metric $((base + i)) tacws_cluster_leases_held)" -ge 1 ] 2>/dev/null && held+=("$i")
			done
			[ "${#held[@]}" = 1 ] && holder=${held[0]} && break
			sleep 0.05
		done
		[ -n "$holder" ] || { echo "no single lease holder (logs in $work)" >&2; exit 1; }
		survivor=$(((holder + 1) % 3))
		out=$work/watch.$run
		"$cat_bin" --quiet --no-reconnect --count 2 \
			"ws://127.0.0.1:$((base + survivor))/api/v1/ws/$topic" >"$out" &
		watch=$!
		for _ in $(seq 200); do [ -s "$out" ] && break; sleep 0.01; done # its snapshot
		v=$((v + 1))
		t0=$(date +%s%N)
		kill -KILL "${node_pid[$holder]}"
		write_state "$v"
		wait "$watch"
		t1=$(date +%s%N)
		{ wait "${node_pid[$holder]}"; } 2>/dev/null || true
		node_pid[$holder]=0
		grep -q "\"v\":$v" "$out" || { echo "run $run: the watcher got no change $v" >&2; exit 1; }
		ms=$(((t1 - t0) / 1000000))
		results+=("$ms")
		echo "{\"run\":$run,\"killed\":\"node$holder\",\"lease_ttl_ms\":$ttl,\"failover_ms\":$ms}"
		start_node "$holder"
	done
	sorted=$(printf '%s\n' "${results[@]}" | sort -n)
	median=$(echo "$sorted" | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}')
	echo "{\"runs\":$runs,\"lease_ttl_ms\":$ttl,\"failover_ms_median\":$median,\"min\":$(echo "$sorted" | head -1),\"max\":$(echo "$sorted" | tail -1)}"
	;;
*)
	echo "usage: $0 cpu|failover [RUNS]" >&2
	exit 2
	;;
esac
