#!/usr/bin/env python3
"""Medians (and ranges) of run-issue15.sh's JSON lines.

    tools/tacws-bench/summarize-issue15.py OUT_DIR
"""
import json
import os
import statistics
import sys


def load(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.startswith("{")]


def med(vals):
    vals = [v for v in vals if v is not None]
    if not vals:
        return "-"
    m = statistics.median(vals)
    return f"{m:.2f} ({min(vals):.2f}-{max(vals):.2f}, n={len(vals)})"


def main():
    out = sys.argv[1]
    for size in ("1k", "10k"):
        for kind in ("plain", "deflate"):
            rows = load(os.path.join(out, f"publish-{size}-{kind}.jsonl"))
            for server in sorted({r["server"] for r in rows}):
                rs = [r for r in rows if r["server"] == server]
                wire = [r.get("wire_bytes_per_delivery") or r.get("frame_bytes") for r in rs]
                print(f"publish {size} {kind} {server}: us/delivery {med([r.get('server_us_per_delivery') for r in rs])}"
                      f" | B/conn {med([r.get('server_rss_bytes_per_conn') for r in rs])}"
                      f" | wire B {med(wire)} | p99 ms {med([r['latency_ms']['p99'] for r in rs])}"
                      f" | lost {[r['lost'] for r in rs]}")
    for subs in ("1000", "10000"):
        rows = load(os.path.join(out, f"feed-{subs}.jsonl"))
        for mode in ("plain", "once", "delta", "once-delta"):
            rs = [r for r in rows if r.get("mode") == mode]
            if not rs:
                continue
            idle = [r["idle"] for r in rs]
            print(f"feed {subs} {mode}: us/update {med([i.get('server_us_per_update') for i in idle])}"
                  f" | B/conn {med([r.get('server_rss_bytes_per_conn') for r in rs])}"
                  f" | wire B/update {med([i['wire_bytes_per_update'] for i in idle])}"
                  f" | updates {[i['updates'] for i in idle]} deltas {[i['update_deltas'] for i in idle]}"
                  f" | connected {[r['connected'] for r in rs]}")


if __name__ == "__main__":
    main()
