// Package historytest is a conformance suite for hub.History
// implementations: every history ssehub can use must pass Run.
package historytest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/hub"
)

// Run tests the history that newHistory returns (a new, empty one per call).
func Run(t *testing.T, newHistory func(t *testing.T) hub.History) {
	t.Run("ReadInOrder", func(t *testing.T) { testReadInOrder(t, newHistory(t)) })
	t.Run("TopicsAndMatch", func(t *testing.T) { testTopicsAndMatch(t, newHistory(t)) })
	t.Run("Limit", func(t *testing.T) { testLimit(t, newHistory(t)) })
	t.Run("ManyTopics", func(t *testing.T) { testManyTopics(t, newHistory(t)) })
	t.Run("Lookup", func(t *testing.T) { testLookup(t, newHistory(t)) })
	t.Run("ConcurrentAppends", func(t *testing.T) { testConcurrentAppends(t, newHistory(t)) })
	t.Run("RoundTripsFields", func(t *testing.T) { testRoundTrip(t, newHistory(t)) })
}

// Update makes an encoded update at seq, as the hub would.
func Update(seq uint64, data string, topics ...string) *hub.Update {
	u := &hub.Update{Seq: seq, ID: fmt.Sprint("id", seq), Data: data, Topics: topics, Time: time.Now()}
	if err := u.Encode(); err != nil {
		panic(err)
	}
	return u
}

// Append appends the updates, failing the test on error.
func Append(t *testing.T, h hub.History, us ...*hub.Update) {
	t.Helper()
	for _, u := range us {
		if err := h.Append(context.Background(), u); err != nil {
			t.Fatalf("append %d: %v", u.Seq, err)
		}
	}
}

// IDs reads q and returns the ids read, comma-separated.
func IDs(t *testing.T, h hub.History, q hub.Query) string {
	t.Helper()
	var got []string
	err := h.Read(context.Background(), q, func(u *hub.Update) error {
		got = append(got, u.ID)
		return nil
	})
	if err != nil {
		t.Fatalf("read %+v: %v", q, err)
	}
	return strings.Join(got, ",")
}

func testReadInOrder(t *testing.T, h hub.History) {
	for i := uint64(1); i <= 1200; i++ {
		Append(t, h, Update(i, "x", "a"))
	}
	all := IDs(t, h, hub.Query{Upto: 2000})
	if n := strings.Count(all, ",") + 1; n != 1200 || !strings.HasPrefix(all, "id1,id2,") || !strings.HasSuffix(all, "id1199,id1200") {
		t.Fatalf("read %d updates: %.40s…", n, all)
	}
	cases := []struct {
		q    hub.Query
		want string
	}{
		{hub.Query{After: 1197, Upto: 2000}, "id1198,id1199,id1200"},
		{hub.Query{After: 10, Upto: 12}, "id11,id12"},
		{hub.Query{After: 10, Upto: 12, Topics: []string{"a"}}, "id11,id12"},
		{hub.Query{After: 1200, Upto: 1200}, ""},
	}
	for _, c := range cases {
		if got := IDs(t, h, c.q); got != c.want {
			t.Errorf("read %+v = %q, want %q", c.q, got, c.want)
		}
	}
}

func testTopicsAndMatch(t *testing.T, h hub.History) {
	Append(t, h, Update(1, "", "a"), Update(2, "", "b"), Update(3, "", "a", "b"), Update(4, "", "c"), Update(5, "", "b", "b"))
	cases := []struct {
		q    hub.Query
		want string
	}{
		{hub.Query{Upto: 9}, "id1,id2,id3,id4,id5"},
		{hub.Query{Upto: 9, Topics: []string{"a", "b"}}, "id1,id2,id3,id5"},
		{hub.Query{After: 1, Upto: 4, Topics: []string{"b"}}, "id2,id3"},
		{hub.Query{Upto: 9, Match: func(u *hub.Update) bool { return u.Seq%2 == 1 }}, "id1,id3,id5"},
		{hub.Query{Upto: 9, Topics: []string{"missing"}}, ""},
	}
	for _, c := range cases {
		if got := IDs(t, h, c.q); got != c.want {
			t.Errorf("read %+v = %q, want %q", c.q, got, c.want)
		}
	}
}

// testLimit reads pages as a replay does: a Reader may stop after
// q.Limit updates, but gives every one of the first q.Limit, in order,
// from topics read together and past updates Match refuses.
func testLimit(t *testing.T, h hub.History) {
	for i := uint64(1); i <= 1500; i++ {
		Append(t, h, Update(i, "", []string{"a", "b", "c"}[i%3]))
	}
	notFives := func(u *hub.Update) bool { return u.Seq%5 != 0 }
	for _, q := range []hub.Query{
		{Upto: 1500},
		{After: 700, Upto: 1500, Topics: []string{"a", "c"}},
		{Upto: 1400, Match: notFives},
		{After: 3, Upto: 1500, Topics: []string{"b", "a"}, Match: notFives},
	} {
		all := strings.Split(IDs(t, h, q), ",")
		for _, limit := range []int{1, 7, 512, 513, 2000} {
			var got []string
			err := h.Read(context.Background(), hub.Query{After: q.After, Upto: q.Upto, Topics: q.Topics, Match: q.Match, Limit: limit},
				func(u *hub.Update) error {
					got = append(got, u.ID)
					return nil
				})
			if err != nil {
				t.Fatalf("read %+v, limit %d: %v", q, limit, err)
			}
			want := all[:min(limit, len(all))]
			if len(got) < len(want) || strings.Join(got[:len(want)], ",") != strings.Join(want, ",") {
				t.Fatalf("read after %d up to %d of %v, limit %d: %d updates %.30v…, want %d %.30v…",
					q.After, q.Upto, q.Topics, limit, len(got), got, len(want), want)
			}
		}
	}
}

// testManyTopics reads an update of more topics than are compared pair
// by pair (hub.DistinctTopics), some of them repeated, by many topics.
func testManyTopics(t *testing.T, h hub.History) {
	var topics []string
	for i := range 40 {
		topics = append(topics, fmt.Sprint("m", i))
	}
	Append(t, h, Update(1, "", append(topics, "m0", "m39", "m5", "m39")...), Update(2, "", "m7"), Update(3, "", "other", "other"))
	cases := []struct {
		q    hub.Query
		want string
	}{
		{hub.Query{Upto: 9}, "id1,id2,id3"},
		{hub.Query{Upto: 9, Topics: []string{"m39"}}, "id1"},
		{hub.Query{Upto: 9, Topics: topics[:20]}, "id1,id2"},
		{hub.Query{Upto: 9, Topics: append([]string{"other"}, topics[20:]...)}, "id1,id3"},
		{hub.Query{After: 1, Upto: 9, Topics: topics}, "id2"},
	}
	for _, c := range cases {
		if got := IDs(t, h, c.q); got != c.want {
			t.Errorf("read %d topics after %d = %q, want %q", len(c.q.Topics), c.q.After, got, c.want)
		}
	}
}

func testLookup(t *testing.T, h hub.History) {
	u := Update(7, "", "a")
	u.ID = "order-42"
	if err := u.Encode(); err != nil {
		t.Fatal(err)
	}
	Append(t, h, Update(6, "", "a"), u)
	for id, want := range map[string]uint64{"order-42": 7, "id6": 6} {
		if seq, ok, err := h.Lookup(context.Background(), id); err != nil || !ok || seq != want {
			t.Errorf("lookup %s = %d %v %v, want %d", id, seq, ok, err, want)
		}
	}
	if _, ok, err := h.Lookup(context.Background(), "nope"); ok || err != nil {
		t.Errorf("lookup of an unknown id: %v %v", ok, err)
	}
}

func testConcurrentAppends(t *testing.T, h hub.History) {
	const writers, each = 16, 50
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				seq := uint64(i*writers + w + 1)
				if err := h.Append(context.Background(), Update(seq, "", "t")); err != nil {
					t.Errorf("append %d: %v", seq, err)
				}
			}
		})
	}
	wg.Wait()
	var last uint64
	n := 0
	err := h.Read(context.Background(), hub.Query{Upto: writers * each}, func(u *hub.Update) error {
		if u.Seq <= last {
			return fmt.Errorf("seq %d after %d", u.Seq, last)
		}
		last = u.Seq
		n++
		return nil
	})
	if err != nil || n != writers*each {
		t.Fatalf("read %d of %d in order: %v", n, writers*each, err)
	}
}

func testRoundTrip(t *testing.T, h hub.History) {
	in := &hub.Update{Seq: 1, ID: "x", Type: "notification", Data: "line 1\nline 2", Retry: 1500,
		Private: true, Topics: []string{"https://example.com/a", "b"}, Time: time.Unix(1700000000, 123)}
	if err := in.Encode(); err != nil {
		t.Fatal(err)
	}
	Append(t, h, in)
	var out *hub.Update
	_ = h.Read(context.Background(), hub.Query{Upto: 1}, func(u *hub.Update) error { out = u; return nil })
	if out == nil || out.ID != in.ID || out.Type != in.Type || out.Data != in.Data || out.Retry != in.Retry ||
		!out.Private || strings.Join(out.Topics, " ") != strings.Join(in.Topics, " ") ||
		!out.Time.Equal(in.Time) || string(out.Wire()) != string(in.Wire()) {
		t.Fatalf("read back %+v, wrote %+v", out, in)
	}
}
