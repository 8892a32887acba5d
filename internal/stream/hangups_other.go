//go:build !linux || portable

package stream

import "log/slog"

// hangups would watch the streams' connections for their clients leaving;
// elsewhere than on Linux every stream has a reader goroutine instead.
type hangups struct{}

// run does nothing.
func (*hangups) run(*slog.Logger) {}

// watch reports false: s needs a reader goroutine.
func (*hangups) watch(*leanStream) bool { return false }

// forget does nothing.
func (*hangups) forget(*leanStream) {}

// close does nothing.
func (*hangups) close() {}

// watchConn reports false: the engine serves no HTTP/2 connection here.
func (*hangups) watchConn(*h2Conn) bool { return false }

// forgetConn does nothing.
func (*hangups) forgetConn(*h2Conn) {}

// readNow is not used here (see sealConn.nonblock).
func (c *sealConn) readNow(b []byte) (int, error) { return c.TCPConn.Read(b) }
