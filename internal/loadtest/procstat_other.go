//go:build !unix

package loadtest

import "time"

// selfCPU is not measured on this system: 0.
func selfCPU() time.Duration { return 0 }

// raiseFileLimit does nothing on this system, which has no such limit.
func raiseFileLimit() (uint64, error) { return 0, nil }
