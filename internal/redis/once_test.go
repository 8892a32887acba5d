package redis_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/ssehub/ssehub/internal/hub"
	"github.com/ssehub/ssehub/internal/redis"
	"github.com/ssehub/ssehub/internal/redis/redistest"
)

// client opens a plain Redis client on srv for a test to look at the keys.
func client(t *testing.T, srv *redistest.Server) *goredis.Client {
	t.Helper()
	rdb := goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// TestPayloadStoredOnce: the log holds a reference to each update, its
// topics' streams the payload; another node and a wildcard replay read
// the updates whole all the same.
func TestPayloadStoredOnce(t *testing.T) {
	srv := redistest.Start(t)
	a, b := startNode(t, srv, redis.Options{}), startNode(t, srv, redis.Options{})
	live := subscribe(t, b.hub, hub.SubscribeOptions{Topics: []string{"*"}})
	var want []string
	for i := range 5 {
		u := &hub.Update{Topics: []string{"t"}, Data: fmt.Sprint("data ", i)}
		if i == 3 {
			u.Topics, u.ID = []string{"t", "u"}, "chosen-3"
		}
		want = append(want, publish(t, a.hub, u))
	}
	ctx := context.Background()
	rdb := client(t, srv)
	log, err := rdb.XRange(ctx, "ssehub:log", "-", "+").Result()
	if err != nil || len(log) != 5 {
		t.Fatalf("log: %d entries, %v", len(log), err)
	}
	for _, m := range log {
		if _, ok := m.Values["u"]; ok || m.Values["t"] != "t" {
			t.Errorf("log entry %s holds %v, want a reference to topic t and no payload", m.ID, m.Values)
		}
	}
	if n, _ := rdb.XLen(ctx, "ssehub:t:u").Result(); n != 1 {
		t.Errorf("topic u holds %d entries, want 1", n)
	}
	got := receive(t, live, 5)
	replayed := replay(t, subscribe(t, b.hub, hub.SubscribeOptions{Topics: []string{"*"}, LastEventID: hub.Earliest}))
	for name, us := range map[string][]*hub.Update{"live": got, "replayed": replayed} {
		if !slices.Equal(ids(us), want) || us[4].Data != "data 4" || us[3].ID != "chosen-3" {
			t.Errorf("%s: %v, want %v with their data", name, ids(us), want)
		}
	}
}

// TestTopicKeepsWhatTheLogHolds: a topic's stream drops nothing the log
// still refers to, so a node that lags as far as the log reaches reads
// every update (a topic trimmed to its own length alone would have lost
// the payloads); once the log has moved past them, the quiet topic is
// trimmed to its length without being published to again.
func TestTopicKeepsWhatTheLogHolds(t *testing.T) {
	srv := redistest.Start(t)
	opts := redis.Options{MaxEvents: 10, LogLength: 3000}
	a := startNode(t, srv, opts)
	late := openLate(t, srv, opts)
	s := subscribe(t, late.hub, hub.SubscribeOptions{Topics: []string{"quiet"}})
	for i := range 2500 {
		publish(t, a.hub, &hub.Update{Topics: []string{"quiet"}, Data: fmt.Sprint(i)})
	}
	late.follow(t)
	ctx := context.Background()
	if got := receive(t, s, 2500); got[2499].Data != "2499" {
		t.Fatalf("the last update read %q", got[2499].Data)
	}
	rdb := client(t, srv)
	for i := range 4000 {
		publish(t, a.hub, &hub.Update{Topics: []string{"busy"}, Data: fmt.Sprint(i)})
	}
	if n, _ := rdb.XLen(ctx, "ssehub:t:quiet").Result(); n != 10 {
		t.Errorf("the quiet topic holds %d entries once the log moved on, want 10", n)
	}
	if n, _ := rdb.XLen(ctx, "ssehub:t:busy").Result(); n < 3000 || n > 3200 {
		t.Errorf("the busy topic holds %d entries, want what the log holds (3,000 to 3,200)", n)
	}
	if err := rdb.ZScore(ctx, "ssehub:over", "ssehub:t:quiet").Err(); !errors.Is(err, goredis.Nil) {
		t.Errorf("the quiet topic still marked over its length: %v", err)
	}
}

// TestOldFormatEntriesRead: log entries that carry their payload, as
// earlier versions wrote them, are followed and replayed.
func TestOldFormatEntriesRead(t *testing.T) {
	srv := redistest.Start(t)
	n := startNode(t, srv, redis.Options{})
	first := publish(t, n.hub, &hub.Update{Topics: []string{"t"}, Data: "new"})
	waitFanned(t, n.hub, "t", first)
	live := subscribe(t, n.hub, hub.SubscribeOptions{Topics: []string{"t"}})
	ctx := context.Background()
	rdb := client(t, srv)
	epoch := rdb.Get(ctx, "ssehub:epoch").Val()
	count := rdb.Incr(ctx, "ssehub:count").Val()
	payload, _ := (&hub.Update{Topics: []string{"t"}, Data: "old"}).MarshalBinary()
	id, err := rdb.XAdd(ctx, &goredis.XAddArgs{Stream: "ssehub:log", Values: []any{"e", epoch, "c", count, "u", payload}}).Result()
	if err != nil {
		t.Fatal(err)
	}
	rdb.XAdd(ctx, &goredis.XAddArgs{Stream: "ssehub:t:t", ID: id, Values: []any{"e", epoch, "u", payload}})
	if got := receive(t, live, 1); got[0].Data != "old" {
		t.Fatalf("followed %q, want old", got[0].Data)
	}
	got := replay(t, subscribe(t, n.hub, hub.SubscribeOptions{Topics: []string{"*"}, LastEventID: first}))
	if len(got) != 1 || got[0].Data != "old" {
		t.Fatalf("replayed %d updates (%v), want the old one", len(got), ids(got))
	}
}

// TestExpiredPayloadRebases: a node that reads a reference whose payload
// expired with its topic (MaxAge) ends its subscriptions as one that fell
// behind, rather than skipping the update; a node starting on such a log
// starts.
func TestExpiredPayloadRebases(t *testing.T) {
	srv := redistest.Start(t)
	opts := redis.Options{MaxAge: time.Second}
	a := startNode(t, srv, opts)
	late := openLate(t, srv, opts)
	s := subscribe(t, late.hub, hub.SubscribeOptions{Topics: []string{"t"}})
	publish(t, a.hub, &hub.Update{Topics: []string{"t"}, Data: "soon gone"})
	time.Sleep(1500 * time.Millisecond)
	openStore(t, srv, opts) // a node starting now, on a log whose newest payload expired
	late.follow(t)
	waitFellBehind(t, s)
}

// TestEarlierNodesGetPayloadsInTheLog: while a node of an earlier version
// follows the log (it listens on the peers channel only), the log's
// entries carry their payloads; once it is gone, references only.
func TestEarlierNodesGetPayloadsInTheLog(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	rdb := client(t, srv)
	earlier := rdb.Subscribe(ctx, "ssehub:peers")
	if _, err := earlier.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	n := startNode(t, srv, redis.Options{})
	newest := func() goredis.XMessage {
		publish(t, n.hub, &hub.Update{Topics: []string{"t"}, Data: "x"})
		m, err := rdb.XRevRangeN(ctx, "ssehub:log", "+", "-", 1).Result()
		if err != nil || len(m) != 1 {
			t.Fatalf("log: %v, %v", m, err)
		}
		return m[0]
	}
	if m := newest(); m.Values["u"] == nil {
		t.Fatalf("with a node of an earlier version, a log entry holds %v, want its payload", m.Values)
	}
	_ = earlier.Close()
	deadline := time.Now().Add(5 * time.Second)
	for newest().Values["u"] != nil {
		if time.Now().After(deadline) {
			t.Fatal("the log still holds payloads once the earlier node is gone")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
