#!/usr/bin/env bash
# Issue 15's CPU and memory matrix, in one session, runs interleaved:
#   publish-driven (run-compare.sh, 2 KiB JSON-like messages, 10/s, 100 messages):
#     tacws plain, tacws compress-once, Node plain, Node perMessageDeflate
#   feed-driven (run-feed-changes.sh, a 2 KB polled feed changing 10 times a second):
#     tacws plain, compress-once, deltas, compress-once with deltas
# at 1,000 and 10,000 subscribers, RUNS times each. JSON lines go to OUT_DIR/*.jsonl;
# tools/tacws-bench/summarize-issue15.py OUT_DIR prints the medians.
#
#   NODE_PATH=<dir with ws> BUILD=build/rel tools/tacws-bench/run-issue15.sh OUT_DIR [RUNS] [PARTS]
#   PARTS: any of "publish feed node-deflate-10k" (default: all three; node-deflate-10k is
#   Node perMessageDeflate at 10,000 subscribers, several minutes a run)
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
out=${1:?OUT_DIR}
runs=${2:-3}
parts=${3:-publish feed node-deflate-10k}
mkdir -p "$out"
for _ in $(seq "$runs"); do
	if [[ " $parts " == *" publish "* ]]; then
		tools/tacws-bench/run-compare.sh deflate-baseline 1 >>"$out/publish-1k-plain.jsonl"
		tools/tacws-bench/run-compare.sh deflate 1 >>"$out/publish-1k-deflate.jsonl"
		tools/tacws-bench/run-compare.sh deflate-baseline-10k 1 >>"$out/publish-10k-plain.jsonl"
		SERVERS=tacws tools/tacws-bench/run-compare.sh deflate-10k 1 >>"$out/publish-10k-deflate.jsonl"
	fi
	if [[ " $parts " == *" feed "* ]]; then
		for subs in 1000 10000; do
			for mode in plain once delta once-delta; do
				tools/tacws-bench/run-feed-changes.sh "$mode" "$subs" 1 >>"$out/feed-$subs.jsonl"
			done
		done
	fi
done
if [[ " $parts " == *" node-deflate-10k "* ]]; then
	SERVERS=node tools/tacws-bench/run-compare.sh deflate-10k "$runs" >>"$out/publish-10k-deflate.jsonl"
fi
