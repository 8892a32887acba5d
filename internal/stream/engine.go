// Package stream is ssehub's stream engine: it moves the encoded bytes of a
// hub subscription to the client's socket, from the moment a handler has
// authorized and opened the subscription until the stream ends.
//
// It owns how that is done: HTTP/1.1 connections taken over from net/http
// (plain, and over TLS sealed into the stream's own buffer), the pool of
// writers that write every woken stream with writes that never wait
// (Linux; elsewhere, and with the build tag portable, a goroutine per
// stream), the epoll watcher that notices clients leaving without a
// goroutine per idle stream, batching, write deadlines, heartbeats, the
// token's expiry and the spread-out farewell when the hub goes away. Over
// TLS it also serves HTTP/2 connections itself (h2*.go): their frames are
// read by the same epoll watcher and their event streams written by the
// same pool writers. Where a connection cannot be taken over (a server not
// given to TakeOver, -h2-takeover=false, other systems), the handler's own
// goroutine serves the stream through net/http.
//
// It also owns the connections of the listeners it wraps, plain ones
// (PlainListener) and TLS ones, whose handshakes it does (TLSListener): it
// follows the framing of their HTTP/1.x requests, marking a request with
// both Content-Length and Transfer-Encoding for the endpoints to refuse,
// and seals the streams taken over from TLS ones.
//
// It must not know requests' meaning: topics, tokens, limits, CORS and
// error answers are the endpoints' (package httpapi). It knows the hub's
// Subscriber and Update, and nothing of history, Redis or the LLM.
package stream

import (
	"context"
	"log/slog"
	"net/http"
	"runtime"
	"time"

	"github.com/ssehub/ssehub/internal/hub"
)

// Defaults for Config.
const (
	DefaultHeartbeat    = 15 * time.Second
	DefaultRetry        = 3000
	DefaultWriteTimeout = 30 * time.Second
)

// Config configures an Engine. Zero values take the defaults.
type Config struct {
	Heartbeat time.Duration // comment sent on idle streams
	Retry     int           // reconnection time (ms) sent when a stream opens
	// ReconnectSpread spreads the subscribers' return after a shutdown: a
	// stream that ends because the hub closes first sends a retry of Retry
	// plus a random part of ReconnectSpread, so that browsers reconnect
	// over that span rather than all at once. 0 sends no such retry.
	ReconnectSpread time.Duration
	WriteTimeout    time.Duration // a stream write blocked longer ends the stream
	Latency         Observer      // records the publish-to-write latency; nil: none
	// NoHTTP2Takeover leaves HTTP/2 connections to net/http's HTTP/2
	// server, as they were before the engine served them itself.
	NoHTTP2Takeover bool
	Logger          *slog.Logger // nil: no logs
}

// Observer gives recorders of the time from an update's publish to its
// write, each with counters of its own: every pool writer gets one.
type Observer interface {
	LatencyObserver() func(time.Duration) // nil: observes nothing
}

// Observers is an Observer that hands each latency to every one of obs
// that observes (a nil observer function observes nothing).
func Observers(obs ...Observer) Observer { return observers(obs) }

type observers []Observer

func (obs observers) LatencyObserver() func(time.Duration) {
	var fs []func(time.Duration)
	for _, o := range obs {
		if f := o.LatencyObserver(); f != nil {
			fs = append(fs, f)
		}
	}
	switch len(fs) {
	case 0:
		return nil
	case 1:
		return fs[0]
	}
	return func(d time.Duration) {
		for _, f := range fs {
			f(d)
		}
	}
}

func (c *Config) defaults() {
	if c.Heartbeat <= 0 {
		c.Heartbeat = DefaultHeartbeat
	}
	if c.Retry <= 0 {
		c.Retry = DefaultRetry
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Engine serves event streams. Its zero value is not usable: call New.
type Engine struct {
	cfg     Config
	shared  *tally // the streams' own goroutines'
	taken   takenStreams
	writers writerPool
	hangups hangups // notices clients leaving their taken-over streams
}

// New returns an engine configured by cfg.
func New(cfg Config) *Engine {
	cfg.defaults()
	e := &Engine{cfg: cfg, shared: newTally(cfg.Latency)}
	e.writers.tallies = make([]*tally, runtime.GOMAXPROCS(0))
	for i := range e.writers.tallies {
		e.writers.tallies[i] = newTally(cfg.Latency)
	}
	return e
}

// Options describe a stream to serve.
type Options struct {
	Sub    *hub.Subscriber // the subscription whose updates the stream carries
	Expiry time.Time       // the stream ends then (its token expires); zero for never
	// Renew, when set, is asked for new rights once Expiry passes, instead
	// of the stream ending: a later time continues the stream until then
	// (and Renew is asked again), the zero time for good; an error, or a
	// time already past, ends the stream as an expired token does. It runs
	// on a goroutine of its own while the stream goes on, with a context
	// cancelled when the stream ends; the engine waits for it.
	Renew   func(ctx context.Context) (time.Time, error)
	Release func() // called once the stream is finished; may be nil
	Remote  string // the client, for the logs
	// Opening are bytes sent after the retry, before any update; Ticker a
	// second source of events. Either keeps the stream on net/http (the
	// seed demo's stream has both).
	Opening []byte
	Ticker  Ticker
}

// Ticker is a second source of a stream's events, besides its subscription.
type Ticker interface {
	C() <-chan time.Time                   // ticks when an event is due
	Next(dst []byte, now time.Time) []byte // appends the due event to dst
	Stop()                                 // releases the ticker
}

// Serve serves o.Sub on the request's connection until the stream ends:
// the client leaves, the subscription ends or the token expires. It owns
// o.Sub and o.Release: both are closed and called once the stream ends. It
// returns at once when the connection was taken over from net/http (see
// TakeOver), else when the stream ends.
func (e *Engine) Serve(w http.ResponseWriter, r *http.Request, o Options) {
	if o.Release == nil {
		o.Release = func() {}
	}
	if o.Ticker == nil && len(o.Opening) == 0 {
		if hw := h2Writer(w); hw != nil {
			e.takeOverH2(hw, o)
			return
		}
		if e.canTakeOver(r) && e.takeOver(w, r, o) {
			return
		}
	}
	defer o.Release()
	defer o.Sub.Close()
	s, err := e.startStream(w, o.Sub, o.Opening)
	if err == nil {
		s.expiry = newExpiry(o.Expiry, o.Renew)
		err = s.serve(r.Context(), e.cfg.Heartbeat, o.Ticker)
	} else if o.Ticker != nil {
		o.Ticker.Stop()
	}
	if err != nil {
		if serr := o.Sub.Err(); serr != nil {
			err = serr
		}
		e.cfg.Logger.LogAttrs(r.Context(), slog.LevelDebug, "stream ended",
			slog.String("remote", o.Remote), slog.String("reason", err.Error()))
	}
}

// Stats counts what the engine's streams wrote.
type Stats struct {
	Delivered uint64 // updates written to streams, replayed ones included, internal ones aside
	Replayed  uint64 // updates replayed from history
}

// Stats returns the counts of the engine's streams.
func (e *Engine) Stats() Stats {
	var st Stats
	for _, t := range append([]*tally{e.shared}, e.writers.tallies...) {
		st.Delivered += t.delivered.Load()
		st.Replayed += t.replayed.Load()
	}
	return st
}
