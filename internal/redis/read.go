package redis

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	goredis "github.com/redis/go-redis/v9"

	"github.com/ssehub/ssehub/internal/hub"
)

// readPage is how many entries one XRANGE returns while replaying.
const readPage = 512

// Read calls fn for the retained updates of q's range in position order
// (hub.Reader). With q.Topics it reads those topics' streams and merges
// them; otherwise it reads the log, whose length bounds how far back a
// wildcard subscription can resume. It reads no more than q.Limit
// matching entries of each stream.
func (s *Store) Read(ctx context.Context, q hub.Query, fn func(*hub.Update) error) error {
	if q.Topics == nil {
		return s.scan(ctx, s.keys.log, q, fn)
	}
	var all []*hub.Update
	for _, t := range hub.DistinctTopics(q.Topics) {
		err := s.scan(ctx, s.keys.topic(t), q, func(u *hub.Update) error {
			all = append(all, u)
			return nil
		})
		if err != nil {
			return err
		}
	}
	slices.SortFunc(all, func(a, b *hub.Update) int { return cmp.Compare(a.Seq, b.Seq) })
	n := 0
	for i, u := range all {
		if i > 0 && all[i-1].Seq == u.Seq {
			continue // an update of several of the topics
		}
		if q.Limit > 0 && n == q.Limit {
			return nil
		}
		n++
		if err := fn(u); err != nil {
			return err
		}
	}
	return nil
}

// scan calls fn for the entries of one stream in (q.After, q.Upto] that
// q.Match accepts, a page at a time, up to q.Limit of them. Log entries
// whose payload is gone (older than MaxAge) are past retention: skipped.
func (s *Store) scan(ctx context.Context, key string, q hub.Query, fn func(*hub.Update) error) error {
	start, end := "("+entryID(q.After), entryID(q.Upto)
	n := 0
	for {
		count := readPage
		if q.Limit > 0 {
			count = min(readPage, q.Limit-n) // some may not match: the next page reads on
		}
		es, err := s.page(ctx, key, start, end, count)
		if err != nil {
			return err
		}
		for _, e := range es {
			if e.gone {
				continue
			}
			u, err := e.decode()
			if err != nil {
				return fmt.Errorf("redis read %s: %w", key, err)
			}
			if q.Match != nil && !q.Match(u) {
				continue
			}
			if err := fn(u); err != nil {
				return err
			}
			if n++; n == q.Limit {
				return nil
			}
		}
		if len(es) < count {
			return nil
		}
		start = "(" + es[len(es)-1].id
	}
}

// page reads the entries of one stream in [start, end], at most count:
// the log's with their payloads, or a topic's.
func (s *Store) page(ctx context.Context, key, start, end string, count int) ([]entry, error) {
	if key == s.keys.log {
		es, _, err := s.readLog(ctx, logRead{start: start, end: end, count: count})
		return es, err
	}
	v, err := s.rdb.Do(ctx, "XRANGE", key, start, end, "COUNT", count).Result()
	if err := s.note(err); err != nil {
		return nil, fmt.Errorf("redis read %s: %w", key, err)
	}
	es, _, err := parseEntries(v)
	return es, err
}

// Lookup returns the position of an event id (hub.Reader). A generated id
// of the current epoch names its position directly; a publisher's id is
// looked up in the ids it recorded.
func (s *Store) Lookup(ctx context.Context, id string) (uint64, bool, error) {
	if epoch, seq, ok := hub.ParseID(id); ok {
		return seq, ok && epoch == s.Epoch(), nil
	}
	entry, err := s.rdb.Get(ctx, s.keys.id(id)).Result()
	if errors.Is(s.note(err), goredis.Nil) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("redis lookup: %w", err)
	}
	seq, err := seqOf(entry)
	if err != nil {
		return 0, false, fmt.Errorf("redis lookup: %w", err)
	}
	return seq, true, nil
}

// Head returns the position of the newest entry of the log, 0 when it is
// empty: a node that has read up to it has read what any node published
// before (hub.LogHead).
func (s *Store) Head(ctx context.Context) (uint64, error) {
	m, err := s.newest(ctx)
	if err != nil || m == nil {
		return 0, err
	}
	seq, err := seqOf(m.ID)
	if err != nil {
		return 0, fmt.Errorf("read the log's head: %w", err)
	}
	return seq, nil
}

// head reads the newest entry of the log.
func (s *Store) head(ctx context.Context) (position, error) {
	m, err := s.newest(ctx)
	if err != nil || m == nil {
		return position{}, err
	}
	es, _, err := s.readLog(ctx, logRead{start: m.ID, end: m.ID, count: 1})
	if err != nil {
		return position{}, fmt.Errorf("read the log's head: %w", err)
	}
	if len(es) == 0 { // trimmed meanwhile: a wipe; the follower notices
		return position{}, fmt.Errorf("read the log's head: entry %s gone", m.ID)
	}
	e := es[0]
	at, err := e.position()
	if err != nil {
		return position{}, fmt.Errorf("read the log's head: %w", err)
	}
	if e.gone {
		return at, nil // expired with its topic: its generated id names it all the same
	}
	u, err := e.decode()
	if err != nil {
		return position{}, fmt.Errorf("read the log's head: %w", err)
	}
	at.id = u.ID
	return at, nil
}

// newest returns the newest entry of the log, nil when it is empty.
func (s *Store) newest(ctx context.Context) (*goredis.XMessage, error) {
	msgs, err := s.rdb.XRevRangeN(ctx, s.keys.log, "+", "-", 1).Result()
	if err := s.note(err); err != nil {
		return nil, fmt.Errorf("read the log's head: %w", err)
	}
	if len(msgs) == 0 {
		return nil, nil
	}
	return &msgs[0], nil
}

var errNoPayload = errors.New("payload no longer stored")

// position is where entry e stands in the log, named by its generated id.
func (e entry) position() (position, error) {
	seq, err := seqOf(e.id)
	if err != nil {
		return position{}, err
	}
	count, _ := strconv.ParseUint(e.count, 10, 64)
	return position{seq: seq, id: hub.FormatID(e.epoch, seq), count: count}, nil
}

// decode rebuilds the update of an entry, wire bytes included.
func (e entry) decode() (*hub.Update, error) {
	if e.gone {
		return nil, fmt.Errorf("entry %s: %w", e.id, errNoPayload)
	}
	seq, err := seqOf(e.id)
	if err != nil {
		return nil, err
	}
	u := &hub.Update{Seq: seq}
	if err := u.UnmarshalBinary([]byte(e.payload)); err != nil {
		return nil, fmt.Errorf("entry %s: %w", e.id, err)
	}
	if u.ID == "" {
		u.ID = hub.FormatID(e.epoch, seq)
	}
	if err := u.Encode(); err != nil {
		return nil, fmt.Errorf("entry %s: %w", e.id, errors.Join(hub.ErrCorrupt, err))
	}
	return u, nil
}

func field(m goredis.XMessage, name string) string {
	v, _ := m.Values[name].(string)
	return v
}
