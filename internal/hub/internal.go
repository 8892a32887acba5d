package hub

import (
	"errors"
	"time"
)

// publishInternal queues one of the hub's own announcements (the stats
// feed) for the subscribers naming its topic exactly: wildcard subscribers
// never get them, as reserved topics match only exact selectors. They take
// no position and carry no id, so they neither enter history nor move a
// client's resume point, and on a shared log they stay on this node.
func (h *Hub) publishInternal(u *Update) error {
	if len(u.Topics) != 1 {
		return &Error{Code: CodeInvalid, Field: "topic", Err: errors.New("an internal update has exactly one topic")}
	}
	u.ID, u.Time = "", time.Now()
	if err := u.Encode(); err != nil {
		return err
	}
	if h.isClosed() {
		return &Error{Code: CodeUnavailable, Err: ErrClosed}
	}
	t := u.Topics[0]
	for _, sh := range h.naming(t) {
		sh.mu.Lock()
		if l := sh.byTopic[t]; l != nil {
			for _, s := range l.subs {
				if !u.Private || s.mayRead(u, t) {
					sh.enqueue(s, u)
				}
			}
		}
		sh.cutOff(h)
		added := sh.takeAdded(h)
		woken := sh.takeWoken()
		sh.mu.Unlock()
		signalAll(woken)
		if added > 0 {
			h.checkSlow()
		}
	}
	h.internal.Add(1)
	return nil
}
