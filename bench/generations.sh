#!/usr/bin/env bash
# One run of the load tool's generations mode (docs/loadtest.md) against a
# freshly started ssehub: COUNT generations of the simulated model at 20
# tokens per second, started over 10 s, up to 300 tokens each; history
# durable in a fresh temporary directory, or in memory. Prints the load
# average before the run, then the tool's table and JSON line.
#
#   go build -o /tmp/ssehub ./cmd/ssehub
#   go build -o /tmp/ssehub-bench ./cmd/ssehub-bench
#   bench/generations.sh /tmp/ssehub /tmp/ssehub-bench 1000 durable
#   bench/generations.sh /tmp/ssehub /tmp/ssehub-bench 5000 memory -timeout 90s
#
# Only loopback; the port is ${PORT:-18540}. SSEHUB_FLAGS adds flags to
# the server (for example "-pprof -llm-max-lateness 0"). UPSTREAM=path of
# a bench/upstream build has the tokens come from it instead of the
# simulated model (on port ${UPSTREAM_PORT:-18560}); its CPU is printed
# after the run.
#
# usage: generations.sh SSEHUB TOOL COUNT durable|memory [TOOL-FLAGS...]
set -eu
server=$1 tool=$2 count=$3 history=$4
shift 4
port=${PORT:-18540}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
data="$dir/data"
[ "$history" = memory ] && data=""
echo "# $(date -u +%FT%TZ) $(uptime)"
upstream_flags=""
if [ -n "${UPSTREAM:-}" ]; then
  up_port=${UPSTREAM_PORT:-18560}
  "$UPSTREAM" -addr "127.0.0.1:$up_port" -tokens-per-second 20 -max-tokens 300 2>"$dir/upstream.log" &
  up=$!
  upstream_flags="-llm-base-url http://127.0.0.1:$up_port/v1 -llm-api-key unused -llm-model upstream"
fi
"$server" -addr "127.0.0.1:$port" -data-dir "$data" -log-level error \
  -llm-max-running 6000 -llm-max-running-per-client 0 -sim-tokens-per-second 20 \
  -publish-rate 0 -max-connections-per-ip 0 $upstream_flags ${SSEHUB_FLAGS:-} 2>"$dir/server.log" &
pid=$!
sleep 0.5
"$tool" -mode generations -url "http://127.0.0.1:$port" -server-pid "$pid" \
  -generations "$count" -ramp 10s -tokens-per-second 20 -max-tokens 300 -timeout 120s "$@" || true
kill "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
if [ -n "${up:-}" ]; then
  read -r -a stat <"/proc/$up/stat"
  echo "# upstream CPU: $(( (stat[13] + stat[14]) * 1000 / $(getconf CLK_TCK) )) ms"
  kill "$up" 2>/dev/null || true
  wait "$up" 2>/dev/null || true
fi
