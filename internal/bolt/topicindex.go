package bolt

import (
	"encoding/binary"
	"slices"
	"sort"

	bbolt "go.etcd.io/bbolt"
)

// A topic's index lists the positions of its updates, each with a flag
// that tells whether the topic is the update's canonical one (the first it
// names: removing that entry deletes the update). The positions are packed
// in blocks: a block's key is the position it starts at, its value up to
// blockRecords records of 9 bytes (the position, big-endian, and the flag),
// in order, all below the next block's key. A commit that appends to a
// topic rewrites one small value in the index's last page rather than
// adding an entry to it, so the page it reads into memory and writes back
// holds a few blocks instead of hundreds of entries.
//
// Stores written before blocks hold one entry per position, its value the
// flag alone (1 byte): such an entry is read as a block of one record, and
// becomes a block when the next position is appended to it.

// topicIndex is one topic's index in a transaction.
type topicIndex struct{ b *bbolt.Bucket }

// openIndex returns topic's index, or false when it has none.
func openIndex(tx *bbolt.Tx, topic string) (topicIndex, bool) {
	b := tx.Bucket(bucketTopics).Bucket([]byte(topic))
	return topicIndex{b}, b != nil
}

// createIndex returns topic's index, created if missing, for appending.
func createIndex(tx *bbolt.Tx, topic string) (topicIndex, error) {
	b, err := tx.Bucket(bucketTopics).CreateBucketIfNotExists([]byte(topic))
	if err != nil {
		return topicIndex{}, err
	}
	b.FillPercent = appendFill
	return topicIndex{b}, nil
}

// blockAt positions c on the block that would hold seq: the last one whose
// key is not above it. It returns that block's key and value, or nil when
// seq is below every block.
func blockAt(c *bbolt.Cursor, seq uint64) (k, v []byte) {
	k, v = c.Seek(seqKey(seq))
	if k == nil {
		return c.Last()
	}
	if s, _ := keySeq(k); s == seq {
		return k, v
	}
	return c.Prev()
}

// appendAll adds recs, in position order, as a commit does: past the
// index's last position they fill its last block and then new ones; any
// other position goes through add.
func (x topicIndex) appendAll(recs []indexRecord) error {
	k, v := x.b.Cursor().Last()
	if k != nil && len(v) != 1 {
		if err := checkBlock(v); err != nil {
			return err
		}
	}
	if k != nil && recs[0].seq <= lastPosition(k, v) {
		for _, r := range recs {
			if err := x.add(r.seq, r.canonical); err != nil {
				return err
			}
		}
		return nil
	}
	if k != nil && recordCount(v) < blockRecords {
		n := min(blockRecords-recordCount(v), len(recs))
		val := blockBytes(make([]byte, 0, (recordCount(v)+n)*recordSize), k, v)
		if err := x.b.Put(k, appendRecords(val, recs[:n])); err != nil {
			return err
		}
		recs = recs[n:]
	}
	for len(recs) > 0 {
		n := min(blockRecords, len(recs))
		if err := x.b.Put(seqKey(recs[0].seq), encodeBlock(recs[:n])); err != nil {
			return err
		}
		recs = recs[n:]
	}
	return nil
}

// add records seq in the index: in the block that would hold it while that
// has room; past a full block's end in a new block; inside a full block by
// splitting it.
func (x topicIndex) add(seq uint64, canonical bool) error {
	k, v := blockAt(x.b.Cursor(), seq)
	rec := indexRecord{seq, canonical}
	if k == nil {
		return x.b.Put(seqKey(seq), encodeBlock([]indexRecord{rec}))
	}
	recs, err := decodeBlock(k, v)
	if err != nil {
		return err
	}
	i := len(recs)
	for i > 0 && recs[i-1].seq >= seq {
		i--
	}
	if i < len(recs) && recs[i].seq == seq { // already there: set the flag
		recs[i] = rec
		return x.b.Put(k, encodeBlock(recs))
	}
	if len(recs) < blockRecords {
		recs = slices.Insert(recs, i, rec)
		return x.b.Put(k, encodeBlock(recs))
	}
	if i == len(recs) { // full, and seq comes last (as commits write): a new block
		return x.b.Put(seqKey(seq), encodeBlock([]indexRecord{rec}))
	}
	// Full, and seq falls inside: the block splits in two halves, the
	// second keyed by its first position, still below the next block's.
	recs = slices.Insert(recs, i, rec)
	half := len(recs) / 2
	if err := x.b.Put(k, encodeBlock(recs[:half])); err != nil {
		return err
	}
	return x.b.Put(seqKey(recs[half].seq), encodeBlock(recs[half:]))
}

// remove removes seq from the index and tells whether it was there. It
// works on the block's bytes: a position not there costs no allocation.
func (x topicIndex) remove(seq uint64) (bool, error) {
	k, v := blockAt(x.b.Cursor(), seq)
	if k == nil {
		return false, nil
	}
	if len(v) == 1 { // an entry of before blocks: its key is its position
		if first, _ := keySeq(k); first != seq {
			return false, nil
		}
		return true, x.b.Delete(append([]byte(nil), k...))
	}
	if err := checkBlock(v); err != nil {
		return false, err
	}
	n := len(v) / recordSize
	at := func(i int) uint64 { return binary.BigEndian.Uint64(v[i*recordSize:]) }
	i := sort.Search(n, func(i int) bool { return at(i) >= seq })
	if i == n || at(i) != seq {
		return false, nil
	}
	k = append([]byte(nil), k...) // the cursor's key is the page's memory
	if n == 1 {
		return true, x.b.Delete(k)
	}
	rest := make([]byte, 0, len(v)-recordSize)
	rest = append(append(rest, v[:i*recordSize]...), v[(i+1)*recordSize:]...)
	return true, x.b.Put(k, rest)
}

// replace stores recs as the block at key k, or deletes it when empty. The
// key stays: it is still at or below the block's first position.
func (x topicIndex) replace(k []byte, recs []indexRecord) error {
	k = append([]byte(nil), k...) // the cursor's key is the page's memory
	if len(recs) == 0 {
		return x.b.Delete(k)
	}
	return x.b.Put(k, encodeBlock(recs))
}

// empty tells whether the index holds no position.
func (x topicIndex) empty() bool {
	k, _ := x.b.Cursor().First()
	return k == nil
}

// count returns how many positions the index holds.
func (x topicIndex) count() int64 {
	var n int64
	_ = x.b.ForEach(func(_, v []byte) error {
		n += int64(recordCount(v))
		return nil
	})
	return n
}

// scan appends to into the positions in (after, upto], in order, up to
// limit of them.
func (x topicIndex) scan(after, upto uint64, limit int, into []uint64) ([]uint64, error) {
	c := x.b.Cursor()
	k, v := blockAt(c, after+1)
	if k == nil {
		k, v = c.First()
	}
	for n := 0; k != nil && n < limit; k, v = c.Next() {
		if first, _ := keySeq(k); first > upto {
			break
		}
		recs, err := decodeBlock(k, v)
		if err != nil {
			return into, err
		}
		for _, r := range recs {
			if r.seq > after && r.seq <= upto && n < limit {
				into = append(into, r.seq)
				n++
			}
		}
	}
	return into, nil
}

// trim removes up to n of the index's oldest positions and returns those
// it removed, oldest first.
func (x topicIndex) trim(n int64) ([]indexRecord, error) {
	var removed []indexRecord
	c := x.b.Cursor()
	for k, v := c.First(); k != nil && int64(len(removed)) < n; k, v = c.First() {
		recs, err := decodeBlock(k, v)
		if err != nil {
			return removed, err
		}
		take := min(len(recs), int(n)-len(removed))
		removed = append(removed, recs[:take]...)
		if err := x.replace(k, recs[take:]); err != nil {
			return removed, err
		}
	}
	return removed, nil
}
