package stream

import (
	"errors"
	"math/rand/v2"

	"github.com/ssehub/ssehub/internal/hub"
	"github.com/ssehub/ssehub/internal/sse"
)

// Spreading reconnections after a shutdown (or a rebase, see goingAway):
// every stream ends at the same moment, and every browser would come back Retry milliseconds later, all
// at once, to a hub just started (or to the other nodes), each with a
// replay to serve. A stream that ends because the hub closes therefore
// first tells its client a reconnection time of its own, Retry plus a
// random part of ReconnectSpread (EventSource applies a retry field at
// once, without an event).

// farewell appends to dst the retry a stream sends before it ends because
// the hub is going away; nothing when ReconnectSpread is 0.
func (e *Engine) farewell(dst []byte) []byte {
	spread := e.cfg.ReconnectSpread.Milliseconds()
	if spread <= 0 {
		return dst
	}
	return sse.AppendRetry(dst, e.cfg.Retry+int(rand.Int64N(spread+1)))
}

// goingAway reports whether a stream ending for err ends with every other
// stream of the hub, rather than for its subscriber's sake: a graceful
// shutdown, or the hub moving to another history (in a cluster, every
// node at once).
func goingAway(err error) bool {
	return errors.Is(err, hub.ErrClosed) || errors.Is(err, errShutdown) || errors.Is(err, hub.ErrRebased)
}
