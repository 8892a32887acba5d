#!/usr/bin/env bash
# HTTP/2 over TLS, head to head (docs/benchmarks.md, "The hub's own
# HTTP/2"): runs one load-tool workload against a fresh hub serving TLS on
# 127.0.0.1:18600 and prints the tool's JSON line. HUB is one of
#   ssehub          the hub's own HTTP/2 (the default, -h2-takeover)
#   ssehub-nethttp  net/http's HTTP/2 (-h2-takeover=false)
#   ssehub-h1       HTTP/1.1 over TLS (the tool without -h2)
#   mercure         Mercure 0.24's library hub (bench/mercure) with net/http's HTTP/2
#   centrifugo      Centrifugo 6.9's uni_sse transport (bench/centrifugo) over its TLS
#
#   openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /tmp/tls.key \
#     -out /tmp/tls.crt -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1
#   go build -o /tmp/a-ssehub ./cmd/ssehub && go build -o /tmp/a-bench ./cmd/ssehub-bench
#   (cd bench/mercure && GOFLAGS=-mod=mod GOSUMDB=off go build -o /tmp/mercure-hub .)
#   go install github.com/centrifugal/centrifugo/v6@v6.9.1
#   bench/h2.sh ssehub -subscribers 1000 -events 1000 -publishers 8
#
# usage: h2.sh HUB <bench flags...>
set -u
hub=$1; shift
dir=$(cd "$(dirname "$0")" && pwd)
out=${OUT:-/tmp}
cert=${CERT:-/tmp/tls.crt} key=${KEY:-/tmp/tls.key}
export MERCURE_JWT_KEY='a-long-random-secret-of-at-least-32-bytes-for-bench'
b64() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
header=$(printf '{"alg":"HS256","typ":"JWT"}' | b64)
payload=$(printf '{"mercure":{"publish":["*"],"subscribe":["*"]}}' | b64)
token="$header.$payload.$(printf '%s.%s' "$header" "$payload" | openssl dgst -sha256 -hmac "$MERCURE_JWT_KEY" -binary | b64)"
flags=(-url https://127.0.0.1:18600/.well-known/mercure -h2)
ssehub=(${SSEHUB:-/tmp/a-ssehub} -addr 127.0.0.1:18600 -tls-cert "$cert" -tls-key "$key" -data-dir "$out/data"
  -log-level warn -publish-rate 0 -max-connections-per-ip 0)
rm -rf "$out/data"
case $hub in
ssehub) "${ssehub[@]}" 2>"$out/hub.log" & pid=$! ;;
ssehub-nethttp) "${ssehub[@]}" -h2-takeover=false 2>"$out/hub.log" & pid=$! ;;
ssehub-h1) "${ssehub[@]}" 2>"$out/hub.log" & pid=$!; flags=(-url https://127.0.0.1:18600/.well-known/mercure) ;;
mercure)
  ${MERCURE_HUB:-/tmp/mercure-hub} -addr 127.0.0.1:18600 -cert "$cert" -key "$key" 2>"$out/hub.log" & pid=$!
  flags+=(-jwt "$token") ;;
centrifugo)
  sed "s#CERT#$cert#; s#KEY#$key#" "$dir/centrifugo/config-tls.json" >"$out/centrifugo-tls.json"
  ${CENTRIFUGO:-$(go env GOPATH)/bin/centrifugo} --config "$out/centrifugo-tls.json" 2>"$out/hub.log" & pid=$!
  flags=(-protocol centrifugo -url https://127.0.0.1:18600 -jwt bench-api-key -h2) ;;
*) echo "h2.sh: unknown hub $hub" >&2; exit 2 ;;
esac
sleep 1
load=$(cut -d' ' -f1 /proc/loadavg)
line=$(${BENCH:-/tmp/a-bench} "${flags[@]}" -server-pid $pid -json "$@" 2>"$out/bench.err" | tail -1)
kill $pid; wait $pid 2>/dev/null
echo "$hub load=$load $* :: $line"
