package redis_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/hub"
	"github.com/ssehub/ssehub/internal/redis"
	"github.com/ssehub/ssehub/internal/redis/redistest"
)

// syncBuffer is a log destination safe for the store's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestOutOfMemory: a Redis at its maxmemory (noeviction) refuses the adds
// while it still answers PING. The store says so once in its log, Ping
// (the readiness probe) fails naming it, Writable is false; once Redis has
// memory again a probe write of Ping ends the outage, with nobody adding.
func TestOutOfMemory(t *testing.T) {
	srv := redistest.Start(t)
	var log syncBuffer
	st := openStore(t, srv, redis.Options{Logger: slog.New(slog.NewTextHandler(&log, nil))})
	for _, args := range [][]string{{"CONFIG", "SET", "maxmemory-policy", "noeviction"}, {"CONFIG", "SET", "maxmemory", "3mb"}} {
		if reply, err := srv.Do(args...); err != nil || reply != "+OK" {
			t.Fatalf("%v: %q %v", args, reply, err)
		}
	}
	ctx := context.Background()
	data := strings.Repeat("x", 10_000)
	var err error
	for i := 0; err == nil; i++ {
		if i == 2000 {
			t.Fatal("2,000 updates of 10 KB fit in a Redis of 3 MB")
		}
		err = st.Add(ctx, []*hub.Update{{Topics: []string{"oom"}, Data: fmt.Sprint(i, data)}})
	}
	if !strings.Contains(err.Error(), "OOM") {
		t.Fatalf("add past maxmemory: %v, want Redis's OOM error", err)
	}
	// Well under what Redis holds now: at the edge, a freed query buffer
	// could let one of the adds below through.
	if reply, err := srv.Do("CONFIG", "SET", "maxmemory", "1mb"); err != nil || reply != "+OK" {
		t.Fatalf("lower maxmemory: %q %v", reply, err)
	}
	for range 5 {
		_ = st.Add(ctx, []*hub.Update{{Topics: []string{"oom"}, Data: data}})
	}
	if err := st.Ping(ctx); err == nil || !strings.Contains(err.Error(), "redis writes failing") || !strings.Contains(err.Error(), "OOM") {
		t.Fatalf("Ping while Redis refuses writes: %v", err)
	}
	if st.Writable() || st.WriteErrors() < 6 {
		t.Fatalf("Writable %v, WriteErrors %d", st.Writable(), st.WriteErrors())
	}
	if n := strings.Count(log.String(), "redis writes failing"); n != 1 {
		t.Fatalf("%d log lines for one outage:\n%s", n, log.String())
	}

	if reply, err := srv.Do("CONFIG", "SET", "maxmemory", "0"); err != nil || reply != "+OK" {
		t.Fatalf("lift maxmemory: %q %v", reply, err)
	}
	deadline := time.Now().Add(10 * time.Second) // the probe waits 2 s after the last failure
	for st.Ping(ctx) != nil {
		if time.Now().After(deadline) {
			t.Fatalf("Ping 10 s after Redis had memory again: %v", st.Ping(ctx))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !st.Writable() || !strings.Contains(log.String(), "redis writes succeed again") {
		t.Fatalf("after the outage: Writable %v\n%s", st.Writable(), log.String())
	}
}
