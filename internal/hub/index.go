package hub

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

// index registers s; called with h.mu held.
func (h *Hub) index(s *Subscriber) {
	h.all[s] = struct{}{}
	for _, t := range s.exact {
		l := h.byTopic[t]
		if l == nil {
			l = &subList{}
			h.byTopic[t] = l
		}
		l.add(s)
	}
	if s.wildcard {
		h.wild.add(s)
	}
}

// unindex forgets s; called with h.mu held.
func (h *Hub) unindex(s *Subscriber) {
	delete(h.all, s)
	for _, t := range s.exact {
		if l := h.byTopic[t]; l != nil {
			l.remove(s)
			if len(l.subs) == 0 {
				delete(h.byTopic, t)
			}
		}
	}
	if s.wildcard {
		h.wild.remove(s)
	}
}

func (h *Hub) remove(s *Subscriber) {
	h.mu.Lock()
	h.unindex(s)
	h.mu.Unlock()
}
