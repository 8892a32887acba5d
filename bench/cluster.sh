#!/usr/bin/env bash
# One run of the load tool against a fresh cluster: NODES nodes (default 3)
# on a fresh redis-server, all on this machine, and where a clustered
# delivery's cost goes: the nodes' and Redis's CPU, the commands Redis ran
# (INFO commandstats: calls and time per command) and the bytes it took in
# and sent, per published update. With PROFILE=file, a CPU profile of the
# first node over the run is written there. With SCRIPTS=1, each Lua
# script's calls and time per call (from the slow log, set to keep all).
#
# HUB=centrifugo runs Centrifugo's nodes instead (SSEHUB is then the
# centrifugo binary): its Redis engine, history in Redis (HISTORY=N
# publications per channel, default 1000; 0 for none), the tool speaking
# -protocol centrifugo with the API key bench-api-key.
#
# KILL_AFTER=seconds kills the last node (SIGKILL) that long after the tool
# started; give the tool -reconnect and -publish-via N-1 so that its
# subscribers move to the others and the run counts what the cluster lost.
# The killed node's CPU is then not counted.
#
#   go build -o /tmp/ssehub ./cmd/ssehub
#   go build -o /tmp/ssehub-bench ./cmd/ssehub-bench
#   bench/cluster.sh /tmp/ssehub /tmp/ssehub-bench -subscribers 1000 -events 1000 -publishers 8
#   NODES=1 bench/cluster.sh /tmp/ssehub /tmp/ssehub-bench -subscribers 1000 -events 1000 -rate 50
#   HUB=centrifugo bench/cluster.sh "$(go env GOPATH)/bin/centrifugo" /tmp/ssehub-bench -subscribers 1000 -events 1000 -publishers 8
#   KILL_AFTER=2 bench/cluster.sh /tmp/ssehub /tmp/ssehub-bench -subscribers 1000 -events 5000 -rate 1000 -reconnect -publish-via 2
#
# Only loopback; Redis on ${REDIS_PORT:-16379}, nodes from ${PORT:-18701}.
#
# usage: cluster.sh SSEHUB TOOL [TOOL-FLAGS...]
set -eu
server=$1 tool=$2
shift 2
nodes=${NODES:-3} rport=${REDIS_PORT:-16379} port=${PORT:-18701}
dir=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
redis-server --port "$rport" --bind 127.0.0.1 --dir "$dir" --save '' --appendonly no \
  --daemonize no >"$dir/redis.log" 2>&1 &
rpid=$!
pids+=("$rpid")
cli() { redis-cli -p "$rport" "$@"; }
until cli ping >/dev/null 2>&1; do sleep 0.05; done
urls="" spids="" last=""
for i in $(seq 0 $((nodes - 1))); do
  if [ "${HUB:-ssehub}" = centrifugo ]; then
    cat >"$dir/node$i.json" <<JSON
{"http_server": {"address": "127.0.0.1", "port": "$((port + i))"}, "log": {"level": "error"},
 "engine": {"type": "redis", "redis": {"address": ["redis://127.0.0.1:$rport"]}},
 "client": {"insecure": true, "allowed_origins": ["*"]}, "http_api": {"key": "bench-api-key"},
 "channel": {"without_namespace": {"history_size": ${HISTORY:-1000}, "history_ttl": "$([ "${HISTORY:-1000}" = 0 ] && echo 0s || echo 300s)"}},
 "uni_sse": {"enabled": true}, "health": {"enabled": true}}
JSON
    "$server" --config "$dir/node$i.json" 2>"$dir/node$i.log" &
    urls="$urls${urls:+,}http://127.0.0.1:$((port + i))"
  else
    "$server" -addr "127.0.0.1:$((port + i))" -redis "redis://127.0.0.1:$rport/0" -log-level warn \
      -publish-rate 0 -max-connections-per-ip 0 ${PROFILE:+-pprof} 2>"$dir/node$i.log" &
    urls="$urls${urls:+,}http://127.0.0.1:$((port + i))/.well-known/mercure"
  fi
  pids+=("$!")
  last=$!
  if [ -z "${KILL_AFTER:-}" ] || [ "$i" -lt $((nodes - 1)) ]; then spids="$spids${spids:+,}$!"; fi
done
health=/healthz
[ "${HUB:-ssehub}" = centrifugo ] && health=/health
for i in $(seq 0 $((nodes - 1))); do
  until curl -fs "http://127.0.0.1:$((port + i))$health" >/dev/null; do sleep 0.05; done
done
echo "# $(date -u +%FT%TZ) $(uptime) — $nodes nodes on redis $(cli info server | sed -n 's/^redis_version:\(.*\)\r$/\1/p')"
cli config resetstat >/dev/null
[ -n "${SCRIPTS:-}" ] && cli config set slowlog-log-slower-than 0 >/dev/null && cli config set slowlog-max-len 1000000 >/dev/null && cli slowlog reset >/dev/null
cpu() { cli info cpu | sed -n 's/^used_cpu_\(sys\|user\):\([0-9.]*\)\r$/\2/p' | paste -sd+ | bc; }
before=$(cpu)
if [ -n "${PROFILE:-}" ]; then
  curl -fs -o "$PROFILE" "http://127.0.0.1:$port/debug/pprof/profile?seconds=${PROFILE_SECONDS:-10}" &
  prof=$!
fi
protocol=()
[ "${HUB:-ssehub}" = centrifugo ] && protocol=(-protocol centrifugo -jwt bench-api-key)
if [ -n "${KILL_AFTER:-}" ]; then
  (sleep "$KILL_AFTER"; kill -9 "$last"; echo "# killed node $((nodes - 1)) (pid $last) after ${KILL_AFTER}s" >&2) &
fi
"$tool" "${protocol[@]}" -url "$urls" -server-pid "$spids" "$@" || true
[ -n "${PROFILE:-}" ] && wait "$prof"
after=$(cpu)
published=$(cli get "$(cli --scan --pattern '*:count' | head -1)" 2>/dev/null || echo 0)
echo "# redis: $(echo "$after - $before" | bc) s CPU; $published updates in the log"
cli info stats | grep -E '^total_(net_input|net_output)_bytes|^total_commands_processed' | tr -d '\r' |
  while IFS=: read -r k v; do
    printf '#   %s %s (%s per update)\n' "$k" "$v" "$([ "$published" -gt 0 ] && echo "$v / $published" | bc || echo -)"
  done
if [ "${HUB:-ssehub}" = ssehub ] && [ "$published" -gt 0 ]; then
  # What the history holds in Redis: the shared log and the topics' streams.
  mem() { for k in $(cli --scan --pattern "$1"); do cli memory usage "$k" samples 0; done | paste -sd+ | sed 's/^$/0/' | bc; }
  log=$(mem 'ssehub:log') topics=$(mem 'ssehub:t:*')
  echo "# redis memory: log $log B ($((log / published)) per update), topics' streams $topics B ($((topics / published)) per update)"
fi
if [ -n "${SCRIPTS:-}" ]; then
  # Each script's own time (SCRIPTS=1: the slow log keeps every command),
  # by its sha, with a sample call's first arguments to tell them apart.
  cli --json slowlog get 1000000 | python3 -c '
import json, sys
calls = {}
for e in json.load(sys.stdin):
    args = e[3]
    if args and args[0].lower() == "evalsha":
        c = calls.setdefault(args[1], [0, 0, " ".join(args[2:5])])
        c[0] += 1
        c[1] += e[2]
for sha, (n, us, sample) in sorted(calls.items(), key=lambda kv: -kv[1][1]):
    print("#   script %s: %d calls, %.1f µs/call (args: %s ...)" % (sha[:8], n, us / n, sample))
'
fi
echo "# redis commands: calls, µs in all, µs per call, calls per update"
cli info commandstats | tr -d '\r' | sed -n 's/^cmdstat_\([^:]*\):calls=\([0-9]*\),usec=\([0-9]*\),usec_per_call=\([0-9.]*\).*/\1 \2 \3 \4/p' |
  sort -k3 -nr | while read -r c n us per; do
    printf '#   %-12s %9s calls %10s µs %8s µs/call %8s /update\n' "$c" "$n" "$us" "$per" \
      "$([ "$published" -gt 0 ] && echo "scale=2; $n / $published" | bc || echo -)"
  done
