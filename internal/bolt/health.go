package bolt

import (
	"context"
	"fmt"

	bbolt "go.etcd.io/bbolt"
)

// Ping reports whether the store is usable: it is open, a read
// transaction sees its buckets and, after a failed write transaction, a
// write transaction of its own succeeds. Readiness checks call it.
func (s *Store) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.closing.RLock()
	closed := s.closed
	s.closing.RUnlock()
	if closed {
		return ErrClosed
	}
	err := s.db.View(func(tx *bbolt.Tx) error {
		if tx.Bucket(bucketUpdates) == nil {
			return fmt.Errorf("no %q bucket: %w", bucketUpdates, errCorrupt)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("read transaction: %w", err)
	}
	return s.probeWrites()
}

// Size returns the size in bytes of the database file, as a read
// transaction sees it.
func (s *Store) Size() (int64, error) {
	var n int64
	err := s.db.View(func(tx *bbolt.Tx) error {
		n = tx.Size()
		return nil
	})
	return n, err
}
