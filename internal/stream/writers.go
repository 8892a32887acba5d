package stream

import (
	"runtime"
	"sync"
)

// writerPool is the goroutines that write the taken-over streams: a woken
// stream is queued, and a free writer writes what it has. Writers never
// wait on a client (see leanStream.run), so a few serve every stream, and
// a stream woken while others are written collects more updates before its
// turn: busy hubs write bigger batches.
//
// The queue is a slice under a lock rather than a channel: a fan-out wakes
// its streams one by one, but a writer takes up to takeMax of them at a
// time, so the writers, on other cores, take the queue's lock once per
// takeMax streams rather than once per stream.
type writerPool struct {
	tallies []*tally // one per writer, set before run
	start   sync.Once
	stop    sync.Once
	wg      sync.WaitGroup

	mu      sync.Mutex
	queue   []*leanStream // queue[head:] wait for a writer, in order
	head    int
	idle    int           // writers waiting for a stream
	wakeup  chan struct{} // a token for each idle writer woken
	started bool
	closed  bool
}

// takeMax is the most streams a writer takes from the queue at once: few
// enough that the writers share a fan-out evenly to its end.
const takeMax = 16

// yieldEvery is how many streams a writer serves before it lets other
// goroutines run. Its writes are raw system calls (writers_linux.go), which
// never give the scheduler a chance: while a fan-out keeps every writer
// busy, a goroutine woken meanwhile (the commit loop after an fsync, the
// handler answering a publisher) would wait until the writers run out of
// streams, or for the 10 ms preemption.
const yieldEvery = 64

// run starts the writers, once.
func (p *writerPool) run() {
	p.start.Do(func() {
		p.mu.Lock()
		p.started = true
		p.wakeup = make(chan struct{}, len(p.tallies))
		p.mu.Unlock()
		for _, t := range p.tallies {
			w := newWriter(t)
			p.wg.Go(func() {
				served := 0
				var taken [takeMax]*leanStream
				for batch := p.take(taken[:]); batch != nil; batch = p.take(taken[:]) {
					for _, s := range batch {
						s.run(w)
						if served++; served%yieldEvery == 0 {
							runtime.Gosched()
						}
					}
					clear(batch)
				}
			})
		}
	})
}

// push queues s for a writer, waking one that waits. It reports false
// when no writer will take s: before run, or after close.
func (p *writerPool) push(s *leanStream) bool {
	p.mu.Lock()
	if !p.started || p.closed {
		p.mu.Unlock()
		return false
	}
	p.queue = append(p.queue, s)
	wake := p.idle > 0
	if wake {
		p.idle--
	}
	p.mu.Unlock()
	if wake {
		p.wakeup <- struct{}{} // room for every writer: never blocks
	}
	return true
}

// take returns up to len(buf) queued streams in buf, waiting while there
// is none; nil once the pool is closed and the queue empty.
func (p *writerPool) take(buf []*leanStream) []*leanStream {
	p.mu.Lock()
	for p.head == len(p.queue) {
		if p.closed {
			p.mu.Unlock()
			return nil
		}
		p.idle++
		p.mu.Unlock()
		<-p.wakeup
		p.mu.Lock()
	}
	n := copy(buf, p.queue[p.head:])
	clear(p.queue[p.head : p.head+n])
	if p.head += n; p.head == len(p.queue) {
		p.queue, p.head = p.queue[:0], 0
	}
	p.mu.Unlock()
	return buf[:n]
}

// close stops the writers once no stream can be woken any more, and
// waits for them.
func (p *writerPool) close() {
	p.start.Do(func() {}) // never start after this
	p.stop.Do(func() {
		p.mu.Lock()
		p.closed = true
		idle := p.idle
		p.idle = 0
		p.mu.Unlock()
		for range idle {
			p.wakeup <- struct{}{}
		}
	})
	p.wg.Wait()
}
