#!/bin/sh
# build.sh builds dist/ssehub.js (one minified ES module) from src/ with the
# esbuild pinned in e2e/node/package.json, and its type declarations
# (dist/types/*.d.ts) with the TypeScript compiler pinned there, which
# type-checks src/ strictly on the way. The output is committed (the hub
# embeds ssehub.js); this package's tests fail when it differs from this
# build.
# Usage: build.sh [outdir]   (default dist)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bin=$here/../../e2e/node/node_modules/.bin
esbuild=${ESBUILD:-$bin/esbuild}
tsc=${TSC:-$bin/tsc}
out=${1:-$here/dist}
version=$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$here/package.json")
"$esbuild" "$here/src/index.ts" --bundle --format=esm --minify --target=es2022 "--define:__VERSION__=\"$version\"" \
	--log-level=warning "--banner:js=/*! @ssehub/client $version | MIT | https://github.com/ssehub/ssehub */" \
	"--outfile=$out/ssehub.js"
rm -rf "$out/types"
"$tsc" -p "$here/tsconfig.json" --outDir "$out/types"
