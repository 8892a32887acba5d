package redis_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/ssehub/ssehub/internal/redis"
	"github.com/ssehub/ssehub/internal/redis/redistest"
	"github.com/ssehub/ssehub/internal/webhook"
)

var allTypes = webhook.Policy{Types: webhook.AllTypes, MaxOutbox: 1000, NodeTimeout: time.Minute}

func started(id string, topics ...string) webhook.Change {
	body, _ := json.Marshal(map[string]any{"subscriber": id, "topics": topics})
	return webhook.Change{Type: webhook.SubscriptionStarted, Subscriber: id, Topics: topics, At: time.Now(), Body: body}
}

func ended(id string) webhook.Change {
	return webhook.Change{Type: webhook.SubscriptionEnded, Subscriber: id, At: time.Now()}
}

// outbox reads the whole outbox as "type subject" lines, the subject
// being the topic or the subscriber (and the reason of an end).
func outbox(t *testing.T, st *redis.Store) []string {
	t.Helper()
	es, err := st.ReadOutbox(context.Background(), 10000, -1)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		subject := e.Topic
		if e.Type == webhook.SubscriptionStarted || e.Type == webhook.SubscriptionEnded {
			var f struct{ Subscriber string }
			if err := json.Unmarshal(e.Body, &f); err != nil {
				t.Fatalf("entry %s: body %q: %v", e.ID, e.Body, err)
			}
			subject = strings.TrimSpace(f.Subscriber + " " + e.Reason)
		}
		out = append(out, e.Type+" "+subject)
	}
	return out
}

func apply(t *testing.T, st *redis.Store, node string, p webhook.Policy, cs ...webhook.Change) int {
	t.Helper()
	n, err := st.ApplyPresence(context.Background(), node, cs, p)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestWebhookPresence: the counts are shared by the nodes, a topic is
// occupied by its first subscriber and vacated by its last, whichever
// node they are on, and applying a change twice does nothing more.
func TestWebhookPresence(t *testing.T) {
	st := openStore(t, redistest.Start(t), redis.Options{})
	apply(t, st, "a", allTypes, started("s1", "books/1", "books/2"))
	apply(t, st, "b", allTypes, started("s2", "books/1"), started("s2", "books/1")) // twice: once
	apply(t, st, "a", allTypes, ended("s1"), ended("s1"), ended("nobody"))
	apply(t, st, "b", allTypes, ended("s2"))
	want := []string{
		"subscription.started s1", "topic.occupied books/1", "topic.occupied books/2",
		"subscription.started s2",
		"subscription.ended s1 disconnected", "topic.vacated books/2",
		"subscription.ended s2 disconnected", "topic.vacated books/1",
	}
	if got := outbox(t, st); !slices.Equal(got, want) {
		t.Errorf("outbox:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestWebhookTypes: the events not wanted stay out of the outbox, but the
// counts still move.
func TestWebhookTypes(t *testing.T) {
	st := openStore(t, redistest.Start(t), redis.Options{})
	p := allTypes
	p.Types = []string{webhook.TopicVacated}
	apply(t, st, "a", p, started("s1", "x"), started("s2", "x"), ended("s1"), ended("s2"))
	if got := outbox(t, st); !slices.Equal(got, []string{"topic.vacated x"}) {
		t.Errorf("outbox %q, want the one vacated", got)
	}
}

// TestWebhookReap: once a node's lease lapses, another ends its
// subscribers (reason node_lost) and vacates the topics only they held,
// in chunks; the lost node learns of it at its next heartbeat, and its
// late end of an already ended subscriber does nothing.
func TestWebhookReap(t *testing.T) {
	st := openStore(t, redistest.Start(t), redis.Options{})
	ctx := context.Background()
	for _, n := range []string{"a", "b"} {
		if _, err := st.Heartbeat(ctx, n, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	var cs []webhook.Change
	for i := range 5 {
		cs = append(cs, started(fmt.Sprintf("a%d", i), "shared", fmt.Sprintf("only-a/%d", i)))
	}
	apply(t, st, "a", allTypes, cs...)
	apply(t, st, "b", allTypes, started("b0", "shared"))
	if node, _, _, err := st.Reap(ctx, 100, allTypes); err != nil || node != "" {
		t.Fatalf("reap with every lease current: %q %v", node, err)
	}
	before := len(outbox(t, st))

	if _, err := st.Heartbeat(ctx, "a", 0); err != nil { // a's lease lapses at once
		t.Fatal(err)
	}
	total := 0
	for {
		node, n, _, err := st.Reap(ctx, 2, allTypes)
		if err != nil {
			t.Fatal(err)
		}
		if node == "" {
			break
		}
		if node != "a" || n > 2 {
			t.Fatalf("reaped %d of node %q, want at most 2 of a", n, node)
		}
		total += n
	}
	if total != 5 {
		t.Errorf("%d subscribers of a ended, want 5", total)
	}
	after := outbox(t, st)[before:]
	var ends, vacated []string
	for _, l := range after {
		switch {
		case strings.HasPrefix(l, "subscription.ended"):
			ends = append(ends, l)
		case strings.HasPrefix(l, "topic.vacated"):
			vacated = append(vacated, l)
		default:
			t.Errorf("unexpected event %q", l)
		}
	}
	if len(ends) != 5 || !strings.HasSuffix(ends[0], " node_lost") || len(vacated) != 5 || slices.Contains(vacated, "topic.vacated shared") {
		t.Errorf("after the reap:\n%s\nwant 5 ends (node_lost) and the 5 only-a topics vacated, not shared (b is there)", strings.Join(after, "\n"))
	}
	if reaped, err := st.Heartbeat(ctx, "a", time.Minute); err != nil || !reaped {
		t.Errorf("a's heartbeat after the reap: %v %v, want told it was reaped", reaped, err)
	}
	if reaped, _ := st.Heartbeat(ctx, "a", time.Minute); reaped {
		t.Error("told twice")
	}
	if ids, err := st.Recorded(ctx, "a"); err != nil || len(ids) != 0 {
		t.Errorf("a's records after the reap: %q %v", ids, err)
	}
	n := len(outbox(t, st))
	apply(t, st, "a", allTypes, ended("a0"))
	if len(outbox(t, st)) != n {
		t.Error("a late end of a reaped subscriber made events")
	}
	if ids, _ := st.Recorded(ctx, "b"); !slices.Equal(ids, []string{"b0"}) {
		t.Errorf("b's records %q", ids)
	}
}

// TestWebhookOutboxLease: one node at a time holds the outbox's lease; a
// node that lost it cannot remove events; the outbox keeps its bound and
// says how many it dropped.
func TestWebhookOutboxLease(t *testing.T) {
	st := openStore(t, redistest.Start(t), redis.Options{})
	ctx := context.Background()
	if ok, err := st.Lead(ctx, "a", time.Minute); err != nil || !ok {
		t.Fatalf("a leads: %v %v", ok, err)
	}
	if ok, _ := st.Lead(ctx, "b", time.Minute); ok {
		t.Fatal("b leads too")
	}
	p := allTypes
	p.MaxOutbox = 4
	trimmed := apply(t, st, "a", p, started("s1", "t1"), started("s2", "t2"), started("s3", "t3"))
	if trimmed != 2 {
		t.Errorf("trimmed %d of 6 events to keep 4, want 2", trimmed)
	}
	es, err := st.ReadOutbox(ctx, 2, -1)
	if err != nil || len(es) != 2 || es[0].Type != webhook.SubscriptionStarted {
		t.Fatalf("read: %+v %v", es, err)
	}
	if ok, _ := st.AckOutbox(ctx, "b", []string{es[0].ID}); ok {
		t.Error("b removed events without the lease")
	}
	if ok, err := st.AckOutbox(ctx, "a", []string{es[0].ID, es[1].ID}); err != nil || !ok {
		t.Errorf("a's ack: %v %v", ok, err)
	}
	if got := outbox(t, st); len(got) != 2 {
		t.Errorf("left %q, want 2", got)
	}
	if err := st.Unlead(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := st.Lead(ctx, "b", time.Minute); !ok {
		t.Error("b cannot lead after a gave up")
	}
	// An empty outbox: the read waits, then returns nothing.
	st2 := openStore(t, redistest.Start(t), redis.Options{})
	if es, err := st2.ReadOutbox(ctx, 10, 50*time.Millisecond); err != nil || len(es) != 0 {
		t.Errorf("empty outbox: %v %v", es, err)
	}
}

// TestWebhookLeave: a node leaving with no subscriber is forgotten; one
// with subscribers left stays, to be reaped.
func TestWebhookLeave(t *testing.T) {
	st := openStore(t, redistest.Start(t), redis.Options{})
	ctx := context.Background()
	apply(t, st, "a", allTypes, started("s1", "t"))
	if err := st.Leave(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Heartbeat(ctx, "a", 0); err != nil {
		t.Fatal(err)
	}
	if node, n, _, _ := st.Reap(ctx, 10, allTypes); node != "a" || n != 1 {
		t.Errorf("reap after a left with a subscriber: %q %d", node, n)
	}
	apply(t, st, "b", allTypes, started("s2", "t"), ended("s2"))
	if _, err := st.Heartbeat(ctx, "b", 0); err != nil { // lapsed: found first, were it left
		t.Fatal(err)
	}
	if err := st.Leave(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Heartbeat(ctx, "c", 0); err != nil {
		t.Fatal(err)
	}
	if node, _, _, _ := st.Reap(ctx, 10, allTypes); node != "c" {
		t.Errorf("reaped %q: b, gone, should not be found", node)
	}
}

// TestWebhookOutboxBytes: the outbox keeps no more bytes than the policy
// says, dropping its oldest and counting them; what the lead acknowledges
// is taken off the count, which is back to 0 once the outbox is empty.
func TestWebhookOutboxBytes(t *testing.T) {
	r := redistest.Start(t)
	st := openStore(t, r, redis.Options{})
	p := webhook.Policy{Types: []string{webhook.SubscriptionStarted}, MaxOutbox: 1000, MaxOutboxBytes: 100 << 10, NodeTimeout: time.Minute}
	long := strings.Repeat("x", 10<<10)
	dropped := 0
	for i := range 30 { // 30 subscribers of 10 KiB each: 300 KiB of events
		dropped += apply(t, st, "a", p, started(fmt.Sprintf("s%02d", i), "room/"+long))
	}
	got := outbox(t, st)
	if dropped == 0 || len(got) != 30-dropped || len(got) > 10 || got[len(got)-1] != "subscription.started s29" {
		t.Fatalf("dropped %d, outbox of %d ending %q: want the newest within 100 KiB", dropped, len(got), got[len(got)-1])
	}
	bytes := func() int {
		rdb := goredis.NewClient(&goredis.Options{Addr: r.Addr()})
		defer rdb.Close()
		n, err := rdb.Get(context.Background(), "ssehub:wh:outbytes").Int()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if b := bytes(); b > 100<<10 || b < len(got)*10<<10 {
		t.Fatalf("outbytes %d for %d events of 10 KiB", b, len(got))
	}
	if ok, err := st.Lead(context.Background(), "a", time.Minute); !ok || err != nil {
		t.Fatal(ok, err)
	}
	es, err := st.ReadOutbox(context.Background(), 3, -1)
	if err != nil {
		t.Fatal(err)
	}
	before := bytes()
	if ok, err := st.AckOutbox(context.Background(), "a", []string{es[0].ID, es[1].ID, es[2].ID}); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if b := bytes(); before-b < 3*10<<10 || before-b > 3*11<<10 {
		t.Fatalf("acknowledging 3 events of 10 KiB took %d bytes off the count", before-b)
	}
	es, _ = st.ReadOutbox(context.Background(), 1000, -1)
	var ids []string
	for _, e := range es {
		ids = append(ids, e.ID)
	}
	if ok, err := st.AckOutbox(context.Background(), "a", ids); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if b := bytes(); b != 0 {
		t.Fatalf("outbytes %d once the outbox is empty", b)
	}
}
