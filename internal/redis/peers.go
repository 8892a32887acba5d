package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"
)

// Asking the other nodes: a request is published on the cluster's request
// channel, every node answers on the reply channel the request names, and
// the asker takes the first answer from a node that knows the key. Redis
// Pub/Sub suits this: a request only matters while the asker waits.

// peerTimeout bounds how long Ask waits for the nodes' answers.
const peerTimeout = 2 * time.Second

type peerRequest struct {
	Kind  string `json:"kind"`
	Key   string `json:"key"`
	Reply string `json:"reply"`
}

type peerAnswer struct {
	Found bool            `json:"found"`
	Body  json.RawMessage `json:"body,omitempty"`
}

func (s *Store) requestChannel() string { return s.keys.prefix + ":peers" }

// Ask asks every node (this one too) about key; it returns the body of
// the first node that knows it, or false once every node said it does
// not (or after a timeout).
func (s *Store) Ask(ctx context.Context, kind, key string) ([]byte, bool, error) {
	found, err := s.ask(ctx, kind, key, true)
	if err != nil || len(found) == 0 {
		return nil, false, err
	}
	return found[0], true, nil
}

// Gather asks every node (this one too) about key and returns the bodies
// of the nodes that know it. Unlike Ask it fails when a node that heard
// the request has not answered within the timeout: what it returns comes
// from every node.
func (s *Store) Gather(ctx context.Context, kind, key string) ([][]byte, error) {
	return s.ask(ctx, kind, key, false)
}

// ask publishes the request and reads the nodes' answers: until the first
// that knows key when first is set, else all of them.
func (s *Store) ask(ctx context.Context, kind, key string, first bool) ([][]byte, error) {
	var nonce [8]byte
	_, _ = rand.Read(nonce[:])
	reply := s.keys.prefix + ":reply:" + hex.EncodeToString(nonce[:])
	sub := s.rdb.Subscribe(ctx, reply)
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil { // the subscription is active
		return nil, fmt.Errorf("redis ask: %w", s.note(err))
	}
	req, _ := json.Marshal(peerRequest{Kind: kind, Key: key, Reply: reply})
	nodes, err := s.rdb.Publish(ctx, s.requestChannel(), req).Result()
	if err := s.note(err); err != nil {
		return nil, fmt.Errorf("redis ask: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, peerTimeout)
	defer cancel()
	var found [][]byte
	for i := range nodes {
		msg, err := sub.ReceiveMessage(ctx)
		if err != nil {
			if first {
				return nil, nil // a node that went away: nobody found it in time
			}
			return nil, fmt.Errorf("redis ask: %d of %d nodes answered: %w", i, nodes, err)
		}
		var ans peerAnswer
		if json.Unmarshal([]byte(msg.Payload), &ans) == nil && ans.Found {
			found = append(found, ans.Body)
			if first {
				break
			}
		}
	}
	return found, nil
}

// Answer answers the nodes' requests with fn until ctx ends: fn returns
// the body for a key this node knows, and whether it does. It also
// listens on the references channel, which tells the nodes that this one
// reads the log's references (legacy.go).
func (s *Store) Answer(ctx context.Context, fn func(kind, key string) ([]byte, bool)) {
	sub := s.rdb.Subscribe(ctx, s.requestChannel(), s.referencesChannel())
	defer sub.Close()
	ch := sub.Channel() // go-redis resubscribes by itself after a reconnect
	for {
		select {
		case <-ctx.Done():
			return
		case msg, ok := <-ch:
			if !ok {
				return
			}
			s.answer(ctx, msg.Payload, fn)
		}
	}
}

func (s *Store) answer(ctx context.Context, payload string, fn func(kind, key string) ([]byte, bool)) {
	var req peerRequest
	if err := json.Unmarshal([]byte(payload), &req); err != nil {
		s.log.Warn("ignoring a malformed peer request", slog.Any("err", err))
		return
	}
	body, found := fn(req.Kind, req.Key)
	ans, _ := json.Marshal(peerAnswer{Found: found, Body: body})
	if err := s.rdb.Publish(ctx, req.Reply, ans).Err(); err != nil && ctx.Err() == nil {
		s.log.Warn("answering a peer", slog.Any("err", s.note(err)))
	}
}
