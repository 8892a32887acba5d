#!/usr/bin/env bash
# Head to head with Centrifugo (docs/benchmarks.md, "Against Centrifugo"):
# runs one load-tool workload against a fresh ssehub or a fresh Centrifugo
# 6.9 (its unidirectional SSE transport, in-memory engine, config.json here)
# on 127.0.0.1:18600 and prints the tool's JSON line.
#
#   go install github.com/centrifugal/centrifugo/v6@v6.9.1   # into $(go env GOPATH)/bin
#   go build -o /tmp/a-ssehub ./cmd/ssehub && go build -o /tmp/a-bench ./cmd/ssehub-bench
#   ulimit -n 20000
#   bench/centrifugo/run.sh ssehub     -subscribers 1000 -events 1000 -rate 50
#   bench/centrifugo/run.sh centrifugo -subscribers 1000 -events 1000 -rate 50
#
# Centrifugo runs with client.insecure (anonymous connections that may
# subscribe themselves, as the tool's subscribers do in their connect
# request) and the HTTP API key the tool publishes with.
#
# usage: run.sh ssehub|centrifugo <bench flags...>
set -u
hub=$1; shift
dir=$(cd "$(dirname "$0")" && pwd)
out=${OUT:-/tmp}
rm -rf "$out/data"
if [ "$hub" = centrifugo ]; then
  ${CENTRIFUGO:-$(go env GOPATH)/bin/centrifugo} --config "$dir/config.json" 2>"$out/hub.log" & pid=$!
  flags=(-protocol centrifugo -url http://127.0.0.1:18600 -jwt bench-api-key)
else
  ${SSEHUB:-/tmp/a-ssehub} -addr 127.0.0.1:18600 -data-dir "$out/data" -log-level warn -publish-rate 0 -max-connections-per-ip 0 2>"$out/hub.log" & pid=$!
  flags=(-url http://127.0.0.1:18600/.well-known/mercure)
fi
sleep 1
load=$(cut -d' ' -f1 /proc/loadavg)
line=$(${BENCH:-/tmp/a-bench} "${flags[@]}" -server-pid $pid -json "$@" 2>"$out/bench.err" | tail -1)
kill $pid; wait $pid 2>/dev/null
echo "$hub load=$load $* :: $line"
