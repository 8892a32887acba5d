package llm

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"

	"github.com/ssehub/ssehub/internal/hub"
)

// The running register: every generation is written down on the topic
// RegisterTopic when it starts (a running event) and when it has ended
// (an ended event, after its closing event). A generation the register
// says is running, but that no node runs, was cut by a crash: Recover
// ends it with an error event, so that whoever resumes its answer reads
// why it stops there instead of waiting for the rest.
const (
	registerName = ".running" // a name no generation id can have ('.')
	eventRunning = "running"  // data {"id": "..."}
	eventEnded   = "ended"    // data {"id": "..."}
)

// RegisterTopic is the topic of the running register under prefix (the
// generations' TopicPrefix).
func RegisterTopic(prefix string) string { return prefix + registerName }

// registerEntry is the data of a register event.
type registerEntry struct {
	ID string `json:"id"`
}

// register writes down that generation id started or ended.
func (m *Manager) register(ctx context.Context, event, id string) error {
	_, err := m.pub.Publish(ctx, &hub.Update{Topics: []string{RegisterTopic(m.cfg.TopicPrefix)}, Type: event, Data: mustJSON(registerEntry{ID: id})})
	if err != nil {
		return fmt.Errorf("write generation %s down as %s: %w", id, event, err)
	}
	return nil
}

// Alive reports whether another node of a cluster runs the generation id.
type Alive func(ctx context.Context, id string) (bool, error)

// Recover ends the generations that history says are running but that
// neither this node nor, through alive (nil on one node), any other node
// runs: each gets an error event of kind interrupted, then is written
// down as ended. Run it at start-up, before generations start; it returns
// how many it ended.
func (m *Manager) Recover(ctx context.Context, r hub.Reader, alive Alive) (int, error) {
	open := map[string]bool{}
	var order []string
	q := hub.Query{Topics: []string{RegisterTopic(m.cfg.TopicPrefix)}, Upto: math.MaxUint64}
	err := r.Read(ctx, q, func(u *hub.Update) error {
		var e registerEntry
		if json.Unmarshal([]byte(u.Data), &e) != nil || e.ID == "" {
			return nil // not one of ours: skip it
		}
		switch u.Type {
		case eventRunning:
			open[e.ID] = true
			order = append(order, e.ID)
		case eventEnded:
			delete(open, e.ID)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("read the running register: %w", err)
	}
	ended := 0
	for _, id := range order {
		if !open[id] || m.runs(id) {
			continue
		}
		if alive != nil {
			if ok, err := alive(ctx, id); err != nil || ok {
				continue // another node runs it, or cannot say: leave it
			}
		}
		if err := m.endCut(ctx, id); err != nil {
			return ended, err
		}
		ended++
	}
	return ended, nil
}

// runs reports whether this node knows generation id.
func (m *Manager) runs(id string) bool {
	_, ok := m.Get(id)
	return ok
}

// endCut ends a generation cut by a crash: an error event on its topic,
// then the register's ended event.
func (m *Manager) endCut(ctx context.Context, id string) error {
	data := mustJSON(map[string]string{"error": "the server stopped in the middle of this answer: it is incomplete", "kind": string(KindInterrupted)})
	if _, err := m.pub.Publish(ctx, &hub.Update{Topics: []string{m.cfg.TopicPrefix + id}, Type: EventError, Data: data}); err != nil {
		return fmt.Errorf("end generation %s cut by a crash: %w", id, err)
	}
	m.log.Warn("generation cut by a crash ended", slog.String("id", id))
	return m.register(ctx, eventEnded, id)
}
