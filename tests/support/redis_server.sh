#!/bin/sh
# Starts or stops a throwaway redis-server for the tests.
#   redis_server.sh start DIR PORT   start one on 127.0.0.1:PORT with DIR as its folder,
#                                    no persistence; its PID goes to DIR/redis.pid
#   redis_server.sh stop DIR         stop that server (by its PID, no other)
# Exits non-zero when redis-server is not installed, so the tests that need it fail.
set -eu

cmd=${1:-}
dir=${2:-}
port=${3:-26379}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop DIR [PORT]" >&2; exit 2; }
server=${TACWS_REDIS_SERVER:-$(command -v redis-server || true)}
if [ -z "$server" ]; then
	echo "redis_server.sh: redis-server not found (install the redis-server package)" >&2
	exit 1
fi

stop_pid() {
	[ -f "$dir/redis.pid" ] || return 0
	pid=$(cat "$dir/redis.pid")
	# Only our own server: the PID from our folder, still a redis process.
	if kill -0 "$pid" 2>/dev/null && grep -q redis "/proc/$pid/cmdline" 2>/dev/null; then
		kill "$pid"
		i=0
		while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
		kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
	fi
	rm -f "$dir/redis.pid"
}

case "$cmd" in
start)
	mkdir -p "$dir"
	stop_pid # one left by an aborted run
	cat >"$dir/redis.conf" <<CONF
bind 127.0.0.1
port $port
dir $dir
daemonize yes
pidfile $dir/redis.pid
logfile $dir/redis.log
save ""
appendonly no
protected-mode yes
CONF
	"$server" "$dir/redis.conf"
	i=0
	until [ -f "$dir/redis.pid" ] && redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null | grep -q PONG; do
		i=$((i + 1))
		if [ $i -gt 100 ]; then cat "$dir/redis.log" >&2; exit 1; fi
		sleep 0.1
	done
	echo "redis://127.0.0.1:$port"
	;;
stop)
	stop_pid
	;;
*)
	echo "usage: $0 start|stop DIR [PORT]" >&2
	exit 2
	;;
esac
