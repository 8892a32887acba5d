package bolt

import (
	"cmp"
	"context"
	"errors"
	"runtime"
	"slices"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/ssehub/ssehub/internal/hub"
)

// ErrClosed is returned by appends after Close.
var ErrClosed = errors.New("history store is closed")

// appendReq is one update waiting for the next commit, with what the
// commit writes prepared by its publisher: the commit loop, which every
// publish waits for, only writes.
type appendReq struct {
	u      *hub.Update
	value  []byte   // u encoded
	topics []string // u's topics without repeats, the canonical one first
	done   chan error
	queued time.Time // when it was staged, for a lazy one (u.Lazy)
}

// newAppendReq prepares the append of u.
func newAppendReq(u *hub.Update) *appendReq {
	req := &appendReq{u: u, value: encodeUpdate(u), topics: hub.DistinctTopics(u.Topics), done: make(chan error, 1)}
	if u.Lazy {
		req.queued = time.Now()
	}
	return req
}

// Append stores u durably: it returns once the transaction holding u has
// been committed and synced to disk. Appends that arrive while a commit is
// under way are committed together by the next one.
func (s *Store) Append(ctx context.Context, u *hub.Update) error {
	durable, err := s.Stage(ctx, u)
	if err != nil {
		return err
	}
	return durable()
}

// commitLoop commits queued appends in batches until Close, then commits
// what is still queued. The appends a commit leaves for later (take) wait
// in backlog, in the order they came.
func (s *Store) commitLoop() {
	defer s.wg.Done()
	var backlog []*appendReq
	batch := make([]*appendReq, 0, s.cfg.MaxBatch)
	for {
		if len(backlog) == 0 {
			select {
			case req := <-s.reqs:
				backlog = append(backlog, req)
			case <-s.stop:
				select {
				case req := <-s.reqs: // queued before Close: committed first
					backlog = append(backlog, req)
				default:
					s.keepPosition()
					return
				}
			}
		}
		batch, backlog = s.take(batch[:0], s.holdLazy(s.collect(backlog)))
		s.commit(batch)
	}
}

// take moves into batch the appends of the next commit: the oldest
// waiting, then in order each that keeps the commit within MaxBatch
// updates and MaxBatch index entries (one per distinct topic of an
// update); it returns the others, in order. A full batch of updates of one
// topic each is the most a commit takes, as it was before updates named
// up to hub.MaxUpdateTopics topics: an append of a few topics queued
// behind updates of many, even a batch of them published at once, goes
// into the next commit (unless updates queued before it fill that one),
// not after all of them.
func (s *Store) take(batch, backlog []*appendReq) (next, rest []*appendReq) {
	entries := 0
	rest = backlog[:0]
	for i, req := range backlog {
		if n := len(req.topics); i == 0 || (len(batch) < s.cfg.MaxBatch && entries+n <= s.cfg.MaxBatch) {
			batch = append(batch, req)
			entries += n
		} else {
			rest = append(rest, req)
		}
	}
	clear(backlog[len(rest):])
	return batch, rest
}

// gatherWait bounds how long a commit waits for the publishers of the
// previous batch to come back.
const gatherWait = 200 * time.Microsecond

// collect adds to the backlog every append already waiting, up to
// MaxBatch in all. When the last commit showed that many publishers are at
// work, it waits briefly for them to come back, so they share one commit
// instead of alternating in two half-size ones.
func (s *Store) collect(backlog []*appendReq) []*appendReq {
	var deadline time.Time
	for len(backlog) < s.cfg.MaxBatch {
		select {
		case req := <-s.reqs:
			backlog = append(backlog, req)
			continue
		default:
		}
		if len(backlog) >= s.expect {
			break
		}
		if deadline.IsZero() {
			deadline = time.Now().Add(gatherWait)
		} else if time.Now().After(deadline) {
			break
		}
		runtime.Gosched()
	}
	return backlog
}

// holdLazy waits, while every append of the backlog is lazy, until the
// oldest has waited LazyHold, an append that is not lazy comes, the
// backlog fills a commit, or Close; it returns the backlog with what came
// meanwhile.
func (s *Store) holdLazy(backlog []*appendReq) []*appendReq {
	if s.cfg.LazyHold < 0 || slices.ContainsFunc(backlog, func(r *appendReq) bool { return !r.u.Lazy }) {
		return backlog
	}
	timer := time.NewTimer(time.Until(backlog[0].queued.Add(s.cfg.LazyHold))) // the backlog is in order
	defer timer.Stop()
	for len(backlog) < s.cfg.MaxBatch {
		select {
		case req := <-s.reqs:
			backlog = append(backlog, req)
			if !req.u.Lazy {
				return s.collect(backlog)
			}
		case <-timer.C:
			return backlog
		case <-s.stop:
			return backlog
		}
	}
	return backlog
}

// commit writes a batch in one transaction and answers every append.
func (s *Store) commit(batch []*appendReq) {
	for _, req := range batch {
		s.newest = max(s.newest, req.u.Seq) // staged, so perhaps delivered
	}
	var reserved uint64
	err := s.writes.Note(s.db.Update(func(tx *bbolt.Tx) (err error) {
		entries := map[string][]indexRecord{}
		for _, req := range batch {
			if err := s.put(tx, req, entries); err != nil {
				return err
			}
		}
		if err := s.writeIndexes(tx, entries); err != nil {
			return err
		}
		reserved, err = s.reserve(tx)
		return err
	}))
	if err == nil {
		s.committedReserve = reserved
		s.mu.Lock()
		s.reserved = reserved
		s.mu.Unlock()
		added := counts{}
		for _, req := range batch {
			for _, t := range req.topics {
				added[t]++
			}
		}
		s.counts.add(added, 1)
	}
	// The publishers of this batch and those that queued meanwhile are
	// the concurrency the next commit can expect.
	s.expect = min(len(batch)+len(s.reqs), s.cfg.MaxBatch)
	s.unstage(batch)
	for _, req := range batch {
		req.done <- err
	}
}

// keepPosition records, on a clean close, the newest position as the
// reserved bound: the next run continues right after it, even once
// retention has deleted every update.
func (s *Store) keepPosition() {
	err := s.db.Update(func(tx *bbolt.Tx) error {
		return putReserved(tx, max(s.newest, s.lastSeq))
	})
	if err != nil {
		s.log.Warn("history: keep the position at close", "err", err)
	}
}

// appendFill is how full the buckets keyed by position pack their pages:
// their keys only ever grow, so a split page is never written to again and
// may be full. Fewer, fuller pages also mean smaller branch nodes, which
// every commit reads in whole into memory (the most of its allocations).
const appendFill = 1.0

// put writes one update and, unless the id names its position itself, its
// id; it adds the update's topic index entries to entries, for
// writeIndexes. The first topic is canonical: removing its entry deletes
// the update.
func (s *Store) put(tx *bbolt.Tx, req *appendReq, entries map[string][]indexRecord) error {
	u := req.u
	key := seqKey(u.Seq)
	updates := tx.Bucket(bucketUpdates)
	updates.FillPercent = appendFill
	if err := updates.Put(key, req.value); err != nil {
		return err
	}
	for i, t := range req.topics {
		entries[t] = append(entries[t], indexRecord{u.Seq, i == 0})
	}
	if seq, ok := s.generatedSeq(u.ID); ok && seq == u.Seq {
		return nil
	}
	return tx.Bucket(bucketIDs).Put([]byte(u.ID), key)
}

// writeIndexes adds a commit's index entries to their topics' indexes, in
// the order of the topics' names: bbolt inserts a key into a node by
// moving the keys after it, and a node grows in memory until the commit
// splits it, so the indexes of many new topics created in random order
// took time quadratic in their number (twice as long at 16,000 in one
// commit); in order they take time in proportion.
func (s *Store) writeIndexes(tx *bbolt.Tx, entries map[string][]indexRecord) error {
	order := s.topicOrder[:0]
	for t := range entries {
		order = append(order, t)
	}
	slices.Sort(order)
	s.topicOrder = order
	for _, t := range order {
		x, err := createIndex(tx, t)
		if err != nil {
			return err
		}
		recs := entries[t]
		slices.SortFunc(recs, func(a, b indexRecord) int { return cmp.Compare(a.seq, b.seq) })
		if err := x.appendAll(recs); err != nil {
			return err
		}
	}
	clear(order) // holds no topic until the next commit
	return nil
}

// generatedSeq returns the position an id the hub generated in this
// store's epoch names; ok is false for any other id. Publishers may not use
// the hub's id prefix, so such an id is never a publisher's.
func (s *Store) generatedSeq(id string) (seq uint64, ok bool) {
	epoch, seq, ok := hub.ParseID(id)
	return seq, ok && epoch == s.epoch
}
