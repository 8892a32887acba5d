package loadtest

import (
	"context"
	"errors"
	"io"
	"maps"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// group is a set of subscribers, held in this process (fleet) or in a child
// process (childGroup).
type group interface {
	// connected waits until every subscriber of the group has connected or
	// failed to, and reports how that went.
	connected(ctx context.Context) (Report, error)
	// finish waits until every subscriber has the events expected of its
	// topic (nil: finish now), or none arrived for drain, or until; then it
	// closes the streams and reports what they received, all within ctx.
	finish(ctx context.Context, until time.Time, expected []int64, drain time.Duration) (Report, error)
}

// fleet is a group of subscribers in this process: subscribers first …
// first+count-1 of the run.
type fleet struct {
	cfg     Config
	dial    dialer
	dialers int
	first   int
	count   int

	subs     []*subscriber // the connected ones
	connect  Report        // connection counts and errors
	latency  []latencies   // shards, so that readers on different CPUs rarely share one
	stopping atomic.Bool
	conns    sync.Mutex // held to hand a reconnected stream's conn over, and to close them all
	readers  sync.WaitGroup
	pollers  []*poller // read the plain TCP streams; none: a goroutine per stream
}

func newFleet(cfg Config, ts []target, first, count, dialers int) *fleet {
	f := &fleet{
		cfg:     cfg,
		dial:    newDialer(cfg, ts),
		dialers: dialers,
		first:   first,
		count:   count,
		latency: newShards(),
	}
	if cfg.Reconnect {
		f.dial.reconnect = f.reconnect
	}
	return f
}

// latencies are where a stream's delivery latencies are recorded.
type latencies struct {
	read    *Histogram // publish → the tool read the event
	arrival *Histogram // publish → its bytes reached the socket (kernel receive time)
}

func newLatencies() latencies {
	return latencies{read: NewHistogram(), arrival: NewHistogram()}
}

// latencyShards is the number of histograms a fleet's readers record into:
// a few per CPU, as their counters are updated on every delivery.
var latencyShards = min(4*runtime.GOMAXPROCS(0), 64)

// newShards returns latencyShards empty histograms ready for Record.
func newShards() []latencies {
	hs := make([]latencies, latencyShards)
	for i := range hs {
		hs[i] = newLatencies()
	}
	return hs
}

// connected opens the fleet's streams, at most dialers at a time, and
// starts a reader on each.
func (f *fleet) connected(ctx context.Context) (Report, error) {
	start := time.Now()
	var (
		next atomic.Int64
		mu   sync.Mutex
		wg   sync.WaitGroup
	)
	f.connect = Report{Subscribers: f.count, Errors: map[string]int{}, ConnectedByHub: make([]int, len(f.dial.targets))}
	for range min(f.dialers, f.count) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= f.count {
					return
				}
				s, err := f.dial.open(ctx, f.first+i, f.latency[i%len(f.latency)])
				mu.Lock()
				if err != nil {
					f.connect.Failed++
					hub := hubOf(f.first+i, f.cfg.Topics, len(f.dial.targets))
					addError(f.connect.Errors, hubKind(f.dial.targets, hub, errClass(err)))
				} else {
					f.connect.Connected++
					f.connect.ConnectedByHub[s.hub]++
					f.subs = append(f.subs, s)
					f.startReading(s)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	f.connect.ConnectSeconds = time.Since(start).Seconds()
	return f.connect, nil
}

// startReading hands s to a poller, or else to a goroutine of its own.
// Called with the fleet's connection lock held.
func (f *fleet) startReading(s *subscriber) {
	if s.endedEarly {
		closeNow(s.conn)
		s.stop(io.EOF, false)
		return
	}
	if f.pollers == nil && !f.cfg.NoPoll {
		for range runtime.GOMAXPROCS(0) {
			p, err := newPoller()
			if err != nil {
				break
			}
			f.pollers = append(f.pollers, p)
			f.readers.Go(func() { p.run(f.stopping.Load) })
		}
	}
	if len(f.pollers) > 0 {
		if f.pollers[len(f.subs)%len(f.pollers)].take(s.conn, s) == nil {
			s.conn = nil
			return
		}
	}
	conn := s.conn
	f.readers.Go(func() { readConn(conn, s, f.stopping.Load) })
}

// finish waits for the expected events, closes the streams and reports.
func (f *fleet) finish(ctx context.Context, until time.Time, expected []int64, drain time.Duration) (Report, error) {
	wctx, cancel := context.WithDeadline(ctx, until)
	f.await(wctx, expected, drain)
	cancel()
	f.stopping.Store(true)
	f.conns.Lock()
	for _, s := range f.subs {
		if s.conn != nil {
			closeNow(s.conn)
		}
	}
	f.conns.Unlock()
	for _, p := range f.pollers {
		p.close()
	}
	f.readers.Wait()
	return f.report(expected), nil
}

// await returns when every open stream has its topic's expected events, or
// no event arrived for drain, or ctx ends.
func (f *fleet) await(ctx context.Context, expected []int64, drain time.Duration) {
	if drain <= 0 || expected == nil {
		return
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	quietSince := time.Now()
	for {
		if f.complete(expected) {
			return
		}
		if last := time.Unix(0, f.lastDelivery()); last.After(quietSince) {
			quietSince = last
		}
		if time.Since(quietSince) >= drain {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// complete reports whether every stream still open has all its events.
func (f *fleet) complete(expected []int64) bool {
	for _, s := range f.subs {
		if !s.ended.Load() && s.unique.Load() < expected[s.topic] {
			return false
		}
	}
	return true
}

// lastDelivery returns when the fleet's last delivery arrived (Unix
// nanoseconds), 0 before any.
func (f *fleet) lastDelivery() int64 {
	var last int64
	for _, s := range f.subs {
		last = max(last, s.lastAt.Load())
	}
	return last
}

// report sums up what the fleet's subscribers received; call it once the
// readers have ended.
func (f *fleet) report(expected []int64) Report {
	r := f.connect
	r.Errors = maps.Clone(f.connect.Errors)
	r.ConnectedByHub = slices.Clone(f.connect.ConnectedByHub)
	r.LostByHub = make([]int64, len(f.dial.targets))
	r.Latency = &Histogram{}
	for _, h := range f.latency {
		r.Latency.Merge(h.read)
		mergeOptional(&r.Arrival, h.arrival)
	}
	for _, s := range f.subs {
		if s.firstAt != 0 && (r.FirstDelivery == 0 || s.firstAt < r.FirstDelivery) {
			r.FirstDelivery = s.firstAt
		}
		r.LastDelivery = max(r.LastDelivery, s.lastAt.Load())
		var want int64
		if expected != nil {
			want = expected[s.topic]
		}
		r.Expected += want
		lost := max(0, want-s.unique.Load())
		r.Lost += lost
		r.LostByHub[s.hub] += lost
		r.Delivered += s.delivered
		r.Duplicates += s.duplicates
		r.OutOfOrder += s.outOfOrder
		r.Foreign += s.foreign
		r.Reconnects += s.reconnects
		if s.err != nil {
			r.StreamErrors++
			addError(r.Errors, hubKind(f.dial.targets, s.hub, errClass(s.err)))
		}
	}
	return r
}

// reconnectPause is how long a reconnection waits after a failed attempt
// before it tries the next hub.
const reconnectPause = 100 * time.Millisecond

// reconnect reopens s's broken stream in the background (-reconnect) and
// reports true, unless the run is closing the streams. It is called by
// the stream's reader, which the readers count, as its last act.
func (f *fleet) reconnect(s *subscriber) bool {
	if f.stopping.Load() {
		return false
	}
	f.readers.Go(func() { f.reopen(s) })
	return true
}

// reopen connects s to the next hub, and the next after a failure, with
// the Last-Event-ID of the last event it read, until it is connected or
// the run closes the streams; then it reads the stream with a goroutine
// of its own.
func (f *fleet) reopen(s *subscriber) {
	f.conns.Lock()
	s.conn = nil // closed by its reader, or the poller's
	f.conns.Unlock()
	for !f.stopping.Load() {
		s.hub = (s.hub + 1) % len(f.dial.targets)
		t := f.dial.targets[s.hub]
		conn, chunked, first, err := dialStream(context.Background(), t, nil, f.dial.resumeRequest(t, s.topic, s.lastID), f.cfg.ConnectTimeout)
		if err != nil {
			time.Sleep(reconnectPause)
			continue
		}
		s.reconnects++
		s.dec.init(chunked, f.cfg.Payload+4096)
		if err := s.feed(first, time.Now().UnixNano(), 0); err != nil {
			closeNow(conn)
			continue
		}
		f.conns.Lock()
		if f.stopping.Load() {
			f.conns.Unlock()
			closeNow(conn)
			break
		}
		s.conn = conn
		f.conns.Unlock()
		readConn(conn, s, f.stopping.Load)
		return
	}
	s.stop(errors.New("closed while reconnecting"), true)
}
