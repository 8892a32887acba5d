package redis

import (
	"context"
	"log/slog"
	"time"
)

// Nodes of versions before payloads were stored once read each update's
// payload from the log. So that a cluster can be upgraded one node at a
// time, a node of this version listens on the references channel besides
// the peers channel (Answer), and while more nodes listen on the peers
// channel than on the references channel, some node is of an earlier
// version: the log's entries then carry their payloads too (the store's
// legacy flag, checked every legacyCheck).

// legacyCheck is how often a store counts the nodes that read references.
const legacyCheck = time.Second

// referencesChannel is listened on by nodes that read the log's
// references; nothing is published on it.
func (s *Store) referencesChannel() string { return s.keys.prefix + ":refs" }

// watchLegacy sets the legacy flag every legacyCheck until the store
// closes (Open sets it first).
func (s *Store) watchLegacy() {
	t := time.NewTicker(legacyCheck)
	defer t.Stop()
	for {
		select {
		case <-s.closed:
			return
		case <-t.C:
			s.checkLegacy()
		}
	}
}

// checkLegacy counts the listeners of the peers and references channels;
// a failed count leaves the flag as it was.
func (s *Store) checkLegacy() {
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	n, err := s.rdb.PubSubNumSub(ctx, s.requestChannel(), s.referencesChannel()).Result()
	if err != nil {
		return
	}
	legacy := n[s.requestChannel()] > n[s.referencesChannel()]
	if s.legacy.Swap(legacy) != legacy {
		if legacy {
			s.log.Warn("a node of an earlier version follows the log: its entries carry their payloads until it is gone")
		} else {
			s.log.Info("every node reads the log's references: payloads are stored once", slog.Int64("nodes", n[s.referencesChannel()]))
		}
	}
}
