package hub

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// Replays are read from history a page at a time, as the stream drains,
// so that a subscriber that does not read holds one page, not its whole
// replay. A page holds at most pageCount updates (and QueueSize) and
// pageBytes of wire bytes (and QueueBytes).
const (
	pageCount = 1024
	pageBytes = 128 << 10
)

// cursor is where a subscriber's replay stands: every update of its topics
// up to pos has been read, and (pos, upto] is still to be read from history
// before the live updates queued meanwhile, all after upto. Fields are
// guarded by the subscriber's lock.
type cursor struct {
	pos, upto uint64
	// anchor is the id of the last update read, or of the resume point:
	// without a TrimReporter, the next page is whole if it is still
	// retained. Empty when there is none.
	anchor string
	// lagging: live updates overflowed the queue while the replay was
	// read, and were dropped. Once pos reaches upto, upto moves to the
	// head of the subscriber's shard and live updates are queued again.
	lagging bool
	// page is read, not yet drained; while it is empty the next one is
	// being read, by a pager (the first by the subscribing goroutine).
	page      []*Update
	pageBytes int       // wire bytes of page
	spare     []*Update // an array the owner gave back, for the next page
	// size is the mean wire size of the updates of the last page, 0 before
	// the first: the next page asks the history for as many updates as
	// the byte bound holds, so that it decodes no more than it keeps.
	size int

	ctx    context.Context // the page reads', cancelled when the subscription ends
	cancel context.CancelFunc
}

// caughtUp reports whether nothing is left to read from history.
func (c *cursor) caughtUp() bool { return c.pos >= c.upto && !c.lagging }

// goLive ends s's replay: live updates are drained from now on. Called
// with s.mu held.
func (s *Subscriber) goLive() {
	s.cur.cancel()
	s.cur = nil
}

// lag drops the live updates queued behind the replay of s, which
// overflowed, returning the change in the bytes counted: the cursor reads
// them, and later ones, from history. Called with s.mu held.
func (s *Subscriber) lag() int {
	n := s.queued + s.released
	clear(s.pending)
	s.pending, s.queued, s.released = s.pending[:0], 0, 0
	s.cur.lagging = true
	return -n
}

// errPageFull stops a page's read once it holds enough.
var errPageFull = errors.New("page full")

// readPage reads the next page of a replay: the updates of q's range, up
// to the bounds of a page, into the array of into. It reports the
// position read up to: q.Upto, or the last update's once the page is full.
func (h *Hub) readPage(ctx context.Context, q Query, into []*Update) (page []*Update, size int, pos uint64, err error) {
	page = into[:0]
	full := false
	err = h.src.Read(ctx, q, func(u *Update) error {
		n := len(u.wire)
		if len(page) >= q.Limit || (size+n > h.pageBytes && len(page) > 0) {
			full = true
			return errPageFull
		}
		page = append(page, u)
		size += n
		return nil
	})
	if errors.Is(err, errPageFull) {
		err = nil
	}
	if err != nil {
		return nil, 0, 0, &Error{Code: CodeUnavailable, Err: fmt.Errorf("read history: %w", err)}
	}
	if full || len(page) >= q.Limit { // a Reader may stop at q.Limit itself
		return page, size, page[len(page)-1].Seq, nil
	}
	return page, size, q.Upto, nil
}

// nextRange returns the range of s's next page, and the array to read it
// into; false once the subscription has ended. A lagging cursor that has
// read its range moves on to the head of its shard, under the shard's
// lock: every update up to that head has been fanned out (and dropped
// for s), every later one will be queued for s.
func (h *Hub) nextRange(s *Subscriber) (q Query, anchor string, into []*Update, ok bool) {
	s.mu.Lock()
	if c := s.cur; c != nil && c.pos >= c.upto && c.lagging {
		s.mu.Unlock()
		sh := h.home(s)
		sh.mu.Lock()
		s.mu.Lock()
		if c := s.cur; c != nil && c.pos >= c.upto && c.lagging {
			c.upto, c.lagging = max(c.pos, sh.fanned), false
		}
		sh.mu.Unlock()
	}
	defer s.mu.Unlock()
	c := s.cur
	if c == nil {
		return Query{}, "", nil, false
	}
	q = Query{After: c.pos, Upto: c.upto, Match: s.wants, Limit: h.pageCount}
	if c.size > 0 {
		q.Limit = min(q.Limit, h.pageBytes/c.size+1)
	}
	if !s.wildcard {
		q.Topics = s.exact
	}
	into, c.spare = c.spare, nil
	return q, c.anchor, into, true
}

// page reads the next page of s's replay and queues it, signalling s, or
// ends the replay once it has caught up. The first page, read while
// subscribing, tells a resume point whose updates were trimmed in the
// Last-Event-ID header (checkTrimmed); a later one that finds updates
// trimmed away ends the subscription with ErrReplayTrimmed.
func (h *Hub) page(ctx context.Context, s *Subscriber, first bool) error {
	for {
		q, anchor, into, ok := h.nextRange(s)
		if !ok {
			return nil
		}
		page, size, pos, err := h.readPage(ctx, q, into)
		if err == nil && first {
			err = h.checkTrimmed(ctx, s, q)
		} else if err == nil {
			err = h.checkWhole(ctx, q, anchor)
		}
		if err != nil {
			return err
		}
		first = false
		if !h.queuePage(s, page, size, pos) {
			return nil
		}
	}
}

// queuePage queues a page read up to pos, or ends the replay of s once it
// has caught up; it reports true when another page must be read now (the
// page was empty and live updates overflowed meanwhile).
func (h *Hub) queuePage(s *Subscriber, page []*Update, size int, pos uint64) (more bool) {
	s.mu.Lock()
	c := s.cur
	if c == nil {
		s.mu.Unlock()
		return false
	}
	c.pos = pos
	if len(page) == 0 {
		if c.lagging {
			s.mu.Unlock()
			return true
		}
		s.goLive()
		wake := len(s.pending) > 0
		s.mu.Unlock()
		if wake {
			s.signal()
		}
		return false
	}
	c.page, c.pageBytes = page, size
	c.size = max(1, size/len(page))
	c.anchor = page[len(page)-1].ID
	s.replayed.Add(int64(len(page)))
	added := size - s.released
	s.released = 0
	s.mu.Unlock()
	h.slow.held.Add(int64(added))
	s.signal()
	if added > 0 {
		h.checkSlow()
	}
	return false
}

// checkWhole ends a replay whose next updates retention dropped before
// the cursor read them: the client resumes, and its new subscription
// reports "earliest" in the Last-Event-ID header. It asks the history's
// TrimReporter, else whether the anchor, the last update read, is still
// retained (retention drops the oldest first): the check that tells a
// resuming client too.
func (h *Hub) checkWhole(ctx context.Context, q Query, anchor string) error {
	var trimmed bool
	var err error
	if tr, ok := h.src.(TrimReporter); ok {
		trimmed, err = tr.Trimmed(ctx, q)
	} else if anchor != "" {
		var kept bool
		_, kept, err = h.src.Lookup(ctx, anchor)
		trimmed = !kept
	}
	if err != nil {
		return &Error{Code: CodeUnavailable, Err: fmt.Errorf("read history: %w", err)}
	}
	if trimmed {
		return ErrReplayTrimmed
	}
	return nil
}

// maxPagers bounds the goroutines reading replays' pages.
const maxPagers = 8

// pagers read the pages of replays after their first, so that the
// goroutines writing streams never wait for a read from disk or Redis:
// up to maxPagers goroutines, started when pages are asked for and ending
// when none is; Hub.Close waits for them.
type pagers struct {
	hub     *Hub
	mu      sync.Mutex
	queue   []*Subscriber
	running int
	closed  bool
	wg      sync.WaitGroup
}

// push asks for the next page of s's replay.
func (p *pagers) push(s *Subscriber) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.queue = append(p.queue, s)
	if p.running < maxPagers {
		p.running++
		p.wg.Go(p.run)
	}
}

// run reads pages until none is asked for.
func (p *pagers) run() {
	for {
		p.mu.Lock()
		if len(p.queue) == 0 {
			p.running, p.queue = p.running-1, nil // not the array of all pushed since
			p.mu.Unlock()
			return
		}
		s := p.queue[0]
		p.queue[0] = nil
		p.queue = p.queue[1:]
		p.mu.Unlock()
		s.mu.Lock()
		c := s.cur
		s.mu.Unlock()
		if c == nil {
			continue
		}
		if err := p.hub.page(c.ctx, s, false); err != nil {
			p.hub.cut(s, err)
		}
	}
}

// close waits for the pagers; later pages are not read.
func (p *pagers) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.wg.Wait()
}

// Replaying reports whether pages of the replay are still to be drained:
// once it is false, DrainBatch returns live updates only.
func (s *Subscriber) Replaying() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur != nil
}
