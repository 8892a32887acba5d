package webhook_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	hook "github.com/ssehub/ssehub/client/webhook"
	"github.com/ssehub/ssehub/internal/bolt"
	"github.com/ssehub/ssehub/internal/hub"
	"github.com/ssehub/ssehub/internal/subscriptions"
	"github.com/ssehub/ssehub/internal/webhook"
	"github.com/ssehub/ssehub/internal/webhook/webhooktest"
)

var secret = []byte("test-secret-0123456789")

// start returns a dispatcher posting to url, with short backoffs, closed
// when the test ends.
func start(t *testing.T, url string, change func(*webhook.Config)) *webhook.Dispatcher {
	t.Helper()
	cfg := webhook.Config{URL: url, Secret: secret, MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))}
	if change != nil {
		change(&cfg)
	}
	d := webhook.New(cfg)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = d.Close(ctx)
	})
	return d
}

func sub(id string, topics ...string) *subscriptions.Subscriber {
	return &subscriptions.Subscriber{ID: id, Topics: topics, Since: time.Now()}
}

// eventually waits until cond holds, failing the test after 5 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(5 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline.C:
			t.Fatalf("no %s within 5 s", what)
		case <-tick.C:
		}
	}
}

// TestEvents: what a subscriber's start and end, and a publish, send: the
// subscriber's fields, the topics it occupies and vacates, and with
// update.published on, the update.
func TestEvents(t *testing.T) {
	r := webhooktest.Start(t, secret)
	d := start(t, r.URL, func(c *webhook.Config) { c.Types = webhook.AllTypes })
	alice := &subscriptions.Subscriber{ID: "urn:uuid:a", Topics: []string{"books/1", "books/{id}"}, User: "alice",
		Payload: json.RawMessage(`{"name":"Alice <a@example.com>"}`), ClientIP: "203.0.113.7", Since: time.Now()}
	d.Started(alice)
	d.Started(sub("urn:uuid:b", "books/1"))
	d.Published([]*hub.Update{{ID: "urn:ssehub:x", Topics: []string{"books/1"}, Data: "hi", Type: "note", Private: true}})
	d.Ended(alice)
	evs := r.Wait(t, 5*time.Second, "7 events", func(evs []webhook.Event) bool { return len(evs) >= 7 })
	var got []string
	for _, ev := range evs {
		got = append(got, ev.Type+" "+ev.Topic+ev.Subscriber)
	}
	want := []string{"subscription.started urn:uuid:a", "topic.occupied books/1", "topic.occupied books/{id}",
		"subscription.started urn:uuid:b", "update.published ", "subscription.ended urn:uuid:a", "topic.vacated books/{id}"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("events:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	s, e, u := evs[0], evs[5], evs[4]
	if s.User != "alice" || string(s.Payload) != `{"name":"Alice <a@example.com>"}` || s.ClientIP != "203.0.113.7" ||
		s.Since == nil || len(s.Topics) != 2 || s.Reason != "" || s.Time.IsZero() {
		t.Errorf("started: %+v", s)
	}
	if e.Reason != webhook.ReasonDisconnected || e.User != "alice" || e.Since == nil || !e.Since.Equal(*s.Since) {
		t.Errorf("ended: %+v", e)
	}
	if u.Update == nil || u.Update.ID != "urn:ssehub:x" || u.Update.Data != "hi" || !u.Update.Private || u.Update.Type != "note" {
		t.Errorf("published: %+v", u.Update)
	}
	seen := map[string]bool{}
	for _, ev := range evs {
		if seen[ev.ID] || !strings.HasPrefix(ev.ID, "evt_") {
			t.Errorf("id %q repeated or malformed", ev.ID)
		}
		seen[ev.ID] = true
	}
}

// TestDefaultTypes: update.published is not sent by default.
func TestDefaultTypes(t *testing.T) {
	r := webhooktest.Start(t, secret)
	d := start(t, r.URL, nil)
	d.Published([]*hub.Update{{ID: "u", Topics: []string{"t"}}})
	d.Started(sub("s", "t"))
	evs := r.Wait(t, 5*time.Second, "2 events", func(evs []webhook.Event) bool { return len(evs) >= 2 })
	if webhooktest.Count(evs, webhook.UpdatePublished) != 0 {
		t.Errorf("update.published sent by default:\n%s", webhooktest.Dump(evs))
	}
}

// TestBatches: a burst goes in batches of at most MaxBatchEvents, in
// order, each signed.
func TestBatches(t *testing.T) {
	var (
		mu    sync.Mutex
		sizes []int
		order []string
	)
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-block
		body, _ := io.ReadAll(r.Body)
		if err := hook.Verify(secret, body, r.Header.Get(hook.SignatureHeader), time.Now(), time.Minute); err != nil {
			t.Errorf("request not signed: %v", err)
		}
		var b webhook.Batch
		_ = json.Unmarshal(body, &b)
		mu.Lock()
		sizes = append(sizes, len(b.Events))
		for _, ev := range b.Events {
			order = append(order, ev.Subscriber)
		}
		mu.Unlock()
	}))
	defer srv.Close()
	d := start(t, srv.URL, func(c *webhook.Config) { c.Types = []string{webhook.SubscriptionStarted} })
	for i := range 350 {
		d.Started(sub(fmt.Sprint(i), "t"))
	}
	close(block)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if len(order) != 350 {
		t.Fatalf("%d events received, want 350 (batches %v)", len(order), sizes)
	}
	for i, id := range order {
		if id != fmt.Sprint(i) {
			t.Fatalf("event %d is subscriber %s: out of order", i, id)
		}
	}
	for _, n := range sizes {
		if n > webhook.MaxBatchEvents {
			t.Errorf("a batch of %d events", n)
		}
	}
	if len(sizes) > 5 {
		t.Errorf("%d requests for 350 events (%v): not batched", len(sizes), sizes)
	}
}

// TestReceiverDownFor5s: the application is unreachable for 5 seconds
// while subscribers come and go; once it is back every event arrives, in
// order, signed, each id once after de-duplication.
func TestReceiverDownFor5s(t *testing.T) {
	r := webhooktest.Start(t, secret)
	d := start(t, r.URL, func(c *webhook.Config) { c.MaxBackoff = time.Second })
	r.Down()
	up := time.AfterFunc(5*time.Second, func() { r.Up(t) })
	defer up.Stop()
	for i := range 200 {
		s := sub(fmt.Sprint(i), fmt.Sprintf("room/%d", i%7))
		d.Started(s)
		if i%3 != 0 {
			d.Ended(s)
		}
	}
	evs := r.Wait(t, 20*time.Second, "every event", func(evs []webhook.Event) bool {
		return webhooktest.Count(evs, webhook.SubscriptionStarted) == 200 && webhooktest.Count(evs, webhook.SubscriptionEnded) == 133
	})
	p, err := webhooktest.Replay(evs)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Subscribers) != 67 || len(p.Topics) != 7 {
		t.Errorf("%d subscribers and %d topics present, want 67 and 7", len(p.Subscribers), len(p.Topics))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := d.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if st := d.Stats(); st.Failures == 0 || st.Sent != uint64(len(evs)) || st.Dropped != 0 || st.Expired != 0 {
		t.Errorf("stats %+v: want failures counted, %d sent, none dropped or expired", st, len(evs))
	}
	_, dups, bad := r.Counts()
	if len(bad) > 0 {
		t.Errorf("refused requests: %q", bad)
	}
	t.Logf("%d events delivered after the receiver's 5 s outage, %d received twice, %d failed requests", len(evs), dups, d.Stats().Failures)
}

// TestFailingForever: an application answering 500 forever: each batch is
// retried for RetryFor, then given up and counted; the dispatcher stays
// responsive and delivers again once the application recovers.
func TestFailingForever(t *testing.T) {
	r := webhooktest.Start(t, secret)
	r.Fail(http.StatusInternalServerError)
	d := start(t, r.URL, func(c *webhook.Config) { c.RetryFor = 300 * time.Millisecond })
	d.Started(sub("lost", "t"))
	eventually(t, "batch given up", func() bool { return d.Stats().Expired > 0 })
	r.Fail(0)
	d.Started(sub("kept", "u"))
	evs := r.Wait(t, 5*time.Second, "the next events", func(evs []webhook.Event) bool { return len(evs) >= 2 })
	if evs[0].Subscriber != "kept" {
		t.Errorf("first event received %+v, want kept's (lost's were given up)", evs[0])
	}
	if st := d.Stats(); st.Expired != 2 || st.Failures < 2 {
		t.Errorf("stats %+v, want 2 expired (started, occupied)", st)
	}
}

// TestDropOldest: while the application holds a request, the queue keeps
// only the newest QueueSize events; the dropped are counted, never
// waited for.
func TestDropOldest(t *testing.T) {
	held := make(chan struct{})
	release := make(chan struct{})
	var mu sync.Mutex
	var got []string
	var first sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b webhook.Batch
		_ = json.NewDecoder(r.Body).Decode(&b)
		first.Do(func() { close(held); <-release })
		mu.Lock()
		for _, ev := range b.Events {
			got = append(got, ev.Subscriber)
		}
		mu.Unlock()
	}))
	defer srv.Close()
	d := start(t, srv.URL, func(c *webhook.Config) {
		c.QueueSize, c.Types = 10, []string{webhook.SubscriptionStarted}
	})
	d.Started(sub("first", "t"))
	<-held
	began := time.Now()
	for i := range 100 {
		d.Started(sub(fmt.Sprint(i), "t"))
	}
	if took := time.Since(began); took > time.Second {
		t.Errorf("queueing 100 events took %v with the application stuck", took)
	}
	if st := d.Stats(); st.Dropped != 90 || st.Queued != 10 {
		t.Errorf("stats %+v, want 90 dropped, 10 queued", st)
	}
	close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := d.Close(ctx); err != nil {
		t.Fatal(err)
	}
	want := []string{"first"}
	for i := 90; i < 100; i++ {
		want = append(want, fmt.Sprint(i))
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("received %q, want the first and the newest 10: %q", got, want)
	}
}

// TestQueueBytesBounded: subscribers with -max-topics long selectors
// coming and going while the application is stuck: the queue holds no
// more than QueueBytes of them, measured on the heap, where its 10,000
// events would otherwise hold 64 MB; the surplus is dropped and counted.
// On a cluster node the changes' queue has the same bound (opSize).
func TestQueueBytesBounded(t *testing.T) {
	const topics, topicLen, churn, bound = 64, 1000, 1000, 4 << 20
	stuck := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-stuck }))
	defer srv.Close()
	defer close(stuck)
	d := start(t, srv.URL, func(c *webhook.Config) { c.QueueBytes = bound })
	long := func() []string { // fresh strings, as a new request's selectors are
		ts := make([]string, topics)
		for j := range ts {
			ts[j] = fmt.Sprintf("room/%02d/", j) + strings.Repeat("x", topicLen-8)
		}
		return ts
	}
	d.Started(&subscriptions.Subscriber{ID: "urn:uuid:resident", Topics: long()}) // occupies the topics for good
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	before := heap()
	for i := range churn {
		s := &subscriptions.Subscriber{ID: fmt.Sprint("urn:uuid:", i), Topics: long(), Since: time.Now()}
		d.Started(s)
		d.Ended(s)
	}
	grew := int64(heap()) - int64(before)
	st := d.Stats()
	t.Logf("heap grew %d KiB for %d subscribers of %d KiB; queued %d, dropped %d", grew>>10, churn, topics*topicLen>>10, st.Queued, st.Dropped)
	if grew > 2*bound {
		t.Errorf("the heap grew by %d KiB, want at most %d KiB", grew>>10, 2*bound>>10)
	}
	if st.Dropped == 0 || st.Queued > bound/(topics*topicLen) || st.QueuedBytes > bound || st.QueuedBytes < st.Queued*topics*topicLen {
		t.Errorf("stats %+v: want drops, and no more queued than fit in %d bytes", st, bound)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = d.Close(ctx)
}

// TestTimeoutAndClose: an application that never answers: every request
// ends at Timeout; Close gives up at its context's end, saying how many
// were not delivered, and returns promptly.
func TestTimeoutAndClose(t *testing.T) {
	var requests atomic.Int32
	stuck := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		select {
		case <-stuck:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(stuck)
	d := start(t, srv.URL, func(c *webhook.Config) { c.Timeout = 100 * time.Millisecond })
	d.Started(sub("s", "t"))
	eventually(t, "two requests timed out", func() bool { return d.Stats().Failures >= 2 })
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	began := time.Now()
	err := d.Close(ctx)
	if err == nil || !strings.Contains(err.Error(), "2 events") {
		t.Errorf("Close = %v, want an error counting 2 events not delivered", err)
	}
	if took := time.Since(began); took > time.Second {
		t.Errorf("Close took %v", took)
	}
	d.Started(sub("after", "t")) // ignored, never blocks nor panics
}

// TestCloseFlushes: Close delivers what is queued before returning.
func TestCloseFlushes(t *testing.T) {
	r := webhooktest.Start(t, secret)
	d := start(t, r.URL, nil)
	for i := range 50 {
		d.Started(sub(fmt.Sprint(i), "t"))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := d.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if evs := r.Events(); webhooktest.Count(evs, webhook.SubscriptionStarted) != 50 {
		t.Errorf("%d starts delivered before Close returned, want 50", webhooktest.Count(evs, webhook.SubscriptionStarted))
	}
}

// TestRedirectNotFollowed: a 3xx is a failure the logs explain.
func TestRedirectNotFollowed(t *testing.T) {
	r := webhooktest.Start(t, secret)
	redirect := httptest.NewServer(http.RedirectHandler(r.URL, http.StatusPermanentRedirect))
	defer redirect.Close()
	d := start(t, redirect.URL, nil)
	d.Started(sub("s", "t"))
	eventually(t, "failed request", func() bool { return d.Stats().Failures > 0 })
	if n := len(r.Events()); n != 0 {
		t.Errorf("%d events reached the redirect's target", n)
	}
}

// TestChurnOrder: subscribers come and go concurrently on shared topics;
// the application sees each start before its end and every topic's
// occupied and vacated alternate, ending with every topic vacated.
func TestChurnOrder(t *testing.T) {
	r := webhooktest.Start(t, secret)
	d := start(t, r.URL, func(c *webhook.Config) { c.QueueSize = 100000 })
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 250 {
				s := sub(fmt.Sprintf("%d-%d", g, i), fmt.Sprintf("room/%d", i%5), "lobby")
				d.Started(s)
				d.Ended(s)
			}
		})
	}
	wg.Wait()
	evs := r.Wait(t, 20*time.Second, "2000 ends", func(evs []webhook.Event) bool {
		return webhooktest.Count(evs, webhook.SubscriptionEnded) == 2000 && webhooktest.Count(evs, webhook.TopicVacated) == webhooktest.Count(evs, webhook.TopicOccupied)
	})
	p, err := webhooktest.Replay(evs)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Subscribers) != 0 || len(p.Topics) != 0 {
		t.Errorf("left present: %d subscribers, topics %v", len(p.Subscribers), p.Topics)
	}
	t.Logf("%d events, %d occupied/vacated pairs", len(evs), webhooktest.Count(evs, webhook.TopicOccupied))
}

// BenchmarkStartedEnded is what a stream's start and end cost the
// goroutines that serve it, on one node, with the application stuck on
// the first request: the dispatcher's goroutine does nothing meanwhile,
// so this is the callers' cost alone, the queue full and dropping.
func BenchmarkStartedEnded(b *testing.B) {
	register := func(b *testing.B) webhook.Register {
		reg, err := bolt.OpenRegister(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = reg.Close() })
		return reg
	}
	b.Run("memory", func(b *testing.B) { benchStartedEnded(b, nil) })
	b.Run("register", func(b *testing.B) { benchStartedEnded(b, register(b)) })
}

// benchStartedEnded measures starts and ends told to a single node's
// dispatcher whose application is stuck, with reg writing the queue and
// the open subscribers down when not nil.
func benchStartedEnded(b *testing.B, reg webhook.Register) {
	stuck := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-stuck }))
	defer srv.Close()
	defer close(stuck)
	d := webhook.New(webhook.Config{URL: srv.URL, Secret: secret, Timeout: time.Hour, Register: reg})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	defer d.Close(ctx)
	subs := make([]*subscriptions.Subscriber, 1024)
	for i := range subs {
		subs[i] = sub(fmt.Sprint("urn:uuid:", i), fmt.Sprintf("room/%d", i%64), "lobby")
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			s := subs[i%len(subs)]
			d.Started(s)
			d.Ended(s)
			i++
		}
	})
}
