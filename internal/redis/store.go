// Package redis is the Redis engine that lets several ssehub nodes share one
// history and one order of events. Every update is numbered and stored by a
// Lua script in its topics' streams (the per-topic history) and, as a
// reference to them under the same entry id, in one Redis Stream, the log;
// every node follows the log (XREAD, the payloads read from the topics in
// the same round trip) and fans out what it reads, so each event reaches
// every subscriber on every node once, in the log's order. Ids derive from
// the log's entry ids, so a client resumes on any node.
package redis

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"log/slog"
	neturl "net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/ssehub/ssehub/internal/hub"
	"github.com/ssehub/ssehub/internal/outage"
)

// Defaults for Options.
const (
	DefaultPrefix    = "ssehub"
	DefaultLogLength = 100000
	DefaultMaxEvents = 10000
	// DefaultIDTTL is how long a publisher-chosen id stays resolvable when
	// no MaxAge bounds the history.
	DefaultIDTTL = 7 * 24 * time.Hour
	// DefaultReplicaTimeout is how long a commit waits for Options.Replicas
	// replicas when Options.ReplicaTimeout is 0.
	DefaultReplicaTimeout = time.Second
	// MaxReplicaTimeout bounds Options.ReplicaTimeout: the wait must end
	// well within the connection's read timeout.
	MaxReplicaTimeout = 2 * time.Second
)

// Options configures a Store.
type Options struct {
	URL       string        // redis://[user:password@]host:port/db or rediss:// for TLS
	Prefix    string        // starts every key, so several hubs can share a Redis
	LogLength int           // entries kept in the log: how far a node may fall behind, and the wildcard replay window
	MaxEvents int           // entries kept per topic
	MaxAge    time.Duration // entries older than this are trimmed; 0 keeps them until the counts
	Logger    *slog.Logger
	// Replicas is how many replicas must have a commit before its
	// publishes are answered (Redis WAIT on the commit's connection), so
	// that a failover to a replica cannot take back an acknowledged
	// update; 0 answers once the primary has it. A commit that fewer
	// replicas acknowledge within ReplicaTimeout (DefaultReplicaTimeout
	// when 0, at most MaxReplicaTimeout) fails with ErrNotReplicated,
	// though its updates are stored on the primary and delivered.
	Replicas       int
	ReplicaTimeout time.Duration
}

// Store is a hub.Log kept in Redis.
type Store struct {
	opts    Options
	rdb     *goredis.Client
	log     *slog.Logger
	keys    keys
	epoch   atomic.Pointer[string]
	start   position // the log's head when the store was opened
	up      atomic.Bool
	errors  atomic.Uint64
	rebases atomic.Uint64
	// legacy is whether a node of an earlier version follows the log, which
	// needs the payloads in it (legacy.go).
	legacy atomic.Bool
	// unreplicated counts commits fewer than Options.Replicas acknowledged.
	unreplicated atomic.Uint64
	// writes is whether the add script's writes succeed (a Redis at its
	// maxmemory refuses them while it still answers PING).
	writes *outage.Tracker

	adds       chan *addRequest // to the committer
	closed     chan struct{}    // closed by Close: the committer ends
	committed  chan struct{}    // closed when the committers (and watchLegacy) have ended
	committers sync.WaitGroup
	closeOnce  sync.Once
}

// keys are the names of the store's Redis keys.
type keys struct {
	prefix, epoch, count, log string
}

func newKeys(prefix string) keys {
	return keys{prefix: prefix, epoch: prefix + ":epoch", count: prefix + ":count", log: prefix + ":log"}
}

func (k keys) topic(t string) string { return k.prefix + ":t:" + t }
func (k keys) id(id string) string   { return k.prefix + ":id:" + id }

// Open connects to Redis, makes sure the shared epoch exists and reads the
// log's head, where this node starts following.
func Open(ctx context.Context, opts Options) (*Store, error) {
	rdb, where, err := newClient(opts.URL)
	if err != nil {
		return nil, fmt.Errorf("redis url: %w", err)
	}
	opts = withDefaults(opts)
	quietLogs.Do(func() { goredis.SetLogger(redisLogger{opts.Logger}) })
	s := &Store{opts: opts, rdb: rdb, log: opts.Logger, keys: newKeys(opts.Prefix), writes: outage.New(opts.Logger, "redis writes")}
	if err := s.open(ctx); err != nil {
		_ = s.rdb.Close()
		return nil, fmt.Errorf("redis %s: %w", where, err)
	}
	s.up.Store(true)
	s.checkLegacy()
	s.adds, s.closed, s.committed = make(chan *addRequest), make(chan struct{}), make(chan struct{})
	for range committers {
		s.committers.Go(s.commit)
	}
	s.committers.Go(s.watchLegacy)
	go func() { s.committers.Wait(); close(s.committed) }()
	return s, nil
}

func withDefaults(o Options) Options {
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.LogLength <= 0 {
		o.LogLength = DefaultLogLength
	}
	if o.MaxEvents <= 0 {
		o.MaxEvents = DefaultMaxEvents
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.ReplicaTimeout <= 0 {
		o.ReplicaTimeout = DefaultReplicaTimeout
	}
	o.ReplicaTimeout = min(o.ReplicaTimeout, MaxReplicaTimeout)
	return o
}

func (s *Store) open(ctx context.Context) error {
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		return err
	}
	if err := s.checkVersion(ctx); err != nil {
		return err
	}
	if _, err := s.ensureEpoch(ctx); err != nil {
		return err
	}
	head, err := s.head(ctx)
	if err != nil {
		return err
	}
	s.start = head
	return nil
}

// ensureEpoch creates the shared epoch unless a node already has, and
// returns it.
func (s *Store) ensureEpoch(ctx context.Context) (string, error) {
	if err := s.rdb.SetNX(ctx, s.keys.epoch, randomEpoch(), 0).Err(); err != nil {
		return "", fmt.Errorf("create epoch: %w", err)
	}
	e, err := s.rdb.Get(ctx, s.keys.epoch).Result()
	if err != nil {
		return "", fmt.Errorf("read epoch: %w", err)
	}
	s.epoch.Store(&e)
	return e, nil
}

func randomEpoch() string {
	var b [5]byte
	_, _ = rand.Read(b[:])
	return strings.ToLower(base32.StdEncoding.EncodeToString(b[:]))
}

// Epoch returns the shared epoch last seen.
func (s *Store) Epoch() string { return *s.epoch.Load() }

// Position tells the hub where the log stood when the store was opened
// (hub.Positioner): the node starts there and follows from there.
func (s *Store) Position() (epoch string, lastSeq uint64, lastID string) {
	return s.Epoch(), s.start.seq, s.start.id
}

// Ping checks that Redis answers and, after a failed write, that it takes
// writes again; it backs the readiness probe.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	return s.probeWrites(ctx)
}

// probeWrites backs Ping: during an outage, its error, or the outcome of
// writing a short-lived key of its own (outage.Tracker.Probe).
func (s *Store) probeWrites(ctx context.Context) error {
	return s.writes.Probe(func() error {
		return s.rdb.Set(ctx, s.keys.prefix+":probe", "1", 10*time.Second).Err()
	})
}

// Writable reports whether the last write of the add script succeeded.
func (s *Store) Writable() bool { return !s.writes.Failing() }

// WriteErrors counts the add script's failed writes (and failed probes).
func (s *Store) WriteErrors() uint64 { return s.writes.Errors() }

// Up reports whether the last command to Redis succeeded.
func (s *Store) Up() bool { return s.up.Load() }

// Errors counts failed Redis commands since the store opened.
func (s *Store) Errors() uint64 { return s.errors.Load() }

// note records the outcome of a Redis command for Up and Errors.
func (s *Store) note(err error) error {
	if err != nil && !errors.Is(err, goredis.Nil) && !errors.Is(err, context.Canceled) {
		s.errors.Add(1)
		s.up.Store(false)
		return err
	}
	s.up.Store(true)
	return err
}

// Unreplicated counts the commits (each of one or more publishes) that
// fewer replicas than Options.Replicas acknowledged in time.
func (s *Store) Unreplicated() uint64 { return s.unreplicated.Load() }

// Rebases counts the times the follower ended every subscription.
func (s *Store) Rebases() uint64 { return s.rebases.Load() }

// Close ends the committer, once the batch it is storing is done, and
// closes the connections to Redis. Adds after Close fail.
func (s *Store) Close() error {
	s.closeOnce.Do(func() { close(s.closed) })
	<-s.committed
	return s.rdb.Close()
}

var (
	_ hub.Log     = (*Store)(nil)
	_ hub.LogHead = (*Store)(nil)
)

// quietLogs sends go-redis's own log lines (one per failed dial while Redis
// is down) to the store's logger at debug level: the store logs outages
// itself, once.
var quietLogs sync.Once

type redisLogger struct{ log *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.DebugContext(ctx, "go-redis: "+fmt.Sprintf(format, v...))
}

// CheckURL reports whether url is a Redis URL the store can open.
func CheckURL(url string) error {
	_, _, err := parseURL(url)
	return err
}

// newClient returns a client for url, and where it connects for messages.
func newClient(url string) (*goredis.Client, string, error) {
	fo, ro, err := parseURL(url)
	switch {
	case err != nil:
		return nil, "", err
	case fo != nil:
		fo.DialTimeout, fo.ReadTimeout, fo.WriteTimeout, fo.MaxRetries = dialTimeout, ioTimeout, ioTimeout, 1
		where := fmt.Sprintf("master %q through sentinels %s", fo.MasterName, strings.Join(fo.SentinelAddrs, ","))
		return goredis.NewFailoverClient(fo), where, nil
	}
	ro.DialTimeout, ro.ReadTimeout, ro.WriteTimeout, ro.MaxRetries = dialTimeout, ioTimeout, ioTimeout, 1
	return goredis.NewClient(ro), ro.Addr, nil
}

// parseURL reads url as the options of a client of one server, or, with a
// master_name parameter, of Redis Sentinels (its host and any addr
// parameters) that name the master, again after each failover.
func parseURL(url string) (*goredis.FailoverOptions, *goredis.Options, error) {
	u, err := neturl.Parse(url)
	if err != nil {
		return nil, nil, err
	}
	if u.Query().Has("master_name") {
		fo, err := goredis.ParseFailoverURL(url)
		return fo, nil, err
	}
	ro, err := goredis.ParseURL(url)
	return nil, ro, err
}

// Timeouts of the connections to Redis.
const (
	dialTimeout = 2 * time.Second
	ioTimeout   = 3 * time.Second
)
