package loadtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync/atomic"
)

// genOutcome is how a generation's stream ended.
type genOutcome uint8

const (
	genRunning   genOutcome = iota // no done or error event yet
	genCompleted                   // its done event arrived
	genFailed                      // its error event arrived
	genBroken                      // the stream ended before either
)

// errGenEnded ends a generation's stream once its done or error event is
// read: the tool then closes it, as a page would.
var errGenEnded = errors.New("generation ended")

// genShard is where generations' timings are recorded: a few shards per
// CPU, as in a fleet, so that readers on different CPUs rarely share one.
type genShard struct {
	lateness *Histogram // each token's read time past its due time, µs
	ttft     *Histogram // start request sent → token 0 read, µs
	resume   *Histogram // resume request sent → its first event read, µs
}

func newGenShards() []genShard {
	s := make([]genShard, latencyShards)
	for i := range s {
		s[i] = genShard{lateness: NewHistogram(), ttft: NewHistogram(), resume: NewHistogram()}
	}
	return s
}

// genStream is one generation's event stream and what it received. Only
// its reader touches the plain fields until the reader has ended.
type genStream struct {
	interval  int64 // nanoseconds between two tokens on the model's schedule
	startedAt int64 // Unix nanoseconds: the start request was sent
	shard     genShard
	ends      *atomic.Int64 // the run's count of ended streams
	conn      net.Conn      // nil once the poller took the stream's descriptor
	ended     atomic.Bool

	first      int64  // read time of token 0 (Unix nanoseconds); 0 before it
	tokens     int64  // distinct tokens received
	duplicates int64  // tokens whose event id was not after the previous one's
	lastSeq    uint64 // the sequence of the last token's event id
	want       int64  // completion_tokens of the done event
	outcome    genOutcome
	kind       string // the error event's kind
	err        error  // why the stream broke

	dec decoder

	// The responses path's: its events are numbered, and its text is
	// checked against the done event's. The AI SDK chat path's too, whose
	// resume replays the answer from its start: it skips replaySkip deltas,
	// checking they make the text it had.
	responses    bool
	chat         bool
	replaySkip   int64
	replayed     bytesBuilder
	responseID   string
	seen         bool  // an event was read (lastSeq is its number)
	gaps         int64 // events whose number skipped one
	dropAfter    int64 // text deltas before the one drop; 0 never
	dropped      bool
	resume       func() // reopens the stream after the drop
	resumeSent   int64  // Unix nanoseconds the resume was asked; 0 once its first delta came
	lastDelta    int64  // Unix nanoseconds the last delta was read
	text         bytesBuilder
	doneText     string
	mismatched   bool  // the deltas did not add up to the done text
	outputTokens int64 // the final usage's output_tokens
}

// bytesBuilder is the text of a response's deltas.
type bytesBuilder = bytes.Buffer

func newGenStream(g GenConfig, startedAt int64, shard genShard, ends *atomic.Int64) *genStream {
	return &genStream{interval: int64(g.interval()), startedAt: startedAt, shard: shard, ends: ends}
}

// lateness returns how long after its due time token i was read at now,
// Unix nanoseconds, when token 0 was read at first: token i is due at
// first + i × interval, the model's own schedule. A token read early
// counts as on time (0).
func lateness(first, interval, i, now int64) int64 {
	return max(0, now-(first+i*interval))
}

// feed decodes the stream's next bytes, read at now, accounting for each
// event; it returns errGenEnded once the done or error event was read.
func (s *genStream) feed(raw []byte, now, _ int64) error {
	var drop error
	err := s.dec.feed(raw, func(data, id []byte) {
		switch {
		case s.outcome != genRunning || drop != nil:
		case s.responses:
			drop = s.responseEvent(data, now)
		case s.chat:
			drop = s.chatEvent(data, now)
		default:
			s.event(data, id, now)
		}
	})
	switch {
	case s.outcome != genRunning:
		return errGenEnded
	case drop != nil:
		return drop
	}
	return err
}

// event accounts for one event of the stream, read at now.
func (s *genStream) event(data, id []byte, now int64) {
	switch {
	case bytes.HasPrefix(data, []byte(`{"text":`)):
		s.token(id, eventTokens(data), now)
	case bytes.HasPrefix(data, []byte(`{"reason":`)):
		var done struct {
			Usage struct {
				CompletionTokens int64 `json:"completion_tokens"`
			} `json:"usage"`
		}
		if err := json.Unmarshal(data, &done); err != nil {
			s.outcome, s.kind = genFailed, "malformed done event"
			return
		}
		s.outcome, s.want = genCompleted, done.Usage.CompletionTokens
	case bytes.HasPrefix(data, []byte(`{"error":`)):
		var e struct {
			Kind string `json:"kind"`
		}
		_ = json.Unmarshal(data, &e)
		s.outcome, s.kind = genFailed, "error event: "+e.Kind
	}
}

// token accounts for a token event of n tokens with id, read at now:
// token i of the stream is due at token 0 + i × interval, and all n were
// read at now.
func (s *genStream) token(id []byte, n, now int64) {
	if seq, ok := idSeq(id); ok {
		if seq <= s.lastSeq {
			s.duplicates += n
			return
		}
		s.lastSeq = seq
	}
	if s.tokens == 0 {
		s.first = now
		s.shard.ttft.Record(uint64(max(0, now-s.startedAt)) / 1000)
	}
	for range n {
		s.shard.lateness.Record(uint64(lateness(s.first, s.interval, s.tokens, now)) / 1000)
		s.tokens++
	}
}

// eventTokens is how many tokens a token event's data holds: its
// "tokens" count, present when more than one (coalesced deltas), else 1.
// The count follows the text, and a quote inside the text is escaped, so
// the last `,"tokens":` is the field.
func eventTokens(data []byte) int64 {
	const key = `,"tokens":`
	i := bytes.LastIndex(data, []byte(key))
	if i < 0 {
		return 1
	}
	rest := data[i+len(key):]
	j := bytes.IndexAny(rest, ",}")
	if j < 0 {
		return 1
	}
	n, err := strconv.ParseInt(string(bytes.TrimSpace(rest[:j])), 10, 64)
	if err != nil || n < 1 {
		return 1
	}
	return n
}

// idSeq reads the sequence at the end of one of ssehub's event ids
// (urn:ssehub:EPOCH:SEQ), which grows along a topic.
func idSeq(id []byte) (uint64, bool) {
	i := bytes.LastIndexByte(id, ':')
	if i < 0 || !bytes.HasPrefix(id, []byte("urn:ssehub:")) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(id[i+1:]), 10, 64)
	return n, err == nil
}

// closed returns the error to report for the end of the connection.
func (s *genStream) closed() error { return s.dec.closed() }

// stop records that the stream ended for err, once: a stream cut before
// its done or error event is broken, unless the run is closing it.
func (s *genStream) stop(err error, stopping bool) {
	if errors.Is(err, errGenDropped) && !stopping && !s.dropped {
		s.dropped = true
		s.resume() // its reader has closed the connection
		return
	}
	if s.ended.Swap(true) {
		return
	}
	if s.outcome == genRunning && !stopping {
		s.outcome, s.err = genBroken, fmt.Errorf("stream: %w", err)
	}
	s.ends.Add(1)
}

// missing returns the tokens the done event counts that never arrived.
func (s *genStream) missing() int64 {
	if s.outcome != genCompleted || s.responses || s.chat { // their deltas do not count tokens
		return 0
	}
	return max(0, s.want-s.tokens)
}

// excess returns the distinct tokens received beyond the done event's
// count: tokens repeated under new ids, say.
func (s *genStream) excess() int64 {
	if s.outcome != genCompleted || s.responses || s.chat {
		return 0
	}
	return max(0, s.tokens-s.want)
}
