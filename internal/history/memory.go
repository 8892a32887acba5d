// Package history keeps published updates so that subscribers can resume
// where they left off. Memory is an in-process ring per topic.
package history

import (
	"container/list"
	"context"
	"slices"
	"sync"

	"github.com/ssehub/ssehub/internal/hub"
)

// Defaults for Memory limits.
const (
	DefaultMaxEvents     = 10000
	DefaultMaxBytes      = 4 << 20
	DefaultMaxTotalBytes = 256 << 20
)

// MemoryConfig bounds a Memory history. Zero values take the defaults.
type MemoryConfig struct {
	MaxEvents     int // updates kept per topic
	MaxBytes      int // bytes kept per topic
	MaxTotalBytes int // bytes kept in all; past it the least recently used topics are dropped whole
}

// Memory is a hub.History kept in memory: one bounded ring per topic, an
// update with several topics being shared by their rings.
type Memory struct {
	cfg MemoryConfig

	mu     sync.RWMutex
	topics map[string]*ring
	lru    list.List         // of topic names, most recently appended first
	total  int               // bytes in all rings
	ids    map[string]uint64 // ids of retained updates
}

// NewMemory returns an empty history bounded by cfg.
func NewMemory(cfg MemoryConfig) *Memory {
	if cfg.MaxEvents <= 0 {
		cfg.MaxEvents = DefaultMaxEvents
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	if cfg.MaxTotalBytes <= 0 {
		cfg.MaxTotalBytes = DefaultMaxTotalBytes
	}
	return &Memory{cfg: cfg, topics: map[string]*ring{}, ids: map[string]uint64{}}
}

// Append stores u in the ring of each of its topics, evicting the oldest
// updates of a ring past its limits, then the least recently appended
// topics while the total is past its limit.
func (m *Memory) Append(_ context.Context, u *hub.Update) error {
	size := u.Size()
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, t := range hub.DistinctTopics(u.Topics) {
		r := m.topics[t]
		if r == nil {
			r = &ring{}
			r.elem = m.lru.PushFront(t)
			m.topics[t] = r
		} else {
			m.lru.MoveToFront(r.elem)
		}
		m.total -= r.bytes
		r.push(u, size)
		for r.len() > m.cfg.MaxEvents || (r.bytes > m.cfg.MaxBytes && r.len() > 1) {
			m.forget(t, r.pop())
		}
		m.total += r.bytes
	}
	m.ids[u.ID] = u.Seq
	m.evictTopics()
	return nil
}

// evictTopics drops least recently appended topics, never the newest one,
// while the total size is over its limit.
func (m *Memory) evictTopics() {
	for m.total > m.cfg.MaxTotalBytes && m.lru.Len() > 1 {
		t := m.lru.Remove(m.lru.Back()).(string)
		r := m.topics[t]
		delete(m.topics, t)
		m.total -= r.bytes
		for r.len() > 0 {
			m.forget(t, r.pop())
		}
	}
}

// forget drops the id index entry of an update leaving its canonical topic.
func (m *Memory) forget(t string, u *hub.Update) {
	if u.Topics[0] == t && m.ids[u.ID] == u.Seq {
		delete(m.ids, u.ID)
	}
}

// Read calls fn for the matching updates of q's range in Seq order; an update
// in several matching topics is reported once.
func (m *Memory) Read(ctx context.Context, q hub.Query, fn func(*hub.Update) error) error {
	found := m.collect(q)
	for i, u := range found {
		if i > 0 && found[i-1] == u {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(u); err != nil {
			return err
		}
	}
	return nil
}

// collect returns the matching updates of q's range in Seq order, an update
// in several of the rings read once for each. With a limit, it keeps no
// more than it needs: once it holds twice the limit it cuts them down to
// the first q.Limit, and reads no ring past the last of those, so a page
// of many topics costs about a page, not all that is left to read.
func (m *Memory) collect(q hub.Query) []*hub.Update {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var found []*hub.Update
	upto := q.Upto
	add := func(r *ring) {
		if r == nil {
			return
		}
		n := 0 // a ring's first q.Limit matches hold its share of the first q.Limit in all
		r.each(q.After, func(u *hub.Update) bool {
			if u.Seq > upto {
				return false
			}
			if q.Match == nil || q.Match(u) {
				found = append(found, u)
				n++
			}
			return q.Limit <= 0 || n < q.Limit
		})
		if q.Limit > 0 && len(found) >= 2*q.Limit {
			found = sortDistinct(found)
			if len(found) >= q.Limit {
				found = found[:q.Limit]
				upto = found[q.Limit-1].Seq
			}
		}
	}
	if q.Topics != nil {
		for _, t := range q.Topics {
			add(m.topics[t])
		}
	} else {
		for _, r := range m.topics {
			add(r)
		}
	}
	sortSeq(found)
	return found
}

// sortDistinct sorts found by Seq and drops the copies of an update read
// in several rings.
func sortDistinct(found []*hub.Update) []*hub.Update {
	sortSeq(found)
	return slices.Compact(found)
}

func sortSeq(found []*hub.Update) {
	slices.SortFunc(found, func(a, b *hub.Update) int {
		return cmpSeq(a.Seq, b.Seq)
	})
}

func cmpSeq(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Lookup returns the Seq of a retained update by id: a publisher-given id
// still in its canonical topic's ring.
func (m *Memory) Lookup(_ context.Context, id string) (uint64, bool, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	seq, ok := m.ids[id]
	return seq, ok, nil
}

// Topics returns the number of topics with retained updates.
func (m *Memory) Topics() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.topics)
}

// Bytes returns the size of all retained updates.
func (m *Memory) Bytes() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.total
}

// Len returns the number of updates retained for a topic.
func (m *Memory) Len(topic string) int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if r := m.topics[topic]; r != nil {
		return r.len()
	}
	return 0
}
