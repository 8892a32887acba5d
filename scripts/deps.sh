#!/usr/bin/env bash
# Installs what the test suite needs when it is missing: Debian's Chromium for
# the browser tests, Node.js with the pinned npm packages (e2e/node) used as
# real clients, php-cli and Debian's symfony/mercure (the PHP Mercure
# library) for the PHP examples, nginx for the reverse-proxy test of
# deploy/nginx.conf, redis-server for the cluster tests (each test starts its
# own on a free port; the package's service is not used), podman to build and
# run deploy/Dockerfile's image, and h2spec (with go install). Safe to run again; does nothing when all is
# present.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
command -v php >/dev/null 2>&1 || need+=(php-cli)
[ -f /usr/share/php/Symfony/Component/Mercure/autoload.php ] || need+=(php-symfony-mercure)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
# podman builds and runs deploy/Dockerfile's image (e2e/container_test.go);
# runc runs it where crun cannot (cgroups v1/v2 hybrids); debootstrap makes
# the build stage's base image when no registry is reachable.
command -v podman >/dev/null 2>&1 || need+=(podman)
command -v runc >/dev/null 2>&1 || [ -x /usr/sbin/runc ] || need+=(runc)
command -v debootstrap >/dev/null 2>&1 || [ -x /usr/sbin/debootstrap ] || need+=(debootstrap)
# slirp4netns publishes the container's port in user space (the default
# bridge would leave NAT rules, and connection tracking, on the host).
command -v slirp4netns >/dev/null 2>&1 || need+=(slirp4netns)

if [ ${#need[@]} -gt 0 ]; then
  echo "deps: installing ${need[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# npm packages, at the versions package-lock.json pins.
lock=e2e/node/package-lock.json
stamp=e2e/node/node_modules/.ssehub-lock
if [ ! -f "$stamp" ] || ! cmp -s "$lock" "$stamp"; then
  echo "deps: npm ci in e2e/node" >&2
  npm ci --prefix e2e/node --no-audit --no-fund --loglevel=error
  cp "$lock" "$stamp"
fi

# h2spec, the HTTP/2 conformance suite the hub's own HTTP/2 is run against
# (internal/stream/h2spec_test.go), pinned, into Go's bin directory.
h2spec_version=v2.2.1+incompatible
if ! go version -m "$(go env GOPATH)/bin/h2spec" 2>/dev/null | grep -q "$h2spec_version"; then
  echo "deps: go install h2spec@$h2spec_version" >&2
  go install "github.com/summerwind/h2spec/cmd/h2spec@$h2spec_version"
fi

# The base image of deploy/Dockerfile's build stage, for the container test.
PATH=$PATH:/usr/sbin scripts/golang-image.sh
