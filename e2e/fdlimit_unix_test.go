//go:build unix

package e2e

import "syscall"

// openFileLimit returns the process's limit of open files (Go raises the
// soft limit to the hard one at startup).
func openFileLimit() uint64 {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0
	}
	return uint64(rl.Cur) // int64 on some systems
}
