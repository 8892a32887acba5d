//go:build !linux

package loadtest

import "syscall"

// bindNoPort does nothing outside Linux (bind_linux.go).
func bindNoPort(string, string, syscall.RawConn) error { return nil }
