//go:build !linux || portable

// This is the stream path of the systems other than Linux. With the build
// tag portable, Linux builds it too, so that its tests run here (make test).

package stream

import "net"

// writer is one of the pool's goroutines. Elsewhere than on Linux it has
// no write that never waits, so every stream is written by a goroutine of
// its own.
type writer struct {
	tally *tally // where it counts what it writes
}

func newWriter(t *tally) *writer { return &writer{tally: t} }

// PooledStreams is false: every stream that writes has a goroutine of its
// own, and every stream a reader goroutine.
const PooledStreams = false

// scratch is nil: the stream's bytes go to an array of its own, as its
// own goroutine writes them.
func (w *writer) scratch() *net.Buffers { return nil }

// write leaves the stream to a goroutine of its own.
func (w *writer) write(*leanStream) error { return errWouldBlock }

// interrupt closes the connection, which fails a write or read waiting on
// it: elsewhere than on Linux no pool writer writes to its descriptor.
func (s *leanStream) interrupt() { _ = s.conn.Close() }

// sendNow leaves b to the connection's flusher: the engine serves no
// HTTP/2 connection here (see Engine.servesH2).
func (c *h2Conn) sendNow([]byte) (int, error) { return 0, nil }
