package hub

import "errors"

// subList is a set of subscribers kept as a slice for fast iteration, with
// positions for O(1) removal.
type subList struct {
	subs []*Subscriber
	pos  map[*Subscriber]int
}

func (l *subList) add(s *Subscriber) {
	if l.pos == nil {
		l.pos = map[*Subscriber]int{}
	}
	if _, ok := l.pos[s]; ok {
		return
	}
	l.pos[s] = len(l.subs)
	l.subs = append(l.subs, s)
}

func (l *subList) remove(s *Subscriber) {
	i, ok := l.pos[s]
	if !ok {
		return
	}
	last := len(l.subs) - 1
	l.subs[i] = l.subs[last]
	l.pos[l.subs[i]] = i
	l.subs[last] = nil
	l.subs = l.subs[:last]
	delete(l.pos, s)
}

// index registers s; called with sh.mu held.
func (sh *shard) index(s *Subscriber) {
	sh.all[s] = struct{}{}
	for _, t := range s.exact {
		l := sh.byTopic[t]
		if l == nil {
			l = &subList{}
			sh.byTopic[t] = l
		}
		l.add(s)
	}
	if s.wildcard {
		sh.wild.add(s)
	}
}

// unindex forgets s; called with sh.mu held.
func (sh *shard) unindex(s *Subscriber) {
	delete(sh.all, s)
	for _, t := range s.exact {
		if l := sh.byTopic[t]; l != nil {
			l.remove(s)
			if len(l.subs) == 0 {
				delete(sh.byTopic, t)
			}
		}
	}
	if s.wildcard {
		sh.wild.remove(s)
	}
}

// remove forgets s.
func (h *Hub) remove(s *Subscriber) {
	sh := h.home(s)
	sh.mu.Lock()
	sh.unindex(s)
	sh.mu.Unlock()
}

// cut ends s for err, removing it from the hub; a slow consumer is counted.
func (h *Hub) cut(s *Subscriber, err error) {
	h.remove(s)
	if s.end(err) && errors.Is(err, ErrSlowConsumer) {
		h.slowCut.Add(1)
	}
}

// listeners is the number of subscriptions naming t exactly; called with
// sh.mu held.
func (sh *shard) listeners(t string) int {
	if l := sh.byTopic[t]; l != nil {
		return len(l.subs)
	}
	return 0
}
