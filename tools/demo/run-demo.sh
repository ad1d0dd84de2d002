#!/usr/bin/env bash
# The tacws demo in one command: builds the project if needed, starts
# tacws-demo (a simulated TAC WebBuilder: agents/, a SQLite database in TAC's
# schema, the QC metrics file, the backend's OpenAPI document, the trigger
# service's status, health endpoints for TAC's six services)
# and serves it all live with tacwsd. Ctrl-C stops both.
#
#   tools/demo/run-demo.sh              one tacwsd
#   tools/demo/run-demo.sh --cluster    three tacwsd nodes on one redis-server (issue 14's
#                                       cluster), the same data; same as TACWS_DEMO_NODES=3
#
# Environment (all optional):
#   TACWS_BUILD_DIR  build folder (default: <source>/build)
#   TACWS_DEMO_DIR   where the demo data, its logs and config go (default: <build>/demo)
#   TACWS_PORT       first port to try for tacwsd (default 8003)
#   TACWS_DEMO_PORT  first port to try for the demo's HTTP services (default 8002)
#   TACWS_DEMO_SEED  the story's random seed (default 1)
#   TACWS_DEMO_NODES 1 (default) or 3: the cluster (--cluster)
#   TACWS_DEMO_REDIS_PORT  first port to try for the cluster's redis-server (default 6390)
set -euo pipefail

nodes=${TACWS_DEMO_NODES:-1}
case ${1:-} in
--cluster) nodes=3 ;;
"") ;;
*)
	echo "usage: $0 [--cluster]" >&2
	exit 2
	;;
esac
if [[ $nodes != 1 && $nodes != 3 ]]; then
	echo "tacws demo: TACWS_DEMO_NODES is 1 or 3, not $nodes" >&2
	exit 2
fi

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${TACWS_BUILD_DIR:-$src/build}
demo=${TACWS_DEMO_DIR:-$build/demo}
tacwsd=$build/core/tacwsd
driver=$build/tools/demo/tacws-demo

# Only what the demo runs, so a half-built test elsewhere cannot stop it;
# make skips what is up to date. TACWS_DEMO_NO_BUILD=1 skips this (tests).
if [[ -z ${TACWS_DEMO_NO_BUILD:-} ]]; then
	if [[ ! -f $build/CMakeCache.txt ]]; then
		echo "tacws demo: configuring $build"
		cmake -S "$src" -B "$build" >/dev/null
	fi
	echo "tacws demo: building tacwsd, the plugins and tacws-demo in $build"
	# The plugins this tree has (a feed whose plugin is missing is refused at start).
	targets=(tacwsd tacws-demo)
	for plugin in workflows adw_state adw_monitor queue history routes system_status \
		webhook_status planned_features qc_metrics; do
		if [[ -f $src/plugins/$plugin/CMakeLists.txt ]]; then
			targets+=("$plugin")
		fi
	done
	if ! cmake --build "$build" -j2 --target "${targets[@]}" \
		>"$build/run-demo-build.log" 2>&1; then
		tail -30 "$build/run-demo-build.log" >&2
		echo "tacws demo: the build failed; the full log is $build/run-demo-build.log" >&2
		exit 1
	fi
fi

# The first port from $1 on which nothing listens on 127.0.0.1.
free_port() {
	local p=$1
	for ((i = 0; i < 200; i++, p++)); do
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	echo "tacws demo: no free port from $1" >&2
	return 1
}

demo_port=$(free_port "${TACWS_DEMO_PORT:-8002}")
port=$(free_port "${TACWS_PORT:-8003}")
if [[ $port == "$demo_port" ]]; then
	port=$(free_port $((demo_port + 1)))
fi

mkdir -p "$demo"
driver_pid=
node_pids=()
redis_dir=$demo/redis
redis_started=
stop_all() {
	for pid in "${node_pids[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	node_pids=()
	if [[ -n $driver_pid ]]; then
		kill -TERM "$driver_pid" 2>/dev/null || true
		wait "$driver_pid" 2>/dev/null || true
		driver_pid=
	fi
	if [[ -n $redis_started ]]; then
		"$src/tests/support/redis_server.sh" stop "$redis_dir" || true
		redis_started=
	fi
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$driver" --repo-root "$demo/repo" --schema "$src/tools/demo/tac-schema.sql" \
	--http-port "$demo_port" --seed "${TACWS_DEMO_SEED:-1}" --quiet >"$demo/driver.log" 2>&1 &
driver_pid=$!

for ((i = 0; i < 100; i++)); do
	if grep -q "ready" "$demo/driver.log" 2>/dev/null; then
		break
	fi
	if ! kill -0 "$driver_pid" 2>/dev/null; then
		echo "tacws demo: tacws-demo failed to start:" >&2
		cat "$demo/driver.log" >&2
		driver_pid=
		exit 1
	fi
	sleep 0.1
done

# conf/demo.ini with this machine's paths and ports.
sed -e "s|^port = 8003|port = $port|" \
	-e "s|^port = 8002|port = $demo_port|" \
	-e "s|127\.0\.0\.1:8002|127.0.0.1:$demo_port|g" \
	-e "s|^plugin_dir = .*|plugin_dir = $build/plugins|" \
	-e "s|^web_dir = .*|web_dir = $src/web|" \
	-e "s|^repo_root = .*|repo_root = $demo/repo|" \
	-e "s|^path = .*QC_METRICS_ENHANCED.json|path = $demo/repo/QC_METRICS_ENHANCED.json|" \
	-e "s|^database = sqlite:db/database.db|database = sqlite:$demo/repo/db/database.db|" \
	"$src/conf/demo.ini" >"$demo/tacwsd.ini"

echo "tacws demo: data in $demo/repo, services on http://127.0.0.1:$demo_port/, config $demo/tacwsd.ini"
if [[ $nodes == 1 ]]; then
	echo "tacws demo: open http://127.0.0.1:$port/ in a browser"
	"$tacwsd" --config "$demo/tacwsd.ini"
	exit
fi

# The cluster: a throwaway redis-server (no persistence) and three nodes, each the demo's
# config with its own port and node_id and the same [cluster] section.
if ! command -v redis-server >/dev/null; then
	echo "tacws demo: --cluster needs redis-server (tools/install-deps.sh installs it)" >&2
	exit 1
fi
redis_port=$(free_port "${TACWS_DEMO_REDIS_PORT:-6390}")
redis_url=$("$src/tests/support/redis_server.sh" start "$redis_dir" "$redis_port")
redis_started=1
ports=("$port")
for i in 1 2; do
	ports+=("$(free_port $((${ports[-1]} + 1)))")
	if [[ ${ports[-1]} == "$demo_port" ]]; then
		ports[-1]=$(free_port $((demo_port + 1)))
	fi
done
for i in 0 1 2; do
	ini=$demo/tacwsd-node$i.ini
	sed -e "s|^port = $port\$|port = ${ports[$i]}|" "$demo/tacwsd.ini" >"$ini"
	printf '\n[cluster]\nredis = %s\nnode_id = demo-node%s\n' "$redis_url" "$i" >>"$ini"
	"$tacwsd" --config "$ini" >"$demo/tacwsd-node$i.log" 2>&1 &
	node_pids+=($!)
done
echo "tacws demo: three nodes on one redis-server ($redis_url), configs and logs $demo/tacwsd-node{0,1,2}.{ini,log}"
echo "tacws demo: open http://127.0.0.1:${ports[0]}/, http://127.0.0.1:${ports[1]}/ or http://127.0.0.1:${ports[2]}/ in a browser"
# Until Ctrl-C, or until a node stops.
wait -n "${node_pids[@]}"
