package llmapi

import (
	"context"
	"errors"
	"fmt"

	"github.com/ssehub/ssehub/internal/hub"
	"github.com/ssehub/ssehub/internal/llm"
)

// Follower reads a topic from history, then live: the hub.
type Follower interface {
	Subscribe(ctx context.Context, opts hub.SubscribeOptions) (*hub.Subscriber, error)
	// Sync returns once what was published before, on any node, is
	// readable from this one's history.
	Sync(ctx context.Context) error
}

// subscribeFromStart subscribes to topic from its first event in history,
// once the hub holds everything published before the call (the request
// that published it may have been served by another node, a moment ago).
func subscribeFromStart(ctx context.Context, f Follower, topic string) (*hub.Subscriber, error) {
	if err := f.Sync(ctx); err != nil {
		return nil, fmt.Errorf("read %s: %w", topic, err)
	}
	s, err := f.Subscribe(ctx, hub.SubscribeOptions{Topics: []string{topic}, Private: []string{topic}, LastEventID: hub.Earliest})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", topic, err)
	}
	return s, nil
}

// errNoHistory is follow's answer for a topic with no event at all: no
// generation of that id is known to history.
var errNoHistory = errors.New("no such generation in history")

// follow calls each with every event of a generation's topic, from the
// first in history, then live, until its closing event (done or error),
// each's error, or ctx's end. It returns errNoHistory when history has no
// event of the topic and running is false: the generation is unknown, or
// finished and past its history. (A protocol's generation publishes its
// record before its id is given out, so history knows it from the start.)
func follow(ctx context.Context, f Follower, topic string, running bool, each func(*hub.Update) error) error {
	s, err := subscribeFromStart(ctx, f, topic)
	if err != nil {
		return err
	}
	defer s.Close()
	var buf []*hub.Update
	first := true
	for {
		buf = s.Drain(buf)
		if first && len(buf) == 0 && !running {
			return errNoHistory
		}
		first = false
		for _, u := range buf {
			if err := each(u); err != nil {
				return err
			}
			if u.Type == llm.EventDone || u.Type == llm.EventError {
				return nil
			}
		}
		select {
		case <-s.Ready():
		case <-s.Done():
			if err := s.Err(); err != nil {
				return err
			}
			return hub.ErrClosed
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
