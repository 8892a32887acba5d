// Package bolt is ssehub's durable history on bbolt, an embedded B+tree
// store: one file, no server. Appends of concurrent publishes are committed
// together in one transaction and one fsync (group commit); a publish is
// acknowledged only once its update is on disk. Retention by count per topic
// and by age runs in the background in small transactions.
package bolt

import (
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	bbolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/ssehub/ssehub/internal/hub"
	"github.com/ssehub/ssehub/internal/outage"
)

// Bucket names.
var (
	bucketMeta    = []byte("meta")    // epoch, reserved bound
	bucketUpdates = []byte("updates") // seq → update
	bucketTopics  = []byte("topics")  // topic → its index (topicindex.go)
	bucketIDs     = []byte("ids")     // id → seq
	keyEpoch      = []byte("epoch")
)

// FileName is the database file inside the data directory.
const FileName = "ssehub.db"

// Config configures a Store. Zero values take the defaults.
type Config struct {
	Dir            string        // data directory; created if missing
	MaxEvents      int           // updates kept per topic; 0 keeps all
	MaxAge         time.Duration // updates older than this are deleted; 0 keeps them
	RetainInterval time.Duration // how often retention runs; default 1s
	// MaxBatch bounds what one transaction commits, so that no publish
	// waits long for others: as many updates, and as many topic index
	// entries (one per topic of each), unless a single update has more;
	// default 4096.
	MaxBatch int
	// SyncBeforeDeliver makes Stage wait for the commit: no update is
	// readable (so delivered) before it is on disk.
	SyncBeforeDeliver bool
	// LazyHold is how long a commit of lazy updates alone (hub.Update.Lazy)
	// waits for more before it starts, so that a stream of them is
	// committed in fewer, larger transactions; an update that is not lazy
	// ends the wait. Default 5ms; negative: no wait.
	LazyHold time.Duration
	Logger   *slog.Logger
}

// Store is a durable hub.History.
type Store struct {
	cfg Config
	db  *bbolt.DB
	log *slog.Logger
	// writes is whether write transactions succeed (writes.go).
	writes *outage.Tracker
	reqs   chan *appendReq
	// expect is how many appends the next commit may wait for; only the
	// commit loop touches it.
	expect int

	epoch   string
	start   uint64 // where the hub continues: past every position handed out before
	lastSeq uint64
	lastID  string

	mu       sync.Mutex
	staged   []*hub.Update // readable, not yet committed
	reserved uint64        // positions up to here may be staged (see reserveAhead)

	// The commit loop's own.
	committedReserve uint64   // the reserved bound on disk
	newest           uint64   // the newest position given to a commit
	topicOrder       []string // a commit's topics in order (writeIndexes)

	closing  sync.RWMutex // held for reading while an append is queued
	closed   bool
	counts   topicCounts // index entries per topic, for retention
	stop     chan struct{}
	wg       sync.WaitGroup
	closeErr error
	once     sync.Once
}

// Open opens (or creates) the store in cfg.Dir. A directory that cannot be
// read, is locked by another process or holds a corrupt database is an
// error naming the problem: never a silently empty history.
func Open(cfg Config) (*Store, error) {
	if cfg.RetainInterval <= 0 {
		cfg.RetainInterval = time.Second
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 4096
	}
	if cfg.LazyHold == 0 {
		cfg.LazyHold = 5 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory %s: %w", cfg.Dir, err)
	}
	path := filepath.Join(cfg.Dir, FileName)
	db, err := openDB(path)
	if err != nil {
		return nil, err
	}
	s := &Store{cfg: cfg, db: db, log: cfg.Logger, reqs: make(chan *appendReq, cfg.MaxBatch), stop: make(chan struct{})}
	s.writes = outage.New(cfg.Logger, "history writes")
	if err := s.load(); err != nil {
		db.Close()
		return nil, fmt.Errorf("data directory %s holds a corrupt database (move it away to start with an empty history): %w", cfg.Dir, err)
	}
	s.wg.Add(2)
	go s.commitLoop()
	go s.retainLoop()
	return s, nil
}

func openDB(path string) (*bbolt.DB, error) {
	return openFile(path, &bbolt.Options{Timeout: time.Second, NoFreelistSync: true, FreelistType: bbolt.FreelistMapType},
		"not an ssehub database (move it away to start with an empty history)")
}

// openFile opens the bbolt file at path with opts, naming in its errors
// a file in use, a permission refused, or a corrupt file, which notAThing
// tells what to do with.
func openFile(path string, opts *bbolt.Options, notAThing string) (db *bbolt.DB, err error) {
	defer func() { // bbolt panics on some corrupt files
		if r := recover(); r != nil {
			db, err = nil, fmt.Errorf("open %s: corrupt: %v", path, r)
		}
	}()
	db, err = bbolt.Open(path, 0o600, opts)
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return nil, fmt.Errorf("open %s: the data directory is in use by another process", path)
	case errors.Is(err, fs.ErrPermission):
		return nil, fmt.Errorf("open %s: %w", path, err)
	case err != nil:
		return nil, fmt.Errorf("open %s: corrupt or %s: %w", path, notAThing, err)
	}
	return db, nil
}

// load creates the buckets and the epoch of a new store, or reads and checks
// those of an existing one, with the newest update and the topic counts.
func (s *Store) load() (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	return s.db.Update(func(tx *bbolt.Tx) error {
		for _, name := range [][]byte{bucketMeta, bucketUpdates, bucketTopics, bucketIDs} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		if e := meta.Get(keyEpoch); e != nil {
			s.epoch = string(e)
		} else {
			s.epoch = newEpoch()
			if err := meta.Put(keyEpoch, []byte(s.epoch)); err != nil {
				return err
			}
		}
		if k, v := tx.Bucket(bucketUpdates).Cursor().Last(); k != nil {
			seq, ok := keySeq(k)
			u, err := decodeFields(seq, v)
			if !ok || err != nil {
				return fmt.Errorf("newest update: %w", errCorrupt)
			}
			s.lastSeq, s.lastID = seq, u.ID
		}
		s.start = max(s.lastSeq, getReserved(tx))
		s.newest = s.start
		s.reserved, s.committedReserve = s.start+reserveAhead, s.start+reserveAhead
		if err := putReserved(tx, s.reserved); err != nil {
			return err
		}
		found := counts{}
		err := tx.Bucket(bucketTopics).ForEachBucket(func(name []byte) error {
			found[string(name)] = topicIndex{tx.Bucket(bucketTopics).Bucket(name)}.count()
			return nil
		})
		s.counts.add(found, 1)
		return err
	})
}

func newEpoch() string {
	var b [5]byte
	_, _ = rand.Read(b[:])
	return strings.ToLower(base32.StdEncoding.EncodeToString(b[:]))
}

// Position returns the store's epoch, the position the hub continues after
// and the newest stored update's id. The position is past every one handed
// out before, even those staged and lost with a crash (see reserveAhead),
// so no id is ever given twice.
func (s *Store) Position() (epoch string, lastSeq uint64, lastID string) {
	return s.epoch, s.start, s.lastID
}

// Close finishes the appends already queued, stops retention and closes
// the file.
func (s *Store) Close() error {
	s.once.Do(func() {
		s.closing.Lock()
		s.closed = true
		s.closing.Unlock()
		close(s.stop)
		s.wg.Wait()
		s.closeErr = s.db.Close()
	})
	return s.closeErr
}
