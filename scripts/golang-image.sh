#!/usr/bin/env bash
# Makes sure podman has the build stage's base image of deploy/Dockerfile
# (golang:1.26), for e2e/container_test.go. It pulls the official image; on a
# machine that reaches no registry it builds a stand-in of the same kind
# instead: Debian (debootstrap, from the apt mirror) with this machine's Go
# 1.26 toolchain and its CA certificates (so that `go mod download` trusts
# the same proxies this machine does). Safe to run again; does nothing when
# the image is there.
set -euo pipefail

image=docker.io/library/golang:1.26
podman image exists "$image" && exit 0
if timeout 120 podman pull -q "$image" >/dev/null 2>&1; then
  exit 0
fi

goroot=$(go env GOROOT)
case "$(go env GOVERSION)" in
  go1.26*) ;;
  *) echo "golang-image: need Go 1.26 for the stand-in of $image, have $(go env GOVERSION)" >&2; exit 1 ;;
esac
mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
mirror=${mirror:-http://deb.debian.org/debian}

echo "golang-image: no registry; building a stand-in $image (Debian bookworm + $(go env GOVERSION))" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
root=$(mktemp -d)
trap '$sudo rm -rf "$root"' EXIT
$sudo debootstrap --variant=minbase --include=ca-certificates bookworm "$root" "$mirror" >/dev/null
$sudo cp -a "$goroot" "$root/usr/local/go"
$sudo mkdir -p "$root/go"
$sudo cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
$sudo tar -C "$root" -c . | podman import -q \
  --change 'ENV PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV GOPATH=/go' \
  --change 'ENV GOTOOLCHAIN=local' \
  --change 'WORKDIR /go' \
  - "$image" >/dev/null
