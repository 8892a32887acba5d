package llm

import (
	"math"
	"sync"
	"time"

	"github.com/ssehub/ssehub/internal/histogram"
)

// LatenessBounds are the upper bounds of the token lateness histogram's
// buckets (Stats.Lateness).
var LatenessBounds = [...]time.Duration{
	time.Millisecond, 5 * time.Millisecond, 10 * time.Millisecond, 25 * time.Millisecond,
	50 * time.Millisecond, 100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond,
	time.Second, 2500 * time.Millisecond, 5 * time.Second, 10 * time.Second,
}

// DefaultLatenessWindow is how far back the recent lateness looks.
const DefaultLatenessWindow = 5 * time.Second

// Fine buckets of the recent window: bucket i holds lateness up to
// fineBase × fineGrowth^i, so a quantile is within a quarter of the truth.
const (
	fineBuckets = 64
	fineBase    = float64(time.Millisecond)
	fineGrowth  = 1.25
	windowSlots = 10
)

// lateness records how late token events are published: since the start,
// for the histogram, and over the last window, for admission.
type lateness struct {
	all    *histogram.Counter // since the start, by LatenessBounds
	window *window
}

func newLateness(window time.Duration) *lateness {
	return &lateness{all: histogram.New(LatenessBounds[:]...), window: newWindow(window)}
}

// observe records one token event published d after its oldest token.
func (l *lateness) observe(d time.Duration) {
	l.all.Observe(d)
	l.window.observe(d)
}

// recent returns the q quantile of the lateness over the last window, and
// how many events it covers; 0 when none was published.
func (l *lateness) recent(q float64) (time.Duration, int) { return l.window.recent(q) }

// window keeps the durations observed over the last window of time, in
// fine buckets, for their quantiles.
type window struct {
	width time.Duration // of a slot: the window over windowSlots
	mu    sync.Mutex
	slots [windowSlots]lateSlot
}

// lateSlot is the observations of one width of time.
type lateSlot struct {
	at     int64 // the slot's time, in widths since the epoch
	counts [fineBuckets]uint32
	n      uint32
}

func newWindow(d time.Duration) *window {
	return &window{width: max(time.Millisecond, d/windowSlots)}
}

// observe records d now.
func (w *window) observe(d time.Duration) {
	f := 0
	if d > time.Millisecond {
		f = min(fineBuckets-1, int(math.Ceil(math.Log(float64(d)/fineBase)/math.Log(fineGrowth))))
	}
	now := time.Now().UnixNano() / int64(w.width)
	w.mu.Lock()
	s := &w.slots[now%windowSlots]
	if s.at != now {
		*s = lateSlot{at: now}
	}
	s.counts[f]++
	s.n++
	w.mu.Unlock()
}

// recent returns the q quantile of what was observed over the last
// window, and how many observations it covers; 0 when none.
func (w *window) recent(q float64) (time.Duration, int) {
	var c fineCounts
	w.addTo(&c)
	return c.quantile(q)
}

// addTo adds the observations of the last window to c.
func (w *window) addTo(c *fineCounts) {
	now := time.Now().UnixNano() / int64(w.width)
	w.mu.Lock()
	defer w.mu.Unlock()
	for i := range w.slots {
		s := &w.slots[i]
		if s.n == 0 || s.at <= now-windowSlots {
			continue
		}
		for j, k := range s.counts {
			c.counts[j] += uint64(k)
		}
		c.n += uint64(s.n)
	}
}

// fineCounts is observations by fine bucket.
type fineCounts struct {
	counts [fineBuckets]uint64
	n      uint64
}

// quantile returns the q quantile of c and how many observations it
// holds; 0 when none.
func (c *fineCounts) quantile(q float64) (time.Duration, int) {
	if c.n == 0 {
		return 0, 0
	}
	rank := uint64(math.Ceil(q * float64(c.n)))
	var seen uint64
	for j, k := range c.counts {
		seen += k
		if seen >= max(1, rank) {
			return time.Duration(fineBase * math.Pow(fineGrowth, float64(j))), int(c.n)
		}
	}
	return time.Duration(fineBase * math.Pow(fineGrowth, fineBuckets-1)), int(c.n)
}

// windows is a window for each observer it gave out, so that the stream
// engine's pool writers, each with an observer of its own, never share a
// lock on their hot path; recent reads them all together.
type windows struct {
	width time.Duration // the window's
	mu    sync.Mutex
	ws    []*window
}

// observer returns the observe function of a new window of the set.
func (s *windows) observer() func(time.Duration) {
	w := newWindow(s.width)
	s.mu.Lock()
	s.ws = append(s.ws, w)
	s.mu.Unlock()
	return w.observe
}

// recent returns the q quantile of what every window observed over the
// last window, and how many observations it covers; 0 when none.
func (s *windows) recent(q float64) (time.Duration, int) {
	var c fineCounts
	s.mu.Lock()
	for _, w := range s.ws {
		w.addTo(&c)
	}
	s.mu.Unlock()
	return c.quantile(q)
}
