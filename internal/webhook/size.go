package webhook

import "github.com/ssehub/ssehub/internal/subscriptions"

// What the queues hold is bounded by bytes as well as by count
// (Config.QueueBytes): a subscriber may send up to -max-topics selectors
// of up to -max-topic-length bytes each, and its token a large payload, so
// that 10,000 events could otherwise hold gigabytes while the application
// is down. The sizes count the strings an item keeps alive and a fixed
// overhead; strings shared by several items (a subscriber's topics, in its
// started and ended events) count in each, erring on the side of memory.

// itemOverhead is what a queued item costs beyond its strings: the
// struct, its slices' headers, the queue's slot.
const itemOverhead = 256

// eventSize is the bytes an event keeps alive.
func eventSize(ev Event) int {
	n := itemOverhead + len(ev.ID) + len(ev.Type) + len(ev.Subscriber) + stringsSize(ev.Topics) + len(ev.User) +
		len(ev.Payload) + len(ev.ClientIP) + len(ev.Topic) + len(ev.Reason)
	if u := ev.Update; u != nil {
		n += len(u.ID) + stringsSize(u.Topics) + len(u.Type) + len(u.Data)
	}
	return n
}

// opSize is the bytes a cluster node's change keeps alive.
func opSize(o op) int {
	n := itemOverhead + len(o.typ) + len(o.id)
	if s := o.sub; s != nil {
		n += subscriberSize(s)
	}
	if o.update != nil {
		n += o.update.Size()
	}
	return n
}

func subscriberSize(s *subscriptions.Subscriber) int {
	return len(s.ID) + stringsSize(s.Topics) + len(s.User) + len(s.Payload) + len(s.ClientIP)
}

// stringsSize counts the strings and their headers.
func stringsSize(ss []string) int {
	n := 16 * len(ss)
	for _, s := range ss {
		n += len(s)
	}
	return n
}
