package bolt

import (
	"path/filepath"
	"sync"
	"testing"

	bbolt "go.etcd.io/bbolt"
)

// ReserveAhead is reserveAhead, for the tests.
const ReserveAhead = reserveAhead

// HoldCommits keeps the store's commits waiting, with a write transaction
// of the test's own, until the returned release is called or the test ends.
func HoldCommits(t *testing.T, s *Store) (release func()) {
	t.Helper()
	held, done := make(chan struct{}), make(chan struct{})
	go func() {
		_ = s.db.Update(func(*bbolt.Tx) error {
			close(held)
			<-done
			return nil
		})
	}()
	<-held
	release = sync.OnceFunc(func() { close(done) })
	t.Cleanup(release) // before the store's Close, registered earlier
	return release
}

// TopicIndexes returns how many topics the store counts in memory and how
// many topic indexes its file holds.
func TopicIndexes(t *testing.T, s *Store) (counted, indexes int) {
	t.Helper()
	err := s.db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketTopics).ForEachBucket(func([]byte) error {
			indexes++
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	s.counts.mu.Lock()
	defer s.counts.mu.Unlock()
	return len(s.counts.n), indexes
}

// IDIndexSize returns how many ids the store's id index holds.
func IDIndexSize(t *testing.T, s *Store) int {
	t.Helper()
	n := 0
	err := s.db.View(func(tx *bbolt.Tx) error {
		n = tx.Bucket(bucketIDs).Stats().KeyN
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// UnpackTopicIndexes rewrites the topic indexes of the closed store in
// dir as stores wrote them before blocks: one entry per position, its
// value the canonical flag.
func UnpackTopicIndexes(t *testing.T, dir string) {
	t.Helper()
	db, err := bbolt.Open(filepath.Join(dir, FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bbolt.Tx) error {
		topics := tx.Bucket(bucketTopics)
		var names []string
		_ = topics.ForEachBucket(func(name []byte) error {
			names = append(names, string(name))
			return nil
		})
		for _, name := range names {
			var all []indexRecord
			err := topics.Bucket([]byte(name)).ForEach(func(k, v []byte) error {
				recs, err := decodeBlock(k, v)
				all = append(all, recs...)
				return err
			})
			if err != nil {
				return err
			}
			if err := topics.DeleteBucket([]byte(name)); err != nil {
				return err
			}
			b, err := topics.CreateBucket([]byte(name))
			if err != nil {
				return err
			}
			for _, r := range all {
				if err := b.Put(seqKey(r.seq), []byte{map[bool]byte{true: 1}[r.canonical]}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
