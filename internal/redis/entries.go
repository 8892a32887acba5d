package redis

import (
	"context"
	"errors"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// The log holds a reference to each update (its first topic), the topic's
// stream the payload under the same entry id; log entries of earlier
// versions carry the payload themselves. Reading the log is one pipeline
// of plain commands (a Lua script that joins them cost Redis 4 to 6 times
// what XREAD of a log holding the payloads did, this 1.7 to 2: see
// BenchmarkReadLog): the log's range and, guessed, the same range of the
// topics the last read named; the payloads of topics not guessed take a
// second round trip.

// entry is an update as the log holds it, its payload read from its topic.
type entry struct {
	id, epoch, count, payload string
	gone                      bool // the payload is no longer stored
}

// logRead is one read of the log: the entries in [start, end] (XRANGE's
// syntax, "(" for an open end), at most count.
type logRead struct {
	start, end string
	count      int
	// guess are topics whose payloads are read in the same round trip.
	guess []string
	// wake, when set, reads with a blocking XREAD after it (start must be
	// "(" + wake and end "+"), waiting up to wakeWait for an entry.
	wake string
}

// wakeWait is how long a follower's read waits for an entry.
const wakeWait = time.Second

// xreadEntries takes the one stream's entries out of an XREAD reply: a
// map of stream to entries in RESP3, pairs of them in RESP2.
func xreadEntries(v any) any {
	switch r := v.(type) {
	case map[any]any:
		for _, entries := range r {
			return entries
		}
	case []any:
		if len(r) == 1 {
			if pair, ok := r[0].([]any); ok && len(pair) == 2 {
				return pair[1]
			}
		}
	}
	return v
}

// maxGuess bounds the topics a follower reads ahead.
const maxGuess = 4

// readLog returns the entries of r with their payloads, and the topics
// they name. A payload gone from its topic (expired by age, or its key
// deleted) leaves its entry gone.
func (s *Store) readLog(ctx context.Context, r logRead) ([]entry, []string, error) {
	var logCmd *goredis.Cmd
	guessed := make(map[string]*goredis.Cmd, len(r.guess))
	// Each command carries its own error, read below.
	_, _ = s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		if r.wake != "" {
			logCmd = p.Do(ctx, "XREAD", "COUNT", r.count, "BLOCK", wakeWait.Milliseconds(), "STREAMS", s.keys.log, r.wake)
		} else {
			logCmd = p.Do(ctx, "XRANGE", s.keys.log, r.start, r.end, "COUNT", r.count)
		}
		for _, t := range r.guess {
			guessed[t] = p.Do(ctx, "XRANGE", s.keys.topic(t), r.start, "+", "COUNT", r.count)
		}
		return nil
	})
	if errors.Is(logCmd.Err(), goredis.Nil) {
		return nil, nil, nil // nothing came within wakeWait
	}
	if err := s.note(logCmd.Err()); err != nil {
		return nil, nil, fmt.Errorf("redis read the log: %w", err)
	}
	rows := logCmd.Val()
	if r.wake != "" {
		rows = xreadEntries(rows)
	}
	es, refs, err := parseEntries(rows)
	if err != nil {
		return nil, nil, err
	}
	payloads := make(map[string]string, len(es))
	var missing []string
	for _, t := range refs.topics {
		if c, ok := guessed[t]; ok && c.Err() == nil && addPayloads(payloads, c.Val()) == nil {
			continue
		}
		missing = append(missing, t)
	}
	if err := s.fetchPayloads(ctx, refs, missing, payloads); err != nil {
		return nil, nil, err
	}
	for _, i := range refs.at {
		p, ok := payloads[es[i].id]
		es[i].payload, es[i].gone = p, !ok
	}
	return es, refs.topics, nil
}

// fetchPayloads reads the payloads of the entries that refer to topics,
// one XRANGE a topic over the ids that name it.
func (s *Store) fetchPayloads(ctx context.Context, refs references, topics []string, into map[string]string) error {
	if len(topics) == 0 {
		return nil
	}
	cmds := make([]*goredis.Cmd, len(topics))
	_, _ = s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, t := range topics {
			span := refs.spans[t]
			cmds[i] = p.Do(ctx, "XRANGE", s.keys.topic(t), span[0], span[1])
		}
		return nil
	})
	for _, c := range cmds {
		if err := s.note(c.Err()); err != nil {
			return fmt.Errorf("redis read payloads: %w", err)
		}
		if err := addPayloads(into, c.Val()); err != nil {
			return err
		}
	}
	return nil
}

// references are the log entries that name a topic for their payload.
type references struct {
	at     []int                // indexes of the entries
	topics []string             // the topics named, in first-seen order
	spans  map[string][2]string // each topic's first and last entry id
}

var errEntryReply = errors.New("unexpected reply for a stream entry")

// parseLog reads an XRANGE reply of the log: its entries, with the
// payload of those that carry it, and the references of the others.
func parseEntries(v any) ([]entry, references, error) {
	rows, ok := v.([]any)
	if !ok {
		return nil, references{}, fmt.Errorf("%w: %T", errEntryReply, v)
	}
	es := make([]entry, len(rows))
	refs := references{spans: map[string][2]string{}}
	for i, row := range rows {
		id, fields, err := streamEntry(row)
		if err != nil {
			return nil, references{}, err
		}
		e := &es[i]
		e.id, e.gone = id, true
		for j := 0; j+1 < len(fields); j += 2 {
			v, _ := fields[j+1].(string)
			switch fields[j] {
			case "e":
				e.epoch = v
			case "c":
				e.count = v
			case "u":
				e.payload, e.gone = v, false
			case "t":
				refs.add(i, v, id)
			}
		}
	}
	return es, refs, nil
}

// add notes that entry i (id) has its payload in topic t.
func (r *references) add(i int, t, id string) {
	r.at = append(r.at, i)
	span, ok := r.spans[t]
	if !ok {
		r.topics = append(r.topics, t)
		span[0] = id
	}
	span[1] = id
	r.spans[t] = span
}

// addPayloads adds the payloads of an XRANGE reply of a topic's stream.
func addPayloads(into map[string]string, v any) error {
	rows, ok := v.([]any)
	if !ok {
		return fmt.Errorf("%w: %T", errEntryReply, v)
	}
	for _, row := range rows {
		id, fields, err := streamEntry(row)
		if err != nil {
			return err
		}
		for j := 0; j+1 < len(fields); j += 2 {
			if fields[j] == "u" {
				into[id], _ = fields[j+1].(string)
			}
		}
	}
	return nil
}

// streamEntry splits one entry of an XRANGE reply: [id, [field, value...]].
func streamEntry(row any) (string, []any, error) {
	pair, ok := row.([]any)
	if !ok || len(pair) != 2 {
		return "", nil, fmt.Errorf("%w: %v", errEntryReply, row)
	}
	id, ok := pair[0].(string)
	fields, ok2 := pair[1].([]any)
	if !ok || !ok2 {
		return "", nil, fmt.Errorf("%w: %v", errEntryReply, row)
	}
	return id, fields, nil
}
