// Package jsclient holds @ssehub/client, the hub's JavaScript client
// (TypeScript sources in src/, built by build.sh into dist/ssehub.js),
// embedded so that the hub serves it at /ssehub.js and a page can
// `import { Hub } from "/ssehub.js"` with no build step and no Node.
package jsclient

import (
	_ "embed"
	"regexp"
)

// Source is dist/ssehub.js, the built client: one minified ES module
// whose first line is a comment naming the package and its version.
//
//go:embed dist/ssehub.js
var Source []byte

// Version is the client's version, read from Source's first line.
var Version = versionOf(Source)

var versionComment = regexp.MustCompile(`^/\*! @ssehub/client (\S+) `)

func versionOf(src []byte) string {
	if m := versionComment.FindSubmatch(src); m != nil {
		return string(m[1])
	}
	return ""
}
