//go:build unix

package redistest

import "syscall"

// The signals that freeze and thaw a process.
const (
	sigStop = syscall.SIGSTOP
	sigCont = syscall.SIGCONT
)
