package hub

import (
	"context"
	"fmt"

	"github.com/ssehub/ssehub/internal/topic"
)

// Earliest is the reserved last event id asking for the whole history, and
// the Last-Event-ID response value when no earlier event is known.
const Earliest = "earliest"

// History keeps published updates so subscribers can resume. Append (or
// Stage, see Stager) is called once per update; concurrent publishes call
// it concurrently, so not necessarily in Seq order.
type History interface {
	// Append stores u.
	Append(ctx context.Context, u *Update) error
	Reader
}

// Reader reads stored updates back: the replay side of a History or a Log.
type Reader interface {
	// Read calls fn, in Seq order, for each retained update in q's range
	// that q.Match accepts, stopping at the first error fn returns, and
	// returning it. It may stop once it has called fn q.Limit times.
	Read(ctx context.Context, q Query, fn func(*Update) error) error
	// Lookup returns the Seq of the retained update with the given id.
	Lookup(ctx context.Context, id string) (seq uint64, ok bool, err error)
}

// TrimReporter is a Reader that can tell whether updates in a query's range
// were dropped by retention, when Lookup cannot (a shared log resolves its
// ids without a lookup): the subscription then reports "earliest".
type TrimReporter interface {
	Trimmed(ctx context.Context, q Query) (bool, error)
}

// checkTrimmed reports a resume point whose following updates were partly
// dropped as "earliest", so the client knows events may be missing.
func (h *Hub) checkTrimmed(ctx context.Context, s *Subscriber, q Query) error {
	tr, ok := h.src.(TrimReporter)
	if !ok || s.resumedAfter == Earliest {
		return nil
	}
	trimmed, err := tr.Trimmed(ctx, q)
	if err != nil {
		return &Error{Code: CodeUnavailable, Err: fmt.Errorf("read history: %w", err)}
	}
	if trimmed {
		s.resumedAfter = Earliest
	}
	return nil
}

// Query selects updates from History.
type Query struct {
	After  uint64             // only updates with Seq > After
	Upto   uint64             // and Seq <= Upto
	Topics []string           // look only in these topics; nil means all
	Match  func(*Update) bool // keep only the updates it accepts; nil keeps all
	Limit  int                // the caller wants no more updates than that; 0 for all
}

// SubscribeOptions says what a subscriber listens to and where it resumes.
type SubscribeOptions struct {
	// Topics are classic topic selectors: exact topics, "*" or URI
	// Templates.
	Topics []string
	// Matchers are more selectors, compiled by their matcher types
	// (Mercure 1.0's match= and match_urlpattern=, see topic.CompileSpec).
	Matchers []topic.Selector
	// Private are the selectors of topics whose private updates it may see.
	Private []string
	// PrivateSelectors are more of them, compiled by the caller: typed
	// ones (Mercure 1.0 access tokens) whose base URL the hub ignores.
	PrivateSelectors []topic.Selector
	// LastEventID resumes after that event; Earliest replays all history;
	// empty starts with the next update.
	LastEventID string
	// TagSelectors has every update drained carry a TagField line with
	// the indices of the selectors it matched, Topics first, then
	// Matchers: one stream can then serve several consumers (a browser's
	// tabs), each taking the updates of its own selectors.
	TagSelectors bool
}

// Subscribe registers a subscriber. Updates after the resume point are
// replayed from history and followed by live updates with no gap and no
// duplicate: the subscriber is registered and the head of its shard noted
// under the shard's lock, so history supplies exactly (resume point, head]
// and the live queue exactly what follows. The replay is read a page at a
// time as the subscriber drains (DrainBatch): the first page here, the
// others by the hub's pagers.
func (h *Hub) Subscribe(ctx context.Context, opts SubscribeOptions) (*Subscriber, error) {
	sels, err := compileSelectors(opts)
	if err != nil {
		return nil, err
	}
	private, err := topic.CompileAll(opts.Private)
	if err != nil {
		return nil, &Error{Code: CodeInvalid, Field: "private", Err: err}
	}
	private = append(private, opts.PrivateSelectors...)
	from, err := h.resumePoint(ctx, opts.LastEventID)
	if err != nil {
		return nil, err
	}
	s := newSubscriber(h, sels, private)
	sh := h.home(s)
	sh.mu.Lock()
	if sh.ending {
		sh.mu.Unlock()
		return nil, &Error{Code: CodeUnavailable, Err: ErrClosed}
	}
	if opts.TagSelectors {
		s.startTagging(sels)
	}
	sh.index(s)
	// Every update of this shard up to its head has been fanned out (and
	// stored or staged, so readable, before that); every later one will
	// be, to s too.
	head := sh.fanned
	s.minSeq = max(from.after, head) // a live update at or before either is not for it
	if opts.LastEventID == "" {
		from = position{after: head, header: sh.fannedID}
		if from.header == "" {
			from.header = Earliest
		}
	}
	if from.after < head && h.src != nil {
		s.cur = &cursor{pos: from.after, upto: head}
		s.cur.ctx, s.cur.cancel = context.WithCancel(context.Background())
		if from.header != Earliest {
			s.cur.anchor = from.header
		}
	}
	sh.mu.Unlock()
	s.resumedAfter = from.header
	if s.cur != nil {
		if err := h.page(ctx, s, true); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// compileSelectors compiles the classic selectors of opts and adds its
// matchers, at least one in all.
func compileSelectors(opts SubscribeOptions) ([]topic.Selector, error) {
	sels, err := topic.CompileAll(opts.Topics)
	if err != nil {
		return nil, &Error{Code: CodeInvalid, Field: "topic", Err: err}
	}
	for _, sel := range opts.Matchers {
		if sel.String() == "" {
			return nil, &Error{Code: CodeInvalid, Field: "match", Err: topic.ErrEmpty}
		}
		sels = append(sels, sel)
	}
	if len(sels) == 0 {
		return nil, &Error{Code: CodeInvalid, Field: "topic", Err: topic.ErrEmpty}
	}
	return sels, nil
}

// position is where a subscription resumes: after a Seq, and the id to
// report in the Last-Event-ID response header.
type position struct {
	after  uint64
	header string
}

// resumePoint turns a last event id into a position. An id of this hub's
// epoch resumes from its Seq even once evicted (reporting "earliest" so the
// client knows events may be missing); an id of an older epoch predates
// everything retained, so all history is replayed; an unknown foreign id
// cannot be placed, so only live updates follow.
func (h *Hub) resumePoint(ctx context.Context, id string) (position, error) {
	switch id {
	case "":
		return position{}, nil // decided under the lock
	case Earliest:
		return position{after: 0, header: Earliest}, nil
	}
	if h.src != nil {
		seq, ok, err := h.src.Lookup(ctx, id)
		if err != nil {
			return position{}, &Error{Code: CodeUnavailable, Err: fmt.Errorf("look up last event id: %w", err)}
		}
		if ok {
			return position{after: seq, header: id}, nil
		}
	}
	h.mu.Lock()
	head, current := h.seq, h.epoch
	h.mu.Unlock()
	epoch, seq, ours := parseID(id)
	switch {
	case ours && epoch == current && seq <= head:
		return position{after: seq, header: Earliest}, nil
	case ours && epoch != current:
		return position{after: 0, header: Earliest}, nil
	}
	return position{after: head, header: Earliest}, nil
}
