package bolt

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	bbolt "go.etcd.io/bbolt"
)

// indexModel is what a topic index should hold: position → canonical.
type indexModel map[uint64]bool

// openTestDB opens a bbolt file with the topics bucket, closed when the
// test ends.
func openTestDB(t *testing.T) *bbolt.DB {
	t.Helper()
	db, err := bbolt.Open(filepath.Join(t.TempDir(), "index.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	err = db.Update(func(tx *bbolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucketTopics)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// onIndex runs fn on topic "t"'s index (created if missing) in a write
// transaction.
func onIndex(t *testing.T, db *bbolt.DB, fn func(x topicIndex) error) {
	t.Helper()
	err := db.Update(func(tx *bbolt.Tx) error {
		x, err := createIndex(tx, "t")
		if err != nil {
			return err
		}
		return fn(x)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// checkIndex compares topic "t"'s index with want: its blocks' layout, its
// count, and scans from several starting points with several limits.
func checkIndex(t *testing.T, db *bbolt.DB, want indexModel, step string) {
	t.Helper()
	seqs := slices.Sorted(maps.Keys(want))
	onIndex(t, db, func(x topicIndex) error {
		got := checkBlocks(t, x, step)
		if !maps.Equal(got, want) {
			t.Fatalf("%s: the index holds %v, want %v", step, got, want)
		}
		if n := x.count(); n != int64(len(want)) {
			t.Errorf("%s: count %d, want %d", step, n, len(want))
		}
		if x.empty() != (len(want) == 0) {
			t.Errorf("%s: empty %v with %d positions", step, x.empty(), len(want))
		}
		for _, after := range afterPoints(seqs) {
			for _, limit := range []int{1, 7, 100, 10000} {
				upto := uint64(1 << 62)
				if len(seqs) > 2 {
					upto = seqs[len(seqs)-2] // one short of the end
				}
				got, err := x.scan(after, upto, limit, nil)
				if err != nil {
					t.Fatalf("%s: scan: %v", step, err)
				}
				if exp := expectScan(seqs, after, upto, limit); !slices.Equal(got, exp) {
					t.Fatalf("%s: scan(%d, %d, %d) = %v, want %v", step, after, upto, limit, got, exp)
				}
			}
		}
		return nil
	})
}

// checkBlocks reads every block, checks the layout's rules and returns the
// positions found.
func checkBlocks(t *testing.T, x topicIndex, step string) indexModel {
	t.Helper()
	found := indexModel{}
	var last uint64
	seen := false
	_ = x.b.ForEach(func(k, v []byte) error {
		key, _ := keySeq(k)
		recs, err := decodeBlock(k, v)
		if err != nil {
			t.Fatalf("%s: block %d: %v", step, key, err)
		}
		if len(recs) > blockRecords {
			t.Errorf("%s: block %d holds %d records", step, key, len(recs))
		}
		for _, r := range recs {
			if r.seq < key || (seen && r.seq <= last) {
				t.Errorf("%s: block %d holds %d after %d", step, key, r.seq, last)
			}
			last, seen = r.seq, true
			found[r.seq] = r.canonical
		}
		return nil
	})
	return found
}

// afterPoints returns positions to scan after: before the first, about
// twenty present ones with the ones beside them, the last.
func afterPoints(seqs []uint64) []uint64 {
	pts := []uint64{0}
	every := max(1, len(seqs)/20)
	for i, s := range seqs {
		if i%every == 0 || i == len(seqs)-1 {
			pts = append(pts, s, s-1, s+1)
		}
	}
	return pts
}

func expectScan(seqs []uint64, after, upto uint64, limit int) []uint64 {
	var out []uint64
	for _, s := range seqs {
		if s > after && s <= upto && len(out) < limit {
			out = append(out, s)
		}
	}
	return out
}

// TestTopicIndexAgainstAModel applies random appends (mostly in order, as
// commits write them, some not), removals and trims to an index and checks
// it against a map after each, blocks' layout included.
func TestTopicIndexAgainstAModel(t *testing.T) {
	t.Parallel()
	for seed := range uint64(6) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Parallel()
			rnd := rand.New(rand.NewPCG(seed, 7))
			db := openTestDB(t)
			want := indexModel{}
			next := uint64(1)
			for step := range 120 {
				var name string
				onIndex(t, db, func(x topicIndex) error {
					name = applyRandom(t, rnd, x, want, &next)
					return nil
				})
				checkIndex(t, db, want, fmt.Sprintf("step %d (%s)", step, name))
			}
		})
	}
}

// applyRandom applies one random change to x and to want and names it.
func applyRandom(t *testing.T, rnd *rand.Rand, x topicIndex, want indexModel, next *uint64) string {
	t.Helper()
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	switch op := rnd.IntN(10); {
	case op < 6: // a commit's appends, in order, with gaps (other topics' positions)
		var recs []indexRecord
		if rnd.IntN(8) == 0 { // a commit that starts inside the index
			recs = append(recs, indexRecord{1 + uint64(rnd.Int64N(int64(*next))), true})
		}
		for range 1 + rnd.IntN(100) {
			*next += 1 + uint64(rnd.IntN(3))
			recs = append(recs, indexRecord{*next, rnd.IntN(2) == 0})
		}
		must(x.appendAll(recs))
		for _, r := range recs {
			want[r.seq] = r.canonical
		}
		return fmt.Sprintf("append %d from %d", len(recs), recs[0].seq)
	case op < 7: // out of order: a gap filled, or a position written again
		s := 1 + uint64(rnd.Int64N(int64(*next)))
		c := rnd.IntN(2) == 0
		must(x.add(s, c))
		want[s] = c
		return fmt.Sprintf("add %d", s)
	case op < 9:
		s := 1 + uint64(rnd.Int64N(int64(*next)))
		found, err := x.remove(s)
		must(err)
		if _, ok := want[s]; ok != found {
			t.Fatalf("remove(%d) found %v, the model %v", s, found, ok)
		}
		delete(want, s)
		return fmt.Sprintf("remove %d", s)
	default:
		n := rnd.Int64N(100)
		recs, err := x.trim(n)
		must(err)
		seqs := slices.Sorted(maps.Keys(want))
		if len(recs) != min(int(n), len(seqs)) {
			t.Fatalf("trim(%d) removed %d of %d", n, len(recs), len(seqs))
		}
		for i, r := range recs {
			if r.seq != seqs[i] || r.canonical != want[r.seq] {
				t.Fatalf("trim(%d) removed %+v, want %d (%v)", n, r, seqs[i], want[seqs[i]])
			}
			delete(want, r.seq)
		}
		return fmt.Sprintf("trim %d", n)
	}
}

// TestTopicIndexReadsEntriesOfBefore: an index written before blocks (one
// entry per position, its value the flag) is read, appended to, trimmed
// and removed from as it is, and its last entry becomes a block.
func TestTopicIndexReadsEntriesOfBefore(t *testing.T) {
	t.Parallel()
	db := openTestDB(t)
	want := indexModel{}
	onIndex(t, db, func(x topicIndex) error {
		for s := uint64(10); s < 30; s += 2 {
			want[s] = s%4 == 0
			if err := x.b.Put(seqKey(s), []byte{map[bool]byte{true: 1}[want[s]]}); err != nil {
				return err
			}
		}
		return nil
	})
	checkIndex(t, db, want, "as written before")
	onIndex(t, db, func(x topicIndex) error {
		var recs []indexRecord
		for s := uint64(29); s < 200; s++ {
			recs = append(recs, indexRecord{s, true})
			want[s] = true
		}
		return x.appendAll(recs)
	})
	checkIndex(t, db, want, "appended to")
	onIndex(t, db, func(x topicIndex) error {
		k, v := x.b.Cursor().Last()
		if len(v) == 1 || binary.BigEndian.Uint64(k) < 28 {
			t.Errorf("the last entry is %x = %x, want a block", k, v)
		}
		return nil
	})
	onIndex(t, db, func(x topicIndex) error {
		for _, s := range []uint64{14, 28, 29} { // an old entry, the old entry turned block, a new one
			if found, err := x.remove(s); err != nil || !found {
				t.Errorf("remove(%d) = %v, %v", s, found, err)
			}
			delete(want, s)
		}
		recs, err := x.trim(3) // 10, 12, 16
		if len(recs) != 3 || recs[0].seq != 10 || recs[2].seq != 16 || recs[2].canonical != true {
			t.Errorf("trim(3) = %+v, %v", recs, err)
		}
		delete(want, 10)
		delete(want, 12)
		delete(want, 16)
		return err
	})
	checkIndex(t, db, want, "trimmed")
}

// TestTopicIndexRejectsCorruptBlocks: a value that is neither a flag nor
// whole records is an error naming it, not positions made up.
func TestTopicIndexRejectsCorruptBlocks(t *testing.T) {
	t.Parallel()
	for _, v := range [][]byte{{}, bytes.Repeat([]byte{1}, 10), bytes.Repeat([]byte{0}, 17)} {
		if _, err := decodeBlock(seqKey(5), v); err == nil {
			t.Errorf("decodeBlock of %d bytes: no error", len(v))
		}
	}
	if _, err := decodeBlock([]byte{1, 2}, []byte{1}); err == nil {
		t.Error("decodeBlock with a 2-byte key: no error")
	}
	db := openTestDB(t)
	onIndex(t, db, func(x topicIndex) error { return x.b.Put(seqKey(5), []byte{1, 2, 3, 4, 5}) })
	err := db.Update(func(tx *bbolt.Tx) error {
		x, _ := openIndex(tx, "t")
		return x.appendAll([]indexRecord{{9, true}})
	})
	if !errors.Is(err, errCorrupt) {
		t.Errorf("appending after a corrupt block: %v, want a corrupt error", err)
	}
}
