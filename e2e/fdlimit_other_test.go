//go:build !unix

package e2e

import "math"

// openFileLimit returns the process's limit of open files: unknown here.
func openFileLimit() uint64 { return math.MaxUint64 }
