package redis_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/hub"
	"github.com/ssehub/ssehub/internal/redis"
	"github.com/ssehub/ssehub/internal/redis/redistest"
)

// node is one hub on the shared Redis, following the log in a goroutine
// the test owns.
type node struct {
	hub   *hub.Hub
	store *redis.Store
	stop  func()
}

func openStore(t testing.TB, srv *redistest.Server, opts redis.Options) *redis.Store {
	t.Helper()
	opts.URL = srv.URL()
	return openStoreURL(t, opts)
}

// openStoreURL opens a store on opts.URL.
func openStoreURL(t testing.TB, opts redis.Options) *redis.Store {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(testWriter{t}, nil))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := redis.Open(ctx, opts)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// startNode opens a store, builds a hub on it and follows the log.
func startNode(t testing.TB, srv *redistest.Server, opts redis.Options) *node {
	t.Helper()
	opts.URL = srv.URL()
	return startNodeURL(t, opts)
}

// startNodeURL is startNode on opts.URL.
func startNodeURL(t testing.TB, opts redis.Options) *node {
	t.Helper()
	return startNodeHub(t, opts, hub.Config{})
}

// startNodeHub is startNode on opts.URL with a hub configured by cfg.
func startNodeHub(t testing.TB, opts redis.Options, cfg hub.Config) *node {
	t.Helper()
	st := openStoreURL(t, opts)
	cfg.Log = st
	h := hub.New(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { st.Follow(ctx, h) })
	n := &node{hub: h, store: st, stop: func() { cancel(); wg.Wait(); h.Close() }}
	t.Cleanup(n.stop)
	return n
}

// lateNode is a node whose store is open (its place in the log taken)
// but that does not follow the log until follow is called.
type lateNode struct {
	hub   *hub.Hub
	store *redis.Store
}

func openLate(t testing.TB, srv *redistest.Server, opts redis.Options) *lateNode {
	t.Helper()
	st := openStore(t, srv, opts)
	h := hub.New(hub.Config{Log: st})
	t.Cleanup(h.Close)
	return &lateNode{hub: h, store: st}
}

// follow starts following the log until the test ends.
func (n *lateNode) follow(t testing.TB) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { n.store.Follow(ctx, n.hub) })
	t.Cleanup(func() { cancel(); wg.Wait() })
}

// waitFellBehind waits for s to end as a node's that fell behind the log.
func waitFellBehind(t testing.TB, s *hub.Subscriber) {
	t.Helper()
	select {
	case <-s.Done():
		if !errors.Is(s.Err(), redis.ErrFellBehind) {
			t.Fatalf("ended with %v, want fell behind", s.Err())
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("a node that fell behind kept its subscriptions (%d updates queued)", len(s.Drain(nil)))
	}
}

func publish(t testing.TB, h *hub.Hub, u *hub.Update) string {
	t.Helper()
	id, err := h.Publish(context.Background(), u)
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	return id
}

func subscribe(t testing.TB, h *hub.Hub, opts hub.SubscribeOptions) *hub.Subscriber {
	t.Helper()
	s, err := h.Subscribe(context.Background(), opts)
	if err != nil {
		t.Fatalf("subscribe %v: %v", opts, err)
	}
	t.Cleanup(s.Close)
	return s
}

// receive waits for n updates.
func receive(t testing.TB, s *hub.Subscriber, n int) []*hub.Update {
	t.Helper()
	var got []*hub.Update
	deadline := time.After(10 * time.Second)
	for len(got) < n {
		select {
		case <-s.Ready():
			got = append(got, s.Drain(nil)...)
		case <-s.Done():
			got = append(got, s.Drain(nil)...)
			if len(got) < n {
				t.Fatalf("subscription ended (%v) after %d of %d updates", s.Err(), len(got), n)
			}
		case <-deadline:
			t.Fatalf("got %d of %d updates", len(got), n)
		}
	}
	return got
}

// replay drains s's replay, all its pages, as a stream would. It may run
// in a goroutine of the test's: it reports a failure with Errorf.
func replay(t testing.TB, s *hub.Subscriber) []*hub.Update {
	t.Helper()
	var got []*hub.Update
	deadline := time.After(10 * time.Second)
	for s.Replaying() {
		select {
		case <-s.Ready():
			got = append(got, s.Drain(nil)...)
		case <-s.Done():
			t.Errorf("subscription ended (%v) after %d updates of its replay", s.Err(), len(got))
			return got
		case <-deadline:
			t.Errorf("replayed %d updates, and more are due", len(got))
			return got
		}
	}
	return got
}

func ids(us []*hub.Update) []string {
	out := make([]string, len(us))
	for i, u := range us {
		out[i] = u.ID
	}
	return out
}

// testWriter sends log lines to the test's log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
