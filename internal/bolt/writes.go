package bolt

import (
	bbolt "go.etcd.io/bbolt"
)

// A full disk or a failing device fails the store's write transactions:
// the publishers of a failed commit are answered 503, and the store's
// outage.Tracker tells the operator too (the log, /readyz through Ping,
// /metrics through Writable and WriteErrors).

// keyProbe is the meta key a probe writes and deletes in one transaction.
var keyProbe = []byte("probe")

// probeWrites backs Ping: during an outage, its error, or the outcome of
// a write transaction of its own (outage.Tracker.Probe).
func (s *Store) probeWrites() error {
	return s.writes.Probe(func() error {
		return s.db.Update(func(tx *bbolt.Tx) error {
			meta := tx.Bucket(bucketMeta)
			if err := meta.Put(keyProbe, nil); err != nil {
				return err
			}
			return meta.Delete(keyProbe)
		})
	})
}

// Writable reports whether the last write transaction succeeded.
func (s *Store) Writable() bool { return !s.writes.Failing() }

// WriteErrors counts the write transactions (commits, retention, probes)
// that failed.
func (s *Store) WriteErrors() uint64 { return s.writes.Errors() }
