#!/usr/bin/env bash
# Alternating A/B runs of the load tool (docs/benchmarks.md): each round runs
# every SERVER:TOOL pair once, in turn, each time against a fresh ssehub with
# a fresh data directory, so that the host's own swings spread over all pairs
# alike. Prints one line per run with the figures the comparisons quote.
#
#   go build -o /tmp/old-ssehub ./cmd/ssehub   # at the commit before
#   go build -o /tmp/new-ssehub ./cmd/ssehub   # at the change
#   go build -o /tmp/bench ./cmd/ssehub-bench
#   bench/alternate.sh 4 /tmp/old-ssehub:/tmp/bench /tmp/new-ssehub:/tmp/bench -- \
#     -subscribers 1000 -events 1000 -rate 50
#
# A SERVER may be a wrapper script (to set environment variables or flags);
# it gets ssehub's flags as arguments. Only loopback; the port is
# ${PORT:-18520}. SCHEME=https for a SERVER wrapper that adds -tls-cert and
# -tls-key.
#
# usage: alternate.sh ROUNDS SERVER:TOOL... -- TOOL-FLAGS...
set -eu
rounds=$1; shift
pairs=()
while [ "$1" != "--" ]; do pairs+=("$1"); shift; done
shift
port=${PORT:-18520}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
for _ in $(seq "$rounds"); do
  for pair in "${pairs[@]}"; do
    server=${pair%%:*} tool=${pair##*:}
    rm -rf "$dir/data"
    "$server" -addr "127.0.0.1:$port" -data-dir "$dir/data" -log-level error \
      -publish-rate 0 -max-connections-per-ip 0 2>"$dir/server.log" &
    pid=$!
    sleep 0.5
    line=$("$tool" -url "${SCHEME:-http}://127.0.0.1:$port/.well-known/mercure" -server-pid "$pid" -json "$@" | tail -1) || true
    kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
    printf '%s %s\n' "$(basename "$server")+$(basename "$tool")" "$(printf '%s' "$line" | python3 -c '
import json, sys
try:
    d = json.load(sys.stdin)
except ValueError:
    print("no result (see the tool'"'"'s stderr)"); sys.exit()
f = lambda k: d.get(k, "-")
print("deliveries/s %s p50 %s p99 %s ms arrival p50 %s p99 %s ms publish p99 %s ms server CPU %s s tool CPU %s s lost %s" % (
    f("deliveries_per_s"), f("p50_ms"), f("p99_ms"), f("arrival_p50_ms"), f("arrival_p99_ms"),
    f("publish_p99_ms"), f("server_cpu_s"), f("bench_cpu_s"), f("lost"))
    + (" rss/conn %s KiB" % d["rss_per_conn_kib"] if d.get("rss_per_conn_kib") else "")
    + (" steal %s s" % d["host_steal_s"] if d.get("host_steal_s") else "")
    + (" CONNTRACK %s" % d["host_conntrack_entries"] if d.get("host_conntrack_entries", 0) >= d.get("connections", 1) else ""))')"
  done
done
