#!/bin/sh
# Starts or stops a throwaway PostgreSQL cluster for the tests.
#   pg_cluster.sh start DIR PORT   initdb DIR (when empty), start it on 127.0.0.1:PORT,
#                                  create database tacws_test (trust auth, loopback only)
#   pg_cluster.sh stop DIR         stop that cluster (pg_ctl stops only its own postmaster)
# Exits non-zero when PostgreSQL is not installed, so the tests that need it fail.
set -eu

cmd=${1:-}
dir=${2:-}
port=${3:-55432}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop DIR [PORT]" >&2; exit 2; }

# TACWS_PG_BINDIR picks the server binaries; else the newest /usr/lib/postgresql/*/bin.
bindir=
for d in ${TACWS_PG_BINDIR:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r)}; do
	if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then bindir=$d; break; fi
done
if [ -z "$bindir" ]; then
	echo "pg_cluster.sh: PostgreSQL not found (install the postgresql package)" >&2
	exit 1
fi

# initdb refuses to run as root: run the server binaries as postgres when we are root.
as_pg() {
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$cmd" in
start)
	mkdir -p "$dir"
	[ "$(id -u)" = 0 ] && chown postgres: "$dir"
	chmod 700 "$dir"
	# A cluster left running by an aborted run is stopped first, so we start clean.
	if [ -f "$dir/data/postmaster.pid" ]; then
		as_pg "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
	fi
	if [ ! -f "$dir/data/PG_VERSION" ]; then
		as_pg "$bindir/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-locale \
			>"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
	fi
	as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
		-o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off" start >/dev/null ||
		{ cat "$dir/server.log" >&2; exit 1; }
	if ! as_pg "$bindir/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -tAq \
		-c "SELECT 1 FROM pg_database WHERE datname = 'tacws_test'" | grep -q 1; then
		as_pg "$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres tacws_test
	fi
	echo "postgresql://postgres@127.0.0.1:$port/tacws_test"
	;;
stop)
	if [ -f "$dir/data/postmaster.pid" ]; then
		as_pg "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null
	fi
	;;
*)
	echo "usage: $0 start|stop DIR [PORT]" >&2
	exit 2
	;;
esac
