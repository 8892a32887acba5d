package bolt_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/bolt"
	"github.com/ssehub/ssehub/internal/history/historytest"
	"github.com/ssehub/ssehub/internal/hub"
)

// TestStagedIsReadableBeforeDurable holds the commit back (a transaction of
// the test's own keeps the file's writer lock) and checks that a staged
// update is read and looked up at once, exactly once before and after its
// commit, while its durable wait only returns once it is on disk.
func TestStagedIsReadableBeforeDurable(t *testing.T) {
	s := open(t, bolt.Config{})
	historytest.Append(t, s, historytest.Update(1, "a", "t"))
	release := bolt.HoldCommits(t, s)

	durable := stageWithin(t, s, historytest.Update(2, "b", "t"))
	stored := make(chan error, 1)
	go func() { stored <- durable() }()
	for _, q := range []hub.Query{{Upto: 9}, {Upto: 9, Topics: []string{"t"}}, {After: 1, Upto: 2}} {
		if got := historytest.IDs(t, s, q); got != idsAfter(q.After, "id1,id2") {
			t.Fatalf("staged, %+v reads %q", q, got)
		}
	}
	if got := historytest.IDs(t, s, hub.Query{Upto: 1}); got != "id1" {
		t.Fatalf("a staged update past Upto is read: %q", got)
	}
	if seq, ok, err := s.Lookup(context.Background(), "id2"); err != nil || !ok || seq != 2 {
		t.Fatalf("staged lookup: %d %v %v", seq, ok, err)
	}
	select {
	case err := <-stored:
		t.Fatalf("durable returned (%v) while the commit is held", err)
	default:
	}

	release()
	if err := <-stored; err != nil {
		t.Fatal(err)
	}
	if got := historytest.IDs(t, s, hub.Query{Upto: 9}); got != "id1,id2" {
		t.Fatalf("committed, reads %q", got)
	}
}

// stageWithin stages u, failing if Stage waits (for the held commit).
func stageWithin(t *testing.T, s *bolt.Store, u *hub.Update) func() error {
	t.Helper()
	type staged struct {
		durable func() error
		err     error
	}
	ch := make(chan staged, 1)
	go func() {
		d, err := s.Stage(context.Background(), u)
		ch <- staged{d, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatal(r.err)
		}
		return r.durable
	case <-time.After(10 * time.Second):
		t.Fatal("Stage waited for the commit")
		return nil
	}
}

func idsAfter(after uint64, all string) string {
	if after == 1 {
		return "id2"
	}
	return all
}

// TestCrashRestartsPastStagedPositions copies the database while the store
// is open, as a crash would leave it, and checks that a store opened on the
// copy continues past every position that could have been staged, while a
// clean close continues right after the newest update, even once
// retention has deleted them all.
func TestCrashRestartsPastStagedPositions(t *testing.T) {
	dir := t.TempDir()
	s := open(t, bolt.Config{Dir: dir, MaxAge: time.Minute, RetainInterval: time.Hour})
	old := historytest.Update(1, "", "a")
	old.Time = time.Now().Add(-time.Hour)
	historytest.Append(t, s, old, historytest.Update(2, "", "a"))

	crashed := t.TempDir()
	copyFile(t, filepath.Join(dir, bolt.FileName), filepath.Join(crashed, bolt.FileName))
	c := open(t, bolt.Config{Dir: crashed})
	if _, seq, id := c.Position(); seq < 2+bolt.ReserveAhead/2 || id != "id2" {
		t.Fatalf("after a crash the position is %d (%q), want past the reserved bound", seq, id)
	}

	if err := s.Retain(time.Now().Add(2 * time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got := historytest.IDs(t, s, hub.Query{Upto: 9}); got != "" {
		t.Fatalf("retention kept %q", got)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, bolt.Config{Dir: dir})
	if _, seq, _ := s.Position(); seq != 2 {
		t.Fatalf("after a clean close with nothing retained the position is %d, want 2", seq)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestSyncBeforeDeliverStagesNothing: with SyncBeforeDeliver an update is
// readable only once its commit is on disk, and Stage returns only then.
func TestSyncBeforeDeliverStagesNothing(t *testing.T) {
	s := open(t, bolt.Config{SyncBeforeDeliver: true})
	release := bolt.HoldCommits(t, s)
	staged := make(chan error, 1)
	go func() {
		_, err := s.Stage(context.Background(), historytest.Update(1, "a", "t"))
		staged <- err
	}()
	time.Sleep(50 * time.Millisecond) // Stage would have returned long since if it staged early
	select {
	case err := <-staged:
		t.Fatalf("Stage returned (%v) while the commit is held", err)
	default:
	}
	if got := historytest.IDs(t, s, hub.Query{Upto: 9}); got != "" {
		t.Fatalf("readable before its commit: %q", got)
	}
	release()
	if err := <-staged; err != nil {
		t.Fatal(err)
	}
	if got := historytest.IDs(t, s, hub.Query{Upto: 9}); got != "id1" {
		t.Fatalf("after the commit: %q", got)
	}
}
