package bolt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bbolt "go.etcd.io/bbolt"
)

// RegisterFileName is the register's file inside the data directory.
const RegisterFileName = "presence.db"

var (
	bucketOpen   = []byte("open")
	bucketQueued = []byte("queued")
)

// Register keeps a record per open item (the webhooks' subscribers of a
// single node) and the records of a queue (their events not yet sent) in a
// file of its own, so that a process started after a crash, or after a
// shutdown that could not send everything, finds what the last one left. Its writes are not synced
// to the disk: they survive the process (kill -9), not the machine's power
// loss, and cost no fsync on the paths that open and close streams.
type Register struct {
	db *bbolt.DB
}

// OpenRegister opens, or creates, the register in dir.
func OpenRegister(dir string) (*Register, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("register: %w", err)
	}
	path := filepath.Join(dir, RegisterFileName)
	db, err := openFile(path, &bbolt.Options{Timeout: time.Second, NoSync: true, NoFreelistSync: true, FreelistType: bbolt.FreelistMapType},
		"not an ssehub register (remove it: only the ends of the last run's crash are lost)")
	if err != nil {
		return nil, err
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucketOpen)
		if err == nil {
			_, err = tx.CreateBucketIfNotExists(bucketQueued)
		}
		return err
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return &Register{db: db}, nil
}

// Apply records the items of opened (key → record) and forgets those of
// closed, in one transaction; a key in both is forgotten.
func (r *Register) Apply(opened map[string][]byte, closed []string) error {
	err := r.db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketOpen)
		for k, v := range opened {
			if err := b.Put([]byte(k), v); err != nil {
				return err
			}
		}
		for _, k := range closed {
			if err := b.Delete([]byte(k)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("register: %w", err)
	}
	return nil
}

// Open returns the records of the items open now, by key.
func (r *Register) Open() (map[string][]byte, error) {
	out := map[string][]byte{}
	err := r.db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketOpen).ForEach(func(k, v []byte) error {
			out[string(k)] = append([]byte(nil), v...)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("register: %w", err)
	}
	return out, nil
}

// Queue records the queue's new records under their keys, which increase
// by one from record to record, forgets those with keys up to sent (sent
// away: 0 forgets none), and keeps no more than keep of the newest, in one
// transaction.
func (r *Register) Queue(keys []uint64, records [][]byte, sent uint64, keep int) error {
	err := r.db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketQueued)
		newest := uint64(0)
		if last, _ := b.Cursor().Last(); len(last) == 8 {
			newest = binary.BigEndian.Uint64(last)
		}
		if len(keys) > 0 {
			newest = max(newest, keys[len(keys)-1])
		}
		if newest > uint64(keep) {
			sent = max(sent, newest-uint64(keep))
		}
		// The old keys go before the new ones come: deleting at the front
		// of a leaf that has just taken thousands of keys moves them all,
		// at each delete. Keys are gathered first, since a cursor's Delete
		// makes its Next skip one.
		var gone [][]byte
		c := b.Cursor()
		for k, _ := c.First(); k != nil && binary.BigEndian.Uint64(k) <= sent; k, _ = c.Next() {
			gone = append(gone, k)
		}
		for _, k := range gone {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		for i, k := range keys {
			if k <= sent {
				continue
			}
			if err := b.Put(binary.BigEndian.AppendUint64(nil, k), records[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("register queue: %w", err)
	}
	return nil
}

// Queued returns the queue's records, oldest first, with their keys.
func (r *Register) Queued() (keys []uint64, records [][]byte, err error) {
	err = r.db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketQueued).ForEach(func(k, v []byte) error {
			if len(k) == 8 {
				keys, records = append(keys, binary.BigEndian.Uint64(k)), append(records, append([]byte(nil), v...))
			}
			return nil
		})
	})
	if err != nil {
		return nil, nil, fmt.Errorf("register queue: %w", err)
	}
	return keys, records, nil
}

// Close syncs the register to the disk and closes it.
func (r *Register) Close() error {
	return errors.Join(r.db.Sync(), r.db.Close())
}
