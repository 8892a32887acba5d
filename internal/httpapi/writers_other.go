//go:build !linux

package httpapi

// writer is one of the pool's goroutines. Elsewhere than on Linux it has
// no write that never waits, so every stream is written by a goroutine of
// its own.
type writer struct{}

func newWriter() *writer { return &writer{} }

// write leaves the stream to a goroutine of its own.
func (w *writer) write(*leanStream) error { return errWouldBlock }
