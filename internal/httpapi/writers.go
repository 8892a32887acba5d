package httpapi

import (
	"runtime"
	"sync"
)

// writerPool is the goroutines that write the taken-over streams: a woken
// stream is queued, and the first free writer writes what it has. Writers
// never wait on a client (see leanStream.run), so a few serve every stream,
// and a stream woken while others are written collects more updates
// before its turn: busy hubs write bigger batches.
type writerPool struct {
	queue   chan *leanStream
	tallies []*tally // one per writer, set before run
	start   sync.Once
	stop    sync.Once
	wg      sync.WaitGroup
}

// yieldEvery is how many streams a writer serves before it lets other
// goroutines run. Its writes are raw system calls (writers_linux.go), which
// never give the scheduler a chance: while a fan-out keeps every writer
// busy, a goroutine woken meanwhile (the commit loop after an fsync, the
// handler answering a publisher) would wait until the writers run out of
// streams, or for the 10 ms preemption.
const yieldEvery = 64

// queueSize bounds the streams waiting for a writer; past it a woken
// stream gets a goroutine of its own.
const queueSize = 16 << 10

// run starts the writers, once.
func (p *writerPool) run() {
	p.start.Do(func() {
		p.queue = make(chan *leanStream, queueSize)
		for _, t := range p.tallies {
			w := newWriter(t)
			p.wg.Go(func() {
				served := 0
				for s := range p.queue {
					s.run(w)
					if served++; served%yieldEvery == 0 {
						runtime.Gosched()
					}
				}
			})
		}
	})
}

// close stops the writers once no stream can be woken any more, and
// waits for them.
func (p *writerPool) close() {
	p.start.Do(func() {}) // never start after this
	p.stop.Do(func() {
		if p.queue != nil {
			close(p.queue)
		}
	})
	p.wg.Wait()
}
