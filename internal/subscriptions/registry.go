package subscriptions

import (
	"cmp"
	"slices"
	"sync"

	"github.com/ssehub/ssehub/internal/topic"
)

// Registry is the set of active subscriptions of one node, by subscriber.
// The zero value is empty and ready; it is safe for concurrent use.
type Registry struct {
	mu   sync.RWMutex
	subs map[string][]Subscription // by subscriber
}

// Add records the subscriptions of one subscriber, all with the same
// Subscriber, replacing any it had.
func (r *Registry) Add(subs []Subscription) {
	if len(subs) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.subs == nil {
		r.subs = make(map[string][]Subscription)
	}
	r.subs[subs[0].Subscriber] = subs
}

// Remove forgets subscriber's subscriptions and returns them.
func (r *Registry) Remove(subscriber string) []Subscription {
	r.mu.Lock()
	defer r.mu.Unlock()
	subs := r.subs[subscriber]
	delete(r.subs, subscriber)
	return subs
}

// List returns the subscriptions keep accepts (every one when keep is nil),
// in the order of Sort.
func (r *Registry) List(keep func(Subscription) bool) []Subscription {
	var out []Subscription
	r.mu.RLock()
	for _, subs := range r.subs {
		for _, s := range subs {
			if keep == nil || keep(s) {
				out = append(out, s)
			}
		}
	}
	r.mu.RUnlock()
	Sort(out)
	return out
}

// Get returns the subscription of subscriber to the topic selector sel of
// matcher type typ (topic.Classic for a classic subscription).
func (r *Registry) Get(typ topic.Type, sel, subscriber string) (Subscription, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, s := range r.subs[subscriber] {
		if s.Topic == sel && s.MatchType == typ {
			return s, true
		}
	}
	return Subscription{}, false
}

// Sort orders subs by subscriber, then topic selector, then matcher type.
func Sort(subs []Subscription) {
	slices.SortFunc(subs, func(a, b Subscription) int {
		return cmp.Or(cmp.Compare(a.Subscriber, b.Subscriber), cmp.Compare(a.Topic, b.Topic), cmp.Compare(a.MatchType, b.MatchType))
	})
}
