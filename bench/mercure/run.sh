#!/usr/bin/env bash
# Head to head with Mercure (docs/benchmarks.md, "Head to head"): runs one
# load-tool workload against a fresh ssehub or a fresh Mercure 0.24 library
# hub (main.go here) on 127.0.0.1:18600 and prints the tool's JSON line.
#
#   (cd bench/mercure && GOFLAGS=-mod=mod GOSUMDB=off go build -o /tmp/mercure-hub .)
#   go build -o /tmp/a-ssehub ./cmd/ssehub && go build -o /tmp/a-bench ./cmd/ssehub-bench
#   ulimit -n 20000
#   bench/mercure/run.sh ssehub  -subscribers 1000 -events 1000 -publishers 8
#   bench/mercure/run.sh mercure -subscribers 1000 -events 1000 -publishers 8
#
# usage: run.sh ssehub|mercure <bench flags...>
set -u
hub=$1; shift
export MERCURE_JWT_KEY='a-long-random-secret-of-at-least-32-bytes-for-bench'
b64() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
header=$(printf '{"alg":"HS256","typ":"JWT"}' | b64)
payload=$(printf '{"mercure":{"publish":["*"],"subscribe":["*"]}}' | b64)
sig=$(printf '%s.%s' "$header" "$payload" | openssl dgst -sha256 -hmac "$MERCURE_JWT_KEY" -binary | b64)
TOKEN="$header.$payload.$sig"
rm -rf ${OUT:-/tmp}/data
if [ "$hub" = mercure ]; then
  ${MERCURE_HUB:-/tmp/mercure-hub} -addr 127.0.0.1:18600 2>${OUT:-/tmp}/hub.log & pid=$!
else
  ${SSEHUB:-/tmp/a-ssehub} -addr 127.0.0.1:18600 -data-dir ${OUT:-/tmp}/data -log-level warn -publish-rate 0 -max-connections-per-ip 0 2>${OUT:-/tmp}/hub.log & pid=$!
fi
sleep 1
load=$(cut -d' ' -f1 /proc/loadavg)
out=$(${BENCH:-/tmp/a-bench} -url http://127.0.0.1:18600/.well-known/mercure -server-pid $pid -jwt "$TOKEN" -json "$@" 2>${OUT:-/tmp}/bench.err | tail -1)
kill $pid; wait $pid 2>/dev/null
echo "$hub load=$load $* :: $out"
