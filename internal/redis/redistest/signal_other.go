//go:build !unix

package redistest

import "os"

// The signals of Pause and Resume, which need a Unix system: elsewhere
// sending them fails, and the test with it.
var (
	sigStop os.Signal = unsupported("SIGSTOP")
	sigCont os.Signal = unsupported("SIGCONT")
)

type unsupported string

func (u unsupported) String() string { return string(u) }
func (unsupported) Signal()          {}
