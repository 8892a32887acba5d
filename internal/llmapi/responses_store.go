package llmapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/ssehub/ssehub/internal/auth"
	"github.com/ssehub/ssehub/internal/httpio"
	"github.com/ssehub/ssehub/internal/hub"
	"github.com/ssehub/ssehub/internal/llm"
)

// A response is a generation whose id is "resp_" and 32 hex digits and
// whose start record is a responseRecord: everything about it is read
// back from the generation's topic, on any node. A deleted response has
// a tombstone: an event on the topic of its id and deletedSuffix, which
// only the hub publishes (the llm/generations/ prefix is the hub's own)
// and no generation id can name (ids have no '.').
const deletedSuffix = ".deleted"

// errStopReading ends a read of a response's topic early.
var errStopReading = errors.New("stop reading")

// newResponseID returns a new response id.
func newResponseID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return "resp_" + hex.EncodeToString(b[:])
}

// validResponseID reports whether id can name a response.
func validResponseID(id string) bool {
	rest, ok := strings.CutPrefix(id, "resp_")
	if !ok || rest == "" || len(id) > 64 {
		return false
	}
	for _, c := range []byte(rest) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// responseNotFound is OpenAI's answer for an unknown response, also given
// for a response of another owner: its existence is not revealed.
func responseNotFound(id string) error {
	return &httpio.Error{Status: http.StatusNotFound, Field: "id", Msg: fmt.Sprintf("Response with id '%s' not found.", id)}
}

// readResponse reads response id from history, then live, for a caller
// with claims (its owner, or a holder of a grant of its very topic; with
// controlling, a publish grant; nil claims are its creator's): each (if set) gets the events of every
// hub event, once the caller is known to be allowed. It reads until the
// response ends, until the hub event of id until (if set), or until each
// returns errStopReading. A deleted response, one of another owner and
// one past its history are not found.
func (a *API) readResponse(ctx context.Context, claims *auth.Claims, id, until string, controlling bool, each func(*responseBuilder, []responseEvent) error) (*responseBuilder, error) {
	if !validResponseID(id) {
		return nil, responseNotFound(id)
	}
	if gone, err := a.deleted(ctx, id); err != nil || gone {
		if err == nil {
			err = responseNotFound(id)
		}
		return nil, err
	}
	b := newResponseBuilder(id)
	topic := llm.DefaultTopicPrefix + id
	each1 := func(u *hub.Update) error {
		first := !b.started
		evs, err := b.apply(u)
		if err != nil {
			return err
		}
		if first && claims != nil && access(claims, b.rec.Owner, topic, controlling) != nil {
			return responseNotFound(id)
		}
		if each != nil {
			if err := each(b, evs); err != nil {
				return err
			}
		}
		if until != "" && u.ID == until {
			return errStopReading
		}
		return nil
	}
	err := follow(ctx, a.cfg.Hub, topic, false, each1)
	if errors.Is(err, errNoHistory) {
		// In a cluster, the events of a response another node has just
		// started may not have reached this node yet: wait for them
		// while a node runs it.
		if _, known, aerr := a.generation(ctx, id); known && aerr == nil {
			err = follow(ctx, a.cfg.Hub, topic, true, each1)
		}
	}
	switch {
	case err == nil, errors.Is(err, errStopReading):
		return b, nil
	case errors.Is(err, errNoHistory), errors.Is(err, errNoRecord):
		return nil, responseNotFound(id)
	}
	return nil, err
}

// lastEventOf returns the id of the last event a running generation has
// published; "" when no node runs it: its history is complete then.
func (a *API) lastEventOf(ctx context.Context, id string) string {
	snap, ok, err := a.generation(ctx, id)
	if !ok || err != nil || snap.Status != llm.StatusRunning {
		return ""
	}
	return snap.LastEventID
}

// deleted reports whether response id has a tombstone.
func (a *API) deleted(ctx context.Context, id string) (bool, error) {
	found := false
	err := readTopic(ctx, a.cfg.Hub, llm.DefaultTopicPrefix+id+deletedSuffix, func(*hub.Update) { found = true })
	return found, err
}

// markDeleted publishes the tombstone of response id.
func (a *API) markDeleted(ctx context.Context, id string) error {
	pub, ok := a.cfg.Hub.(llm.Publisher)
	if !ok {
		return errors.New("this hub cannot record deletions")
	}
	u := &hub.Update{Topics: []string{llm.DefaultTopicPrefix + id + deletedSuffix}, Type: "deleted", Data: `{"id":"` + id + `"}`}
	if _, err := pub.Publish(ctx, u); err != nil {
		return fmt.Errorf("record the deletion of %s: %w", id, err)
	}
	return nil
}
