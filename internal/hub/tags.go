package hub

import (
	"strconv"

	"github.com/ssehub/ssehub/internal/topic"
)

// TagField is the SSE field naming the selectors an update matched, for a
// subscription with SubscribeOptions.TagSelectors: "selectors: 0 2" for
// its first and third. EventSource ignores fields it does not know, so
// the stream stays a valid one for any client.
const TagField = "selectors"

// tagger remembers the selectors of a subscription that tags its updates,
// in the order they were given (a Set reorders them).
type tagger struct {
	sels []topic.Selector
}

// startTagging has s tag what it drains; called before s is shared.
func (s *Subscriber) startTagging(sels []topic.Selector) {
	s.tagged = true
	s.hub.taggers.Store(s, &tagger{sels: sels})
}

// stopTagging forgets s's selectors, once it has ended.
func (s *Subscriber) stopTagging() {
	if s.tagged {
		s.hub.taggers.Delete(s)
	}
}

// tag replaces each update of batch with a copy whose wire bytes name
// the selectors it matched. The batch is the caller's: the updates in
// queues and history stay as they are, shared by every subscriber.
func (s *Subscriber) tag(batch []*Update) {
	v, ok := s.hub.taggers.Load(s)
	if !ok {
		return
	}
	t := v.(*tagger)
	for i, u := range batch {
		batch[i] = t.tag(u)
	}
}

// tag returns a copy of u whose event carries the TagField line.
func (t *tagger) tag(u *Update) *Update {
	ts := topic.NewTopics(u.Topics)
	line := make([]byte, 0, len(TagField)+16)
	for i := range t.sels {
		if !t.sels[i].MatchTopics(ts) {
			continue
		}
		if len(line) == 0 {
			line = append(line, TagField+":"...)
		}
		line = strconv.AppendInt(append(line, ' '), int64(i), 10)
	}
	if len(line) == 0 || len(u.wire) == 0 {
		return u
	}
	c := *u
	end := len(u.wire) - 1 // the blank line that ends the event
	c.wire = append(append(append(make([]byte, 0, len(u.wire)+len(line)+1), u.wire[:end]...), line...), '\n', '\n')
	return &c
}
