//go:build !unix

package app

// openFileLimit reports that this system has no limit of open files to
// derive -max-connections from.
func openFileLimit() (uint64, bool) { return 0, false }
