package bolt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"

	bbolt "go.etcd.io/bbolt"

	"github.com/ssehub/ssehub/internal/hub"
)

// readChunk is how many updates one read transaction decodes: long replays
// are read in several short transactions so they never hold the file's
// pages for long.
const readChunk = 512

// Read calls fn for the retained updates of q's range in position order,
// staged ones included. With q.Topics it seeks in those topics' indexes;
// otherwise it scans the updates from q.After on. It stops after q.Limit
// updates, decoding no more than it needs.
func (s *Store) Read(ctx context.Context, q hub.Query, fn func(*hub.Update) error) error {
	// Taken first: an update unstaged since was committed before, so the
	// transactions below see it; one in both is given once.
	staged := s.stagedIn(q)
	left := q.Limit
	if left <= 0 {
		left = -1 // no limit
	}
	emit := func(u *hub.Update) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if left == 0 {
			return errLimit
		}
		left--
		return fn(u)
	}
	err := s.read(q, staged, &left, emit)
	if errors.Is(err, errLimit) {
		return nil
	}
	return err
}

// errLimit stops a read once it has given q.Limit updates.
var errLimit = errors.New("read limit reached")

// read calls emit for the updates of q's range, merging the staged ones
// with those committed, a chunk of positions at a time: no more than the
// *left updates emit still takes (all when negative).
func (s *Store) read(q hub.Query, staged []*hub.Update, left *int, emit func(*hub.Update) error) error {
	after := q.After
	for {
		n := readChunk
		if *left > 0 {
			n = min(n, *left) // some may not match: the next chunk reads on
		}
		chunk, next, err := s.readChunk(q, after, n)
		if err != nil {
			return err
		}
		for _, u := range chunk {
			for len(staged) > 0 && staged[0].Seq <= u.Seq {
				if staged[0].Seq < u.Seq {
					if err := emit(staged[0]); err != nil {
						return err
					}
				}
				staged = staged[1:]
			}
			if err := emit(u); err != nil {
				return err
			}
		}
		if len(chunk) == 0 && next == after {
			break
		}
		after = next
	}
	for _, u := range staged {
		if err := emit(u); err != nil {
			return err
		}
	}
	return nil
}

// readChunk returns the matching updates among the next n positions after
// `after`, and the position the next chunk starts after.
func (s *Store) readChunk(q hub.Query, after uint64, n int) ([]*hub.Update, uint64, error) {
	var out []*hub.Update
	next := after
	err := s.db.View(func(tx *bbolt.Tx) error {
		seqs, err := s.positions(tx, q, after, n)
		if err != nil {
			return err
		}
		updates := tx.Bucket(bucketUpdates)
		for _, seq := range seqs {
			next = seq
			v := updates.Get(seqKey(seq))
			if v == nil {
				continue // deleted by retention, index entry not yet
			}
			u, err := decodeUpdate(seq, v)
			if err != nil {
				return fmt.Errorf("update %d: %w", seq, err)
			}
			if q.Match == nil || q.Match(u) {
				out = append(out, u)
			}
		}
		return nil
	})
	return out, next, err
}

// positions lists, in order, up to n positions in (after, q.Upto].
func (s *Store) positions(tx *bbolt.Tx, q hub.Query, after uint64, n int) ([]uint64, error) {
	if q.Topics == nil {
		upto := seqKey(q.Upto)
		var seqs []uint64
		c := tx.Bucket(bucketUpdates).Cursor()
		for k, _ := c.Seek(seqKey(after + 1)); k != nil && bytes.Compare(k, upto) <= 0 && len(seqs) < n; k, _ = c.Next() {
			if seq, ok := keySeq(k); ok {
				seqs = append(seqs, seq)
			}
		}
		return seqs, nil
	}
	var seqs []uint64
	for _, t := range q.Topics {
		if x, ok := openIndex(tx, t); ok {
			var err error
			if seqs, err = x.scan(after, q.Upto, n, seqs); err != nil {
				return nil, fmt.Errorf("topic %q: %w", t, err)
			}
		}
	}
	slices.Sort(seqs)
	seqs = slices.Compact(seqs)
	if len(seqs) > n {
		seqs = seqs[:n]
	}
	return seqs, nil
}

// Lookup returns the position of a retained or staged update by its id.
// An id the hub generated names its position; a publisher's id is looked
// up in the id index.
func (s *Store) Lookup(_ context.Context, id string) (uint64, bool, error) {
	// Staged first: one unstaged since is in the transaction below.
	if seq, ok := s.stagedSeq(id); ok {
		return seq, true, nil
	}
	var seq uint64
	var ok bool
	err := s.db.View(func(tx *bbolt.Tx) error {
		seq, ok = s.positionOf(tx, id)
		if ok && tx.Bucket(bucketUpdates).Get(seqKey(seq)) == nil {
			ok = false // retention deleted it, or it never was
		}
		return nil
	})
	return seq, ok, err
}

// positionOf returns the position id names: its own for an id the hub
// generated, else the id index's entry.
func (s *Store) positionOf(tx *bbolt.Tx, id string) (uint64, bool) {
	if seq, ok := s.generatedSeq(id); ok {
		return seq, true
	}
	k := tx.Bucket(bucketIDs).Get([]byte(id))
	if k == nil {
		return 0, false
	}
	return keySeq(k)
}
