#!/usr/bin/env python3
"""Medians of tacws-bench JSON lines, per server: summarize.py FILE.jsonl ...

Prints one markdown row per file and server with the medians of the runs and,
where both servers ran, tacws's CPU per delivery and p99 as a ratio of Node's.
"""
import json
import statistics
import sys


def get(d, path):
    for k in path.split("."):
        if not isinstance(d, dict) or d.get(k) is None:
            return None
        d = d[k]
    return d


FIELDS = [
    ("connected", "connected"),
    ("delivered", "delivered"),
    ("lost", "lost"),
    ("dups", "duplicates"),
    ("µs CPU/delivery", "server_us_per_delivery"),
    ("p50 ms", "latency_ms.p50"),
    ("p99 ms", "latency_ms.p99"),
    ("max ms", "latency_ms.max"),
    ("deliveries/s", "deliveries_per_s"),
    ("RSS peak KB", "server_rss_kb_peak"),
    ("B/conn", "server_rss_bytes_per_conn"),
    ("connect p99 ms", "connect_ms.p99"),
    ("idle CPU %", "idle.server_cpu_pct"),
    ("storm snapshots", "storm.snapshots"),
    ("storm connect p99 ms", "storm.connect_ms.p99"),
    ("storm snapshot p99 ms", "storm.snapshot_ms.p99"),
    ("storm resumed", "storm.resumed"),
    ("storm payload B", "storm.payload_bytes"),
    ("storm rx B", "storm.rx_bytes"),
    ("storm wall s", "storm.wall_s"),
    ("storm CPU s", "storm.server_cpu_s"),
    ("storm sys s", "storm.server_sys_s"),
    ("storm close CPU s", "storm.close_server_cpu_s"),
    ("tool CPU s", "tool_cpu_s"),
]


def median(runs, path):
    vals = [get(r, path) for r in runs]
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def main():
    for name in sys.argv[1:]:
        by_server = {}
        for line in open(name):
            line = line.strip()
            if line.startswith("{"):
                d = json.loads(line)
                by_server.setdefault(d["server"], []).append(d)
        cols = [(t, p) for t, p in FIELDS
                if any(median(r, p) is not None for r in by_server.values())]
        print(f"\n{name} (medians)\n")
        print("| server | runs | " + " | ".join(t for t, _ in cols) + " |")
        print("|---" * (len(cols) + 2) + "|")
        for server, runs in by_server.items():
            cells = []
            for _, p in cols:
                v = median(runs, p)
                cells.append("" if v is None else f"{v}" if isinstance(v, int) else f"{v:.3g}")
            print(f"| {server} | {len(runs)} | " + " | ".join(cells) + " |")
        t, n = by_server.get("tacws"), by_server.get("node")
        if t and n:
            for label, p in (("CPU/delivery", "server_us_per_delivery"), ("p99", "latency_ms.p99")):
                a, b = median(t, p), median(n, p)
                if a is not None and b:
                    print(f"\ntacws/node {label}: {a / b:.2f}")


if __name__ == "__main__":
    main()
