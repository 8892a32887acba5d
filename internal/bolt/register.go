package bolt

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bbolt "go.etcd.io/bbolt"
)

// RegisterFileName is the register's file inside the data directory.
const RegisterFileName = "presence.db"

var bucketOpen = []byte("open")

// Register keeps a record per open item (the webhooks' subscribers of a
// single node) in a file of its own, so that a process started after a
// crash finds what the crashed one left open. Its writes are not synced
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

// Close syncs the register to the disk and closes it.
func (r *Register) Close() error {
	return errors.Join(r.db.Sync(), r.db.Close())
}
