package bolt

import (
	"time"

	bbolt "go.etcd.io/bbolt"
)

// A full disk or a failing device fails the store's write transactions:
// the publishers of a failed commit are answered 503, and the store's
// outage.Tracker tells the operator too (the log, /readyz through Ping,
// /metrics through Writable and WriteErrors).

// keyProbe is the meta key a probe writes and deletes in one transaction.
var keyProbe = []byte("probe")

// probeAfter is how long after a failed write transaction Ping reports the
// failure as it is, before it tries a write of its own: a full disk may
// still take a probe's few bytes in pages the file has freed while it
// refuses the publishes' larger commits.
const probeAfter = 2 * time.Second

// probeWrites, while writes fail, reports the outage; from probeAfter
// after the latest failure it tries a write transaction of its own, so that
// the end of an outage is seen even when nobody publishes (a node taken out
// of rotation by its failing /readyz gets no publishes).
func (s *Store) probeWrites() error {
	if !s.writes.Failing() || s.writes.FailedWithin(probeAfter) {
		return s.writes.Err()
	}
	err := s.writes.Note(s.db.Update(func(tx *bbolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if err := meta.Put(keyProbe, nil); err != nil {
			return err
		}
		return meta.Delete(keyProbe)
	}))
	if err != nil {
		return s.writes.Err()
	}
	return nil
}

// Writable reports whether the last write transaction succeeded.
func (s *Store) Writable() bool { return !s.writes.Failing() }

// WriteErrors counts the write transactions (commits, retention, probes)
// that failed.
func (s *Store) WriteErrors() uint64 { return s.writes.Errors() }
