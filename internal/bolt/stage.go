package bolt

import (
	"cmp"
	"context"
	"encoding/binary"
	"slices"

	bbolt "go.etcd.io/bbolt"

	"github.com/ssehub/ssehub/internal/hub"
)

// reserveAhead is how many positions past the newest committed one may be
// staged (readable, delivered) before they are on disk. The store keeps
// that bound on disk, ahead of time, so that after a crash the hub starts
// past every position a subscriber may have seen: an update delivered but
// lost with the crash never has its id given to another.
const reserveAhead = 1 << 16

// keyReserved holds the reserved bound: every position at or below it may
// have been handed out, so the next run starts past it.
var keyReserved = []byte("reserved")

// Stage makes u readable at once (Read and Lookup return it, so the hub can
// deliver it) and queues it for the next commit; durable waits until that
// commit is on disk and returns its error. Only a position the store has
// reserved is staged early, and none with SyncBeforeDeliver; the rare one
// beyond (more than reserveAhead/2 positions within one commit) is
// readable once durable. A ctx that ends while the commit queue is full
// withdraws u, which a read may have returned meanwhile: the hub stages with
// a context that never ends.
func (s *Store) Stage(ctx context.Context, u *hub.Update) (durable func() error, err error) {
	req := newAppendReq(u)
	// The read lock keeps Close from stopping the commit loop between the
	// check and the send, which would leave the append unanswered.
	s.closing.RLock()
	if s.closed {
		s.closing.RUnlock()
		return nil, ErrClosed
	}
	s.mu.Lock()
	early := u.Seq <= s.reserved && !s.cfg.SyncBeforeDeliver
	if early {
		s.staged = append(s.staged, u)
	}
	s.mu.Unlock()
	select {
	case s.reqs <- req:
	case <-ctx.Done():
		s.closing.RUnlock()
		s.unstage([]*appendReq{req})
		return nil, ctx.Err()
	}
	s.closing.RUnlock()
	wait := func() error { return <-req.done } // once queued, the commit always answers
	if early {
		return wait, nil
	}
	err = wait()
	return func() error { return err }, err
}

// unstage removes committed (or failed) appends from the staged updates.
func (s *Store) unstage(batch []*appendReq) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.staged) == 0 {
		return
	}
	gone := make(map[*hub.Update]bool, len(batch))
	for _, req := range batch {
		gone[req.u] = true
	}
	s.staged = slices.DeleteFunc(s.staged, func(u *hub.Update) bool { return gone[u] })
}

// reserve raises the reserved bound inside a commit's transaction when the
// newest position comes within half of it; it returns the bound that holds
// once the transaction commits.
func (s *Store) reserve(tx *bbolt.Tx) (uint64, error) {
	if s.newest+reserveAhead/2 <= s.committedReserve {
		return s.committedReserve, nil
	}
	bound := s.newest + reserveAhead
	return bound, putReserved(tx, bound)
}

func putReserved(tx *bbolt.Tx, bound uint64) error {
	return tx.Bucket(bucketMeta).Put(keyReserved, binary.BigEndian.AppendUint64(nil, bound))
}

func getReserved(tx *bbolt.Tx) uint64 {
	if v := tx.Bucket(bucketMeta).Get(keyReserved); len(v) == 8 {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

// stagedIn returns, in position order, the staged updates in q's range
// that q selects.
func (s *Store) stagedIn(q hub.Query) []*hub.Update {
	in := topicFilter(q.Topics)
	s.mu.Lock()
	var out []*hub.Update
	for _, u := range s.staged {
		if u.Seq > q.After && u.Seq <= q.Upto && in(u) && (q.Match == nil || q.Match(u)) {
			out = append(out, u)
		}
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b *hub.Update) int { return cmp.Compare(a.Seq, b.Seq) })
	return out
}

// stagedSeq returns the position of the staged update with the given id.
func (s *Store) stagedSeq(id string) (uint64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range s.staged {
		if u.ID == id {
			return u.Seq, true
		}
	}
	return 0, false
}

// topicFilter returns whether an update has one of topics; nil means any.
// A read may name many topics and a staged update have many: a set keeps
// the check in proportion to the update's topics, under the lock that
// Stage waits for too.
func topicFilter(topics []string) func(*hub.Update) bool {
	switch {
	case topics == nil:
		return func(*hub.Update) bool { return true }
	case len(topics) <= fewTopics:
		return func(u *hub.Update) bool {
			return slices.ContainsFunc(u.Topics, func(t string) bool { return slices.Contains(topics, t) })
		}
	}
	set := make(map[string]struct{}, len(topics))
	for _, t := range topics {
		set[t] = struct{}{}
	}
	return func(u *hub.Update) bool {
		return slices.ContainsFunc(u.Topics, func(t string) bool {
			_, ok := set[t]
			return ok
		})
	}
}

// fewTopics is how many topics a read names for topicFilter to look for
// each of an update's topics among them rather than in a set.
const fewTopics = 16
