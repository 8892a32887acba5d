package bolt

import (
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/ssehub/ssehub/internal/hub"
)

// deleteChunk bounds the deletions of one retention transaction, so that
// publishes waiting for the writer lock are never held up for long.
const deleteChunk = 1000

// retainLoop enforces retention every RetainInterval until Close.
func (s *Store) retainLoop() {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.RetainInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			// A failed transaction is logged once per outage (writes.go).
			if err := s.Retain(time.Now()); err != nil && s.Writable() {
				s.log.Warn("history retention", "err", err)
			}
		}
	}
}

// Retain deletes the updates past the count bound of their topics and
// those older than MaxAge, in small transactions.
func (s *Store) Retain(now time.Time) error {
	if s.cfg.MaxEvents > 0 {
		for _, t := range s.counts.over(int64(s.cfg.MaxEvents)) {
			if err := s.trimTopic(t); err != nil {
				return err
			}
		}
	}
	if s.cfg.MaxAge > 0 {
		return s.expire(now.Add(-s.cfg.MaxAge))
	}
	return nil
}

// trimTopic deletes a topic's oldest index entries past MaxEvents; an entry
// of the update's canonical topic deletes the update itself.
func (s *Store) trimTopic(topic string) error {
	for {
		excess := min(s.counts.get(topic)-int64(s.cfg.MaxEvents), deleteChunk)
		if excess <= 0 {
			return nil
		}
		removed := counts{}
		err := s.writes.Note(s.db.Update(func(tx *bbolt.Tx) error {
			clear(removed)
			return trimIndex(tx, topic, excess, removed)
		}))
		if err != nil {
			return err
		}
		if removed[topic] == 0 { // the count was stale
			s.counts.forget(topic)
			return nil
		}
		s.counts.add(removed, -1)
	}
}

// trimIndex removes up to excess of topic's oldest index entries, and the
// updates of those that were canonical, counting them in removed.
func trimIndex(tx *bbolt.Tx, topic string, excess int64, removed counts) error {
	x, ok := openIndex(tx, topic)
	if !ok {
		return nil
	}
	recs, err := x.trim(excess)
	if err != nil {
		return err
	}
	removed[topic] += int64(len(recs))
	for _, r := range recs {
		if !r.canonical {
			continue
		}
		if err := deleteUpdate(tx, seqKey(r.seq), removed); err != nil {
			return err
		}
	}
	return nil
}

// deleteUpdate deletes the update at key, its id and its remaining index
// entries, counting those in removed, and the index of a topic left
// without entries.
func deleteUpdate(tx *bbolt.Tx, key []byte, removed counts) error {
	updates := tx.Bucket(bucketUpdates)
	v := updates.Get(key)
	if v == nil {
		return nil
	}
	seq, _ := keySeq(key)
	if u, err := decodeFields(seq, v); err == nil {
		if ids := tx.Bucket(bucketIDs); string(ids.Get([]byte(u.ID))) == string(key) {
			if err := ids.Delete([]byte(u.ID)); err != nil {
				return err
			}
		}
		for _, t := range hub.DistinctTopics(u.Topics) {
			x, ok := openIndex(tx, t)
			if !ok {
				continue
			}
			found, err := x.remove(seq)
			if err != nil {
				return err
			}
			if !found {
				continue
			}
			removed[t]++
			if x.empty() {
				if err := tx.Bucket(bucketTopics).DeleteBucket([]byte(t)); err != nil {
					return err
				}
			}
		}
	}
	return updates.Delete(key)
}

// expire deletes updates published before cutoff, oldest first.
func (s *Store) expire(cutoff time.Time) error {
	if !s.expiresBefore(cutoff) {
		return nil // no write transaction (and fsync) every tick for nothing
	}
	for {
		removed := counts{}
		n := 0
		err := s.writes.Note(s.db.Update(func(tx *bbolt.Tx) error {
			clear(removed)
			n = 0
			cur := tx.Bucket(bucketUpdates).Cursor()
			for k, v := cur.First(); k != nil && n < deleteChunk; k, v = cur.First() {
				seq, _ := keySeq(k)
				if u, err := decodeFields(seq, v); err == nil && !u.Time.Before(cutoff) {
					return nil
				}
				if err := deleteUpdate(tx, append([]byte(nil), k...), removed); err != nil {
					return err
				}
				n++
			}
			return nil
		}))
		if err != nil {
			return err
		}
		s.counts.add(removed, -1)
		if n < deleteChunk {
			return nil
		}
	}
}

// expiresBefore reports whether the oldest update, if any, was published
// before cutoff (or cannot be read, which the deleting transaction reports).
func (s *Store) expiresBefore(cutoff time.Time) bool {
	expired := false
	_ = s.db.View(func(tx *bbolt.Tx) error {
		k, v := tx.Bucket(bucketUpdates).Cursor().First()
		if k == nil {
			return nil
		}
		seq, _ := keySeq(k)
		u, err := decodeFields(seq, v)
		expired = err != nil || u.Time.Before(cutoff)
		return nil
	})
	return expired
}
