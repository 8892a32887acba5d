package hub_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/bolt"
	"github.com/ssehub/ssehub/internal/history"
	"github.com/ssehub/ssehub/internal/hub"
)

func newHub(t testing.TB, cfg hub.Config) *hub.Hub {
	t.Helper()
	if cfg.History == nil {
		cfg.History = history.NewMemory(history.MemoryConfig{})
	}
	h := hub.New(cfg)
	t.Cleanup(h.Close)
	return h
}

// forEachHistory runs test with the memory history and with the durable
// store, whose updates reach subscribers staged, before their commit.
func forEachHistory(t *testing.T, test func(t *testing.T, hist hub.History)) {
	t.Run("memory", func(t *testing.T) { test(t, history.NewMemory(history.MemoryConfig{})) })
	t.Run("bolt", func(t *testing.T) {
		s, err := bolt.Open(bolt.Config{Dir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() }) // after the hub's Close, registered later
		test(t, s)
	})
}

func publish(t testing.TB, h *hub.Hub, u *hub.Update) string {
	t.Helper()
	id, err := h.Publish(context.Background(), u)
	if err != nil {
		t.Fatalf("publish %+v: %v", u, err)
	}
	return id
}

func subscribe(t testing.TB, h *hub.Hub, opts hub.SubscribeOptions) *hub.Subscriber {
	t.Helper()
	s, err := h.Subscribe(context.Background(), opts)
	if err != nil {
		t.Fatalf("subscribe %+v: %v", opts, err)
	}
	t.Cleanup(s.Close)
	return s
}

// receive collects n updates from s, failing after a deadline.
func receive(t testing.TB, s *hub.Subscriber, n int) []*hub.Update {
	t.Helper()
	var got, buf []*hub.Update
	deadline := time.After(5 * time.Second)
	for len(got) < n {
		select {
		case <-s.Ready():
			buf = s.Drain(buf)
			got = append(got, buf...)
		case <-s.Done():
			t.Fatalf("subscription ended after %d of %d updates: %v", len(got), n, s.Err())
		case <-deadline:
			t.Fatalf("got %d of %d updates before the deadline", len(got), n)
		}
	}
	if len(got) > n {
		t.Fatalf("got %d updates, want %d", len(got), n)
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

func TestPublishAssignsOrderedIDsAndKeepsGivenOnes(t *testing.T) {
	h := newHub(t, hub.Config{Epoch: "e1"})
	s := subscribe(t, h, hub.SubscribeOptions{Topics: []string{"a"}})
	first := publish(t, h, &hub.Update{Topics: []string{"a"}, Data: "1"})
	given := publish(t, h, &hub.Update{Topics: []string{"a"}, Data: "2", ID: "order-42"})
	third := publish(t, h, &hub.Update{Topics: []string{"a"}, Data: "3"})
	if first != "urn:ssehub:e1:1" || given != "order-42" || third != "urn:ssehub:e1:3" {
		t.Fatalf("ids = %q %q %q", first, given, third)
	}
	got := receive(t, s, 3)
	if strings.Join(ids(got), ",") != first+","+given+","+third {
		t.Fatalf("received %v", ids(got))
	}
	if want := "id: order-42\ndata: 2\n\n"; string(got[1].Wire()) != want {
		t.Fatalf("wire = %q, want %q", got[1].Wire(), want)
	}
}

func TestFanOutMatchesSelectorsOnce(t *testing.T) {
	h := newHub(t, hub.Config{})
	cases := []struct {
		name   string
		topics []string
		want   []string // data of the updates it must get
	}{
		{"exact", []string{"https://ex.com/books/1"}, []string{"b1", "both"}},
		{"wildcard", []string{"*"}, []string{"b1", "b2", "other", "both", "end"}},
		{"template", []string{"https://ex.com/books/{id}"}, []string{"b1", "b2", "both"}},
		{"several selectors match one update", []string{"https://ex.com/books/1", "https://ex.com/books/{id}", "*"}, []string{"b1", "b2", "other", "both", "end"}},
		{"none", []string{"nothing"}, []string{"end"}},
	}
	subs := make([]*hub.Subscriber, len(cases))
	for i, c := range cases {
		subs[i] = subscribe(t, h, hub.SubscribeOptions{Topics: c.topics})
	}
	publish(t, h, &hub.Update{Topics: []string{"https://ex.com/books/1"}, Data: "b1"})
	publish(t, h, &hub.Update{Topics: []string{"https://ex.com/books/2"}, Data: "b2"})
	publish(t, h, &hub.Update{Topics: []string{"other"}, Data: "other"})
	publish(t, h, &hub.Update{Topics: []string{"https://ex.com/books/1", "https://ex.com/books/3"}, Data: "both"})
	publish(t, h, &hub.Update{Topics: []string{"nothing"}, Data: "end"})
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := receive(t, subs[i], len(c.want))
			if extra := subs[i].Drain(nil); len(extra) > 0 {
				t.Fatalf("%d unexpected updates, first %q", len(extra), extra[0].Data)
			}
			var data []string
			for _, u := range got {
				data = append(data, u.Data)
			}
			if fmt.Sprint(data) != fmt.Sprint(c.want) {
				t.Fatalf("got %v, want %v", data, c.want)
			}
		})
	}
}

func TestPrivateUpdatesReachOnlyAuthorizedSubscribers(t *testing.T) {
	h := newHub(t, hub.Config{})
	anon := subscribe(t, h, hub.SubscribeOptions{Topics: []string{"*"}})
	allowed := subscribe(t, h, hub.SubscribeOptions{Topics: []string{"a"}, Private: []string{"a"}})
	publish(t, h, &hub.Update{Topics: []string{"a"}, Data: "secret", Private: true})
	publish(t, h, &hub.Update{Topics: []string{"a"}, Data: "public"})
	if got := receive(t, anon, 1); got[0].Data != "public" {
		t.Fatalf("anonymous got %q", got[0].Data)
	}
	if got := receive(t, allowed, 2); got[0].Data != "secret" || got[1].Data != "public" {
		t.Fatalf("authorized got %v", ids(got))
	}
	late := subscribe(t, h, hub.SubscribeOptions{Topics: []string{"a"}, LastEventID: hub.Earliest})
	if got := receive(t, late, 1); got[0].Data != "public" {
		t.Fatalf("replay leaked a private update: %q", got[0].Data)
	}
}

func TestInvalidUpdatesAreRefusedWhole(t *testing.T) {
	h := newHub(t, hub.Config{})
	cases := []struct {
		u     hub.Update
		field string
	}{
		{hub.Update{Data: "x"}, "topic"},
		{hub.Update{Topics: []string{""}}, "topic"},
		{hub.Update{Topics: []string{"a"}, ID: "a\nb"}, "id"},
		{hub.Update{Topics: []string{"a"}, ID: "#1"}, "id"},
		{hub.Update{Topics: []string{"a"}, ID: "urn:ssehub:x:1"}, "id"},
		{hub.Update{Topics: []string{"a"}, Type: "a\rb"}, "type"},
		{hub.Update{Topics: []string{"a"}, Retry: -1}, "retry"},
	}
	for _, c := range cases {
		_, err := h.Publish(context.Background(), &c.u)
		var herr *hub.Error
		if !errors.As(err, &herr) || herr.Code != hub.CodeInvalid || herr.Field != c.field {
			t.Errorf("publish %+v: err %v, want invalid %s", c.u, err, c.field)
		}
	}
	if st := h.Stats(); st.Published != 0 {
		t.Fatalf("published %d invalid updates", st.Published)
	}
}

func TestSlowSubscriberIsCutOffOthersContinue(t *testing.T) {
	h := newHub(t, hub.Config{QueueSize: 8})
	slow := subscribe(t, h, hub.SubscribeOptions{Topics: []string{"a"}})
	fast := subscribe(t, h, hub.SubscribeOptions{Topics: []string{"a"}})
	var got, buf []*hub.Update
	for i := range 20 {
		publish(t, h, &hub.Update{Topics: []string{"a"}, Data: fmt.Sprint(i)})
		buf = fast.Drain(buf)
		got = append(got, buf...)
	}
	select {
	case <-slow.Done():
	default:
		t.Fatal("slow subscriber still connected")
	}
	if !errors.Is(slow.Err(), hub.ErrSlowConsumer) {
		t.Fatalf("slow subscriber ended with %v", slow.Err())
	}
	if len(got) != 20 || fast.Err() != nil {
		t.Fatalf("fast subscriber got %d updates, err %v", len(got), fast.Err())
	}
	if st := h.Stats(); st.SlowCut != 1 || st.Subscribers != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// TestQueueBytesBound: a queue holding QueueBytes of updates cuts its
// subscriber off at the next update, as a full QueueSize does; an update
// larger than the bound alone still goes through.
func TestQueueBytesBound(t *testing.T) {
	h := newHub(t, hub.Config{QueueBytes: 1000})
	big := subscribe(t, h, hub.SubscribeOptions{Topics: []string{"big"}})
	publish(t, h, &hub.Update{Topics: []string{"big"}, Data: strings.Repeat("x", 2000)})
	if got := receive(t, big, 1); len(got[0].Data) != 2000 || big.Err() != nil {
		t.Fatalf("an update over the bound, alone: %d bytes, err %v", len(got[0].Data), big.Err())
	}
	slow := subscribe(t, h, hub.SubscribeOptions{Topics: []string{"a"}})
	for i := range 3 {
		publish(t, h, &hub.Update{Topics: []string{"a"}, Data: fmt.Sprint(i, strings.Repeat("x", 400))})
	}
	if !errors.Is(slow.Err(), hub.ErrSlowConsumer) {
		t.Fatalf("a queue of 3 updates of 400 bytes, bound 1000: ended with %v", slow.Err())
	}
}

// TestResumeSeamUnderConcurrentPublishes subscribes while publishers run and
// checks that replay followed by live updates is exactly the published
// sequence after the resume point.
func TestResumeSeamUnderConcurrentPublishes(t *testing.T) {
	forEachHistory(t, testResumeSeamUnderConcurrentPublishes)
}

func testResumeSeamUnderConcurrentPublishes(t *testing.T, hist hub.History) {
	h := newHub(t, hub.Config{History: hist})
	const publishers, each = 4, 200
	var wg sync.WaitGroup
	first := publish(t, h, &hub.Update{Topics: []string{"a"}, Data: "start"})
	for p := range publishers {
		wg.Go(func() {
			for i := range each {
				publish(t, h, &hub.Update{Topics: []string{"a"}, Data: fmt.Sprintf("%d-%d", p, i)})
			}
		})
	}
	subs := make([]*hub.Subscriber, 0, 20)
	for range 20 {
		subs = append(subs, subscribe(t, h, hub.SubscribeOptions{Topics: []string{"a"}, LastEventID: first}))
	}
	wg.Wait()
	for _, s := range subs {
		got := receive(t, s, publishers*each)
		for i := 1; i < len(got); i++ {
			if got[i].Seq != got[i-1].Seq+1 {
				t.Fatalf("seam broken at %d: seq %d after %d", i, got[i].Seq, got[i-1].Seq)
			}
		}
		if got[0].Seq != 2 || s.ResumedAfter() != first {
			t.Fatalf("resumed at seq %d, header %q", got[0].Seq, s.ResumedAfter())
		}
	}
}

func TestResumePoints(t *testing.T) {
	h := newHub(t, hub.Config{Epoch: "now", History: history.NewMemory(history.MemoryConfig{MaxEvents: 3})})
	var all []string
	for i := range 5 {
		all = append(all, publish(t, h, &hub.Update{Topics: []string{"a"}, Data: fmt.Sprint(i)}))
	}
	cases := []struct {
		name, last, header string
		want               []string
	}{
		{"none: live only", "", all[4], nil},
		{"earliest: all retained", hub.Earliest, hub.Earliest, all[2:]},
		{"retained id", all[3], all[3], all[4:]},
		{"evicted id of this epoch", all[0], hub.Earliest, all[2:]},
		{"id of an older epoch", "urn:ssehub:old:99", hub.Earliest, all[2:]},
		{"future id of this epoch", "urn:ssehub:now:99", hub.Earliest, nil},
		{"unknown id", "nope", hub.Earliest, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := subscribe(t, h, hub.SubscribeOptions{Topics: []string{"a"}, LastEventID: c.last})
			if s.ResumedAfter() != c.header {
				t.Errorf("header %q, want %q", s.ResumedAfter(), c.header)
			}
			var got []*hub.Update
			if len(c.want) > 0 {
				got = receive(t, s, len(c.want))
			}
			if fmt.Sprint(ids(got)) != fmt.Sprint(c.want) && !(len(got) == 0 && len(c.want) == 0) {
				t.Fatalf("replayed %v, want %v", ids(got), c.want)
			}
		})
	}
}

func TestShutdownSequence(t *testing.T) {
	h := newHub(t, hub.Config{})
	s := subscribe(t, h, hub.SubscribeOptions{Topics: []string{"a"}})
	h.EndSubscriptions()
	<-s.Done()
	if !errors.Is(s.Err(), hub.ErrClosed) {
		t.Fatalf("ended with %v", s.Err())
	}
	if _, err := h.Subscribe(context.Background(), hub.SubscribeOptions{Topics: []string{"a"}}); !errors.Is(err, hub.ErrClosed) {
		t.Fatalf("subscribe while ending: %v", err)
	}
	publish(t, h, &hub.Update{Topics: []string{"a"}}) // in-flight publishes still land
	h.Close()
	if _, err := h.Publish(context.Background(), &hub.Update{Topics: []string{"a"}}); !errors.Is(err, hub.ErrClosed) {
		t.Fatalf("publish after close: %v", err)
	}
}

// TestDrainArrays: the queues Drain hands out are the caller's until it
// passes them back: neither draining without passing one back nor
// passing one back overwrites a batch the caller still holds, whatever
// the queue's length.
func TestDrainArrays(t *testing.T) {
	h := newHub(t, hub.Config{})
	s := subscribe(t, h, hub.SubscribeOptions{Topics: []string{"t"}})
	n := 0
	publishN := func(k int) {
		for range k {
			n++
			publish(t, h, &hub.Update{Topics: []string{"t"}, Data: fmt.Sprint(n)})
		}
	}
	data := func(b []*hub.Update) string {
		var out []string
		for _, u := range b {
			out = append(out, u.Data)
		}
		return strings.Join(out, ",")
	}
	var held [][]*hub.Update
	var want []string
	keep := func(b []*hub.Update) {
		held, want = append(held, b), append(want, data(b))
	}
	publishN(1)
	keep(s.Drain(nil))
	publishN(2)
	keep(s.Drain(nil))
	publishN(3)
	keep(s.Drain(nil))
	var buf []*hub.Update
	for _, k := range []int{1, 2, 5, 1, 1} {
		publishN(k)
		buf = s.Drain(buf)
		if got := data(buf); got != seqs(n-k+1, n) {
			t.Fatalf("batch %q, want updates %d to %d", got, n-k+1, n)
		}
	}
	for i, b := range held {
		if data(b) != want[i] {
			t.Errorf("batch %d held by the caller changed: %q, was %q", i, data(b), want[i])
		}
	}
}

// seqs renders the numbers from a to b as Drain's batches are rendered.
func seqs(a, b int) string {
	var out []string
	for i := a; i <= b; i++ {
		out = append(out, fmt.Sprint(i))
	}
	return strings.Join(out, ",")
}
