#!/usr/bin/env bash
# The reconnect storm of issue #23 (docs/benchmarks.md, "Authorization
# callback: a reconnect storm"), run ROUNDS times for each source tree in
# turn: BenchmarkAuthCallbackStorm (five storms of 10,000 streams, anonymous
# and with the callback), each test binary building the hub of its own tree.
# Prints the load average and the host's steal (centiseconds, /proc/stat)
# around each run, then p50 / p99 / max time to open and the app's calls.
#
#   git worktree add --detach /tmp/old HEAD~3   # a tree to compare with
#   bench/storm.sh 3 /tmp/old .
#
# usage: storm.sh ROUNDS TREE...
set -eu
rounds=$1; shift
bins=()
for tree in "$@"; do
  bin=$(mktemp -d)/e2e.test
  (cd "$tree" && go test -c -o "$bin" ./e2e/)
  bins+=("$bin")
done
steal() { awk '/^cpu /{print $9}' /proc/stat; }
for round in $(seq 1 "$rounds"); do
  for i in "${!bins[@]}"; do
    tree=${*:i+1:1}
    s1=$(steal); load=$(cut -d' ' -f1 /proc/loadavg)
    out=$(cd "$tree/e2e" && "${bins[$i]}" -test.run '^$' -test.bench AuthCallbackStorm -test.benchtime 5x 2>&1 | grep '^Benchmark' || true)
    echo "round $round $tree load $load steal $(( $(steal) - s1 ))cs"
    echo "$out" | awk '{
      for (f = 1; f <= NF; f++) m[$(f+1)] = $f
      printf "  %-10s p50 %s p99 %s max %s ms%s\n", substr($1, index($1, "/") + 1), m["p50-open-ms"], m["p99-open-ms"], m["max-open-ms"], ("app-calls/op" in m) ? " calls " m["app-calls/op"] : ""
      delete m }'
  done
done
