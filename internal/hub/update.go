package hub

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ssehub/ssehub/internal/sse"
)

// Size limits of an update's identifiers; they are keys in durable history.
const (
	MaxIDLength    = 1024 // bytes of an event id
	MaxTopicLength = 2048 // bytes of a topic
)

// MaxUpdateTopics is the most topics one update may name, whoever
// publishes it. A history writes an entry for each topic in the same
// transaction as the update, so the bound keeps one publish from holding
// up the others for long; the HTTP layer may set a lower limit.
const MaxUpdateTopics = 1000

// ReservedPrefix starts the topics reserved for the hub's own internal
// updates, such as its stats feed. Only internal updates may be published
// there, and only subscriptions naming such a topic exactly receive them:
// "*" and URI Templates never match a reserved topic (as MQTT's wildcards
// never match $SYS topics), so a catch-all subscriber sees no hub chatter.
const ReservedPrefix = "$ssehub/"

// Reserved reports whether topic is reserved for the hub's internal updates.
func Reserved(topic string) bool { return strings.HasPrefix(topic, ReservedPrefix) }

// idPrefix starts every id the hub generates. Publishers may not use it, so a
// generated id can always be decoded back into its position.
const idPrefix = "urn:ssehub:"

// Update is one published event: the Mercure "update". Publishers fill the
// exported fields; the hub assigns Seq, fills ID when empty and encodes the
// wire bytes once, before any subscriber sees it. An Update is immutable
// once published and is shared by every subscriber and by the history.
type Update struct {
	ID      string    // event id; generated when empty
	Topics  []string  // first is canonical, the others alternates
	Data    string    // payload
	Type    string    // SSE event type; empty means "message"
	Retry   int       // reconnection time in ms sent with the event; 0 for none
	Private bool      // only subscribers authorized for a topic receive it
	Seq     uint64    // position in the hub, assigned on publish
	Time    time.Time // when the hub accepted it

	// Internal marks the hub's own announcements (the stats feed). Their
	// topics must all be reserved; they are not stored in history, not
	// counted in Stats.Published and do not become Stats.LastID.
	Internal bool

	// Lazy lets a durable store hold the update for a few milliseconds
	// before committing it, to commit it with others (bolt's LazyHold):
	// its subscribers get it at once as ever, its publisher's answer waits.
	// Set on the token events of a generation, whose publisher has nothing
	// to do until its model's next token.
	Lazy bool

	wire []byte
}

// Wire returns the event encoded in the SSE wire format, shared by every
// subscriber. It must not be modified.
func (u *Update) Wire() []byte { return u.wire }

// Size is the memory the update holds, used to bound history by bytes.
func (u *Update) Size() int {
	n := len(u.wire) + len(u.Data) + len(u.ID) + len(u.Type) + 96
	for _, t := range u.Topics {
		n += len(t) + 16
	}
	return n
}

// Validate checks an update before it is published.
func (u *Update) Validate() error {
	if len(u.Topics) == 0 {
		return &Error{Code: CodeInvalid, Field: "topic", Err: errors.New("at least one topic is required")}
	}
	if len(u.Topics) > MaxUpdateTopics {
		return &Error{Code: CodeInvalid, Field: "topic", Err: fmt.Errorf("%d topics: at most %d per update", len(u.Topics), MaxUpdateTopics)}
	}
	for _, t := range u.Topics {
		if t == "" {
			return &Error{Code: CodeInvalid, Field: "topic", Err: errors.New("topic must not be empty")}
		}
		if len(t) > MaxTopicLength {
			return &Error{Code: CodeInvalid, Field: "topic", Err: fmt.Errorf("topic longer than %d bytes", MaxTopicLength)}
		}
		if Reserved(t) != u.Internal {
			return &Error{Code: CodeInvalid, Field: "topic", Err: fmt.Errorf("%s: %w", t, ErrReserved)}
		}
	}
	if len(u.ID) > MaxIDLength {
		return &Error{Code: CodeInvalid, Field: "id", Err: fmt.Errorf("id longer than %d bytes", MaxIDLength)}
	}
	if strings.HasPrefix(u.ID, "#") || strings.HasPrefix(u.ID, idPrefix) {
		return &Error{Code: CodeInvalid, Field: "id", Err: fmt.Errorf("ids starting with %q or %q are reserved for the hub", "#", idPrefix)}
	}
	ev := sse.Event{ID: u.ID, Type: u.Type, Retry: u.Retry, Data: u.Data}
	if err := ev.Validate(); err != nil {
		field := "data"
		switch {
		case errors.Is(err, sse.ErrInvalidID):
			field = "id"
		case errors.Is(err, sse.ErrInvalidType):
			field = "type"
		case u.Retry < 0:
			field = "retry"
		}
		return &Error{Code: CodeInvalid, Field: field, Err: err}
	}
	return nil
}

// Encode fills the wire bytes from the other fields. The hub calls it when
// it publishes u; a history that decodes stored updates calls it too.
func (u *Update) Encode() error {
	wire, err := sse.AppendEvent(make([]byte, 0, len(u.Data)+len(u.ID)+len(u.Type)+32),
		sse.Event{ID: u.ID, Type: u.Type, Data: u.Data, Retry: u.Retry})
	if err != nil {
		return &Error{Code: CodeInvalid, Field: "data", Err: err}
	}
	u.wire = wire
	return nil
}

// generateID makes the id of a hub-generated position: prefix, epoch, seq.
func generateID(epoch string, seq uint64) string {
	return idPrefix + epoch + ":" + strconv.FormatUint(seq, 10)
}

// parseID decodes a hub-generated id into its epoch and sequence.
func parseID(id string) (epoch string, seq uint64, ok bool) {
	rest, found := strings.CutPrefix(id, idPrefix)
	if !found {
		return "", 0, false
	}
	epoch, num, found := strings.Cut(rest, ":")
	if !found || epoch == "" {
		return "", 0, false
	}
	seq, err := strconv.ParseUint(num, 10, 64)
	if err != nil {
		return "", 0, false
	}
	return epoch, seq, true
}
