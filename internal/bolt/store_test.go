package bolt_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/bolt"
	"github.com/ssehub/ssehub/internal/history/historytest"
	"github.com/ssehub/ssehub/internal/hub"
)

func open(t *testing.T, cfg bolt.Config) *bolt.Store {
	t.Helper()
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	s, err := bolt.Open(cfg)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	historytest.Run(t, func(t *testing.T) hub.History { return open(t, bolt.Config{}) })
}

func TestReopenKeepsHistoryAndPosition(t *testing.T) {
	dir := t.TempDir()
	s := open(t, bolt.Config{Dir: dir})
	historytest.Append(t, s, historytest.Update(1, "a", "t"), historytest.Update(2, "b", "t"))
	epoch, _, _ := s.Position()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, bolt.Config{Dir: dir})
	e2, seq, id := s.Position()
	if e2 != epoch || seq != 2 || id != "id2" {
		t.Fatalf("position after reopen %q %d %q, want %q 2 id2", e2, seq, id, epoch)
	}
	if got := historytest.IDs(t, s, hub.Query{Upto: 9}); got != "id1,id2" {
		t.Fatalf("read after reopen %q", got)
	}
}

func TestRetentionByCountAndAge(t *testing.T) {
	s := open(t, bolt.Config{MaxEvents: 3, RetainInterval: time.Hour})
	for i := uint64(1); i <= 10; i++ {
		historytest.Append(t, s, historytest.Update(i, "", "a"))
	}
	historytest.Append(t, s, historytest.Update(11, "", "b", "a"))
	if err := s.Retain(time.Now()); err != nil {
		t.Fatal(err)
	}
	if got := historytest.IDs(t, s, hub.Query{Upto: 99, Topics: []string{"a"}}); got != "id9,id10,id11" {
		t.Fatalf("topic a keeps %q", got)
	}
	if _, ok, _ := s.Lookup(context.Background(), "id5"); ok {
		t.Fatal("a trimmed id is still found")
	}

	old := open(t, bolt.Config{MaxAge: time.Minute, RetainInterval: time.Hour})
	for i := uint64(1); i <= 5; i++ {
		u := historytest.Update(i, "", "a")
		if i <= 3 {
			u.Time = time.Now().Add(-time.Hour)
		}
		historytest.Append(t, old, u)
	}
	if err := old.Retain(time.Now()); err != nil {
		t.Fatal(err)
	}
	if got := historytest.IDs(t, old, hub.Query{Upto: 99, Topics: []string{"a"}}); got != "id4,id5" {
		t.Fatalf("after expiry %q", got)
	}
}

// TestRetentionForgetsTopics: once retention has deleted every update of
// a topic used once (a generation's, a subscription's), neither the file
// nor the store's memory keeps anything of it, also after a reopen, while
// the topics still in use keep their index and count.
func TestRetentionForgetsTopics(t *testing.T) {
	dir := t.TempDir()
	s := open(t, bolt.Config{Dir: dir, MaxEvents: 5, MaxAge: time.Minute, RetainInterval: time.Hour})
	for i := uint64(1); i <= 100; i++ {
		u := historytest.Update(i, "", fmt.Sprintf("once/%d", i), "all")
		u.Time = time.Now().Add(-time.Hour)
		historytest.Append(t, s, u)
	}
	historytest.Append(t, s, historytest.Update(101, "", "kept", "all"), historytest.Update(102, "", "kept"), historytest.Update(103, "", "kept"))
	if counted, indexes := bolt.TopicIndexes(t, s); counted != 102 || indexes != 102 {
		t.Fatalf("before retention: %d topics counted, %d indexes; want 102", counted, indexes)
	}
	if err := s.Retain(time.Now()); err != nil {
		t.Fatal(err)
	}
	if counted, indexes := bolt.TopicIndexes(t, s); counted != 2 || indexes != 2 {
		t.Errorf("after retention: %d topics counted, %d indexes; want 2 (kept, all)", counted, indexes)
	}
	if got := historytest.IDs(t, s, hub.Query{Upto: 999, Topics: []string{"kept", "all"}}); got != "id101,id102,id103" {
		t.Errorf("what remains: %q", got)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, bolt.Config{Dir: dir, MaxEvents: 2, RetainInterval: time.Hour})
	if counted, indexes := bolt.TopicIndexes(t, s); counted != 2 || indexes != 2 {
		t.Errorf("after reopening: %d topics counted, %d indexes; want 2", counted, indexes)
	}
	// kept has 3 entries: the oldest goes, and with it the last of all.
	if err := s.Retain(time.Now()); err != nil {
		t.Fatal(err)
	}
	if got := historytest.IDs(t, s, hub.Query{Upto: 999, Topics: []string{"kept", "all"}}); got != "id102,id103" {
		t.Errorf("after the count bound: %q", got)
	}
	if counted, indexes := bolt.TopicIndexes(t, s); counted != 1 || indexes != 1 {
		t.Errorf("after the count bound: %d topics counted, %d indexes; want 1 (kept)", counted, indexes)
	}
}

func TestBadDataDirectoryIsAClearError(t *testing.T) {
	garbage := t.TempDir()
	if err := os.WriteFile(filepath.Join(garbage, bolt.FileName), []byte(strings.Repeat("not a database ", 400)), 0o600); err != nil {
		t.Fatal(err)
	}
	unreadable := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(unreadable, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	locked := t.TempDir()
	open(t, bolt.Config{Dir: locked})
	cases := map[string]struct{ dir, want string }{
		"garbage file":    {garbage, "corrupt"},
		"a file, not dir": {unreadable, "data directory"},
		"used by another": {locked, "in use by another process"},
	}
	for name, c := range cases {
		_, err := bolt.Open(bolt.Config{Dir: c.dir})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error about %q", name, err, c.want)
		}
	}
}

func TestAppendAfterCloseFails(t *testing.T) {
	s := open(t, bolt.Config{})
	s.Close()
	if err := s.Append(context.Background(), historytest.Update(1, "", "a")); err == nil {
		t.Fatal("append after close succeeded")
	}
}

// TestGeneratedIDsNeedNoIndex: an id the hub generated names its position,
// so only publishers' ids take room in the id index. Both kinds are found,
// and neither once retention has deleted its update.
func TestGeneratedIDsNeedNoIndex(t *testing.T) {
	s := open(t, bolt.Config{MaxEvents: 2, RetainInterval: time.Hour})
	epoch, _, _ := s.Position()
	generated := func(seq uint64) *hub.Update {
		u := historytest.Update(seq, "", "a")
		u.ID = hub.FormatID(epoch, seq)
		if err := u.Encode(); err != nil {
			t.Fatal(err)
		}
		return u
	}
	historytest.Append(t, s, generated(1), historytest.Update(2, "", "a"), generated(3))
	if n := bolt.IDIndexSize(t, s); n != 1 {
		t.Errorf("the id index holds %d ids, want 1 (the publisher's)", n)
	}
	ctx := context.Background()
	for id, want := range map[string]uint64{hub.FormatID(epoch, 1): 1, "id2": 2, hub.FormatID(epoch, 3): 3} {
		if seq, ok, err := s.Lookup(ctx, id); err != nil || !ok || seq != want {
			t.Errorf("lookup %s = %d %v %v, want %d", id, seq, ok, err, want)
		}
	}
	for _, id := range []string{hub.FormatID("another-epoch", 1), hub.FormatID(epoch, 9)} {
		if seq, ok, err := s.Lookup(ctx, id); ok || err != nil {
			t.Errorf("lookup %s = %d %v %v, want not found", id, seq, ok, err)
		}
	}
	if err := s.Retain(time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.Lookup(ctx, hub.FormatID(epoch, 1)); ok {
		t.Error("a trimmed generated id is still found")
	}
}

// TestStoreWrittenBeforeBlocks: a store whose topic indexes hold one entry
// per position (as before blocks) opens, reads, appends and retains
// without a migration; so does one that mixes both.
func TestStoreWrittenBeforeBlocks(t *testing.T) {
	dir := t.TempDir()
	s := open(t, bolt.Config{Dir: dir, RetainInterval: time.Hour})
	for i := uint64(1); i <= 20; i++ {
		topics := []string{"a"}
		if i%4 == 0 {
			topics = []string{"b", "a"}
		}
		historytest.Append(t, s, historytest.Update(i, "", topics...))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	bolt.UnpackTopicIndexes(t, dir)

	s = open(t, bolt.Config{Dir: dir, MaxEvents: 5, RetainInterval: time.Hour})
	if got := historytest.IDs(t, s, hub.Query{After: 13, Upto: 99, Topics: []string{"a"}}); got != "id14,id15,id16,id17,id18,id19,id20" {
		t.Fatalf("topic a after 13: %q", got)
	}
	for i := uint64(21); i <= 30; i++ {
		historytest.Append(t, s, historytest.Update(i, "", "a"))
	}
	if got := historytest.IDs(t, s, hub.Query{After: 19, Upto: 22, Topics: []string{"a", "b"}}); got != "id20,id21,id22" {
		t.Fatalf("topics a and b in (19, 22]: %q", got)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Both layouts in one index now; the counts at open decide the trim.
	s = open(t, bolt.Config{Dir: dir, MaxEvents: 5, RetainInterval: time.Hour})
	if err := s.Retain(time.Now()); err != nil {
		t.Fatal(err)
	}
	if got := historytest.IDs(t, s, hub.Query{Upto: 99, Topics: []string{"a"}}); got != "id26,id27,id28,id29,id30" {
		t.Fatalf("topic a keeps %q", got)
	}
	if got := historytest.IDs(t, s, hub.Query{Upto: 99, Topics: []string{"b"}}); got != "id4,id8,id12,id16,id20" {
		t.Fatalf("topic b keeps %q", got)
	}
	if _, ok, _ := s.Lookup(context.Background(), "id19"); ok {
		t.Error("an update trimmed from its only topic is still found")
	}
}
