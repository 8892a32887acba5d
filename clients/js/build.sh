#!/bin/sh
# build.sh builds dist/ssehub.js (one minified ES module) from src/ with the
# esbuild pinned in e2e/node/package.json. The output is committed (the hub
# embeds it); internal/jsclient's tests fail when it differs from this build.
# Usage: build.sh [outfile]   (default dist/ssehub.js)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
esbuild=${ESBUILD:-$here/../../e2e/node/node_modules/.bin/esbuild}
version=$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$here/package.json")
exec "$esbuild" "$here/src/index.ts" --bundle --format=esm --minify --target=es2022 \
	--log-level=warning "--banner:js=/*! @ssehub/client $version | MIT | https://github.com/ssehub/ssehub */" \
	"--outfile=${1:-$here/dist/ssehub.js}"
