package llm

import (
	"sync"
	"time"
)

// Admission's limit on running generations. Refusing starts only once
// tokens are late comes too late: a generation shows its load once its
// tokens flow (after the model's time to first token), and the starts
// admitted meanwhile run to their end. So, beside the lateness check, the
// node admits no more generations than it has shown it serves on time:
// the limit starts at capacityStart, grows while the lateness is under
// MaxLateness, each time once the generations admitted under the last
// limit had time to produce tokens (the recent p90 of the time to the
// first token: then their load is in the figures), and falls below the
// running count when the lateness goes over.
const (
	// capacityStart is the limit before any figure: a node takes this
	// many generations at once without having shown it can.
	capacityStart = 256
	// minSettle is the least time between two raises of the limit.
	minSettle = 100 * time.Millisecond
	// maxSettle bounds the wait for the first tokens before a raise.
	maxSettle = 5 * time.Second
	// capacityHold is how long the limit stays put after it fell: the
	// lateness window must see the effect before the next change.
	capacityHold = time.Second
)

// capacity is the adaptive limit on running generations.
type capacity struct {
	mu    sync.Mutex
	limit int
	hold  time.Time // no change before it
}

func newCapacity() *capacity { return &capacity{limit: capacityStart} }

// adjust updates the limit from the recent lateness (against maxLate)
// and the running generations at now, and returns it; settle is how long
// a generation takes to publish its first token. Under four fifths of
// maxLate, with the limit nearly reached, it grows by a quarter (a tenth
// past half of maxLate) and then waits settle; over maxLate it falls to
// four fifths of what runs, never below capacityStart, and waits
// capacityHold.
func (c *capacity) adjust(late, maxLate time.Duration, running int, settle time.Duration, now time.Time) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case now.Before(c.hold):
	case late > maxLate:
		c.limit = max(capacityStart, min(c.limit, running)*4/5)
		c.hold = now.Add(capacityHold)
	case late <= maxLate*4/5 && running >= c.limit*3/4:
		step := c.limit / 10
		if late <= maxLate/2 {
			step = c.limit / 4
		}
		c.limit += max(1, step)
		c.hold = now.Add(min(maxSettle, max(minSettle, settle)))
	}
	return c.limit
}

// current returns the limit.
func (c *capacity) current() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.limit
}
