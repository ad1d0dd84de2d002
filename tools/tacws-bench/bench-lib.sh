# Sourced by the benchmark scripts: what they share.
# bench_ini PORT PLUGIN_DIR REPO_ROOT TOKEN prints tacwsd's INI: loopback on PORT, limits
# raised for many subscribers, the publish token, and the workflows feed on REPO_ROOT
# polled once a minute (the benchmarks publish; they do not wait for polls).
bench_ini() {
	cat <<INI
[server]
listen = 127.0.0.1
port = $1
plugin_dir = $2
web_dir =
workers = 2
max_connections = 100000
ping_interval_s = 30
send_queue_bytes = 1048576
log_level = warn
[auth]
publish_token = $4
[sources]
repo_root = $3
[feed.workflows]
plugin = workflows
interval_ms = 60000
INI
}

# bench_wait_port PORT: waits (10 s at most) until GET /healthz on 127.0.0.1:PORT answers.
bench_wait_port() {
	for _ in $(seq 100); do
		curl -sf --max-time 2 -o /dev/null "http://127.0.0.1:$1/healthz" && return 0
		sleep 0.1
	done
	echo "server on port $1 did not come up" >&2
	return 1
}

# bench_agents REPO_ROOT N: N workflow runs in REPO_ROOT/agents (adw_state.json each, every
# third one past build), so the workflows feed's snapshot is about 118 bytes per run: 290
# runs give 34 KB, the size of the demo's workflow-history snapshot (docs/BENCHMARKS.md).
bench_agents() {
	local i id
	for i in $(seq "$2"); do
		id=$(printf 'b%07x' "$i")
		mkdir -p "$1/agents/$id"
		[ $((i % 3)) = 0 ] && mkdir -p "$1/agents/$id/adw_build_iso"
		printf '{"adw_id":"%s","issue_number":%d,"github_url":"https://github.com/acme/tac-demo/issues/%d"}\n' \
			"$id" $((1000 + i)) $((1000 + i)) >"$1/agents/$id/adw_state.json"
	done
}
