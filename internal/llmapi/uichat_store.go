package llmapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/ssehub/ssehub/internal/auth"
	"github.com/ssehub/ssehub/internal/httpio"
	"github.com/ssehub/ssehub/internal/hub"
	"github.com/ssehub/ssehub/internal/llm"
)

// stopWait bounds how long a stop waits for the answer's closing event.
const stopWait = 10 * time.Second

// errNoChat answers for a chat no turn is known of.
var errNoChat = fmt.Errorf("%w: no such chat", llm.ErrNotFound)

// readTopic calls each with the events history holds now of topic, oldest
// first: a snapshot, not a follow.
func readTopic(ctx context.Context, f Follower, topic string, each func(*hub.Update)) error {
	s, err := subscribeFromStart(ctx, f, topic)
	if err != nil {
		return err
	}
	defer s.Close()
	var buf []*hub.Update
	for {
		buf = s.Drain(buf)
		for _, u := range buf {
			each(u)
		}
		if !s.Replaying() {
			return nil
		}
		select {
		case <-s.Ready():
		case <-s.Done():
			return fmt.Errorf("read %s: %w", topic, s.Err())
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// lastTurn returns the chat's latest turn, if history has one.
func (a *API) lastTurn(ctx context.Context, chat string) (*chatTurn, bool, error) {
	var last *hub.Update
	err := readTopic(ctx, a.cfg.Hub, ChatTopicPrefix+chat, func(u *hub.Update) {
		if u.Type == eventTurn {
			last = u
		}
	})
	if err != nil || last == nil {
		return nil, false, err
	}
	var t chatTurn
	if err := json.Unmarshal([]byte(last.Data), &t); err != nil {
		return nil, false, fmt.Errorf("chat %s: a stored turn: %w", chat, err)
	}
	return &t, true, nil
}

// chatAccess lets the owner of a chat (a token whose subject started it)
// use it, and the holder of a grant of its very topic (or "*") in
// mercure.publish. A chat started without a subject has no owner.
func chatAccess(c *auth.Claims, owner, chat string) error {
	if c.Subject != "" && c.Subject == owner || grantsExactly(c.Publish, ChatTopicPrefix+chat) {
		return nil
	}
	return &httpio.FieldError{Field: "id", Err: fmt.Errorf("%w: chat %s belongs to the token sub that started it: present a token with the same sub, or with %q itself in mercure.publish (a token without sub starts no chat of its own)",
		auth.ErrForbidden, chat, ChatTopicPrefix+chat)}
}

// ownedTurn returns the latest turn of the chat r names once the caller
// may use the chat.
func (a *API) ownedTurn(r *http.Request) (*chatTurn, error) {
	chat := r.PathValue("id")
	if !validChatID(chat) {
		return nil, httpio.BadRequest("id", fmt.Sprintf("id %q: a chat id is 1 to 64 letters, digits, '-' or '_'", chat))
	}
	t, ok, err := a.lastTurn(r.Context(), chat)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errNoChat
	}
	if err := chatAccess(claimsOf(r), t.Owner, chat); err != nil {
		return nil, err
	}
	return t, nil
}

// chatView is the answer of GET {id}: the messages to show, the last
// answer as far as it went, and whether it is still being written.
type chatView struct {
	ID       string      `json:"id"`
	Messages []uiMessage `json:"messages"`
	Running  bool        `json:"running"`
	// FinishReason is how the last answer ended, once it has: stop,
	// length, tool-calls, stopped (by a user) or error.
	FinishReason string `json:"finishReason,omitempty"`
}

// handleGetChat answers the chat's messages, the last answer included,
// stopped or still running, so that a reloaded page shows the chat.
func (a *API) handleGetChat(w http.ResponseWriter, r *http.Request) {
	t, err := a.ownedTurn(r)
	if err != nil {
		httpio.WriteErr(w, err)
		return
	}
	view, err := a.viewChat(r.Context(), r.PathValue("id"), t)
	if err != nil {
		httpio.WriteErr(w, err)
		return
	}
	httpio.WriteJSON(w, http.StatusOK, view)
}

// viewChat rebuilds the chat from its turn and the turn's generation.
func (a *API) viewChat(ctx context.Context, chat string, t *chatTurn) (chatView, error) {
	tr := newTurnStream(false)
	var parts partBuilder
	err := readTopic(ctx, a.cfg.Hub, llm.DefaultTopicPrefix+t.Generation, func(u *hub.Update) {
		for _, c := range tr.chunks(u) {
			parts.add(c)
		}
	})
	if err != nil {
		return chatView{}, err
	}
	msgs := append([]uiMessage(nil), t.Messages...)
	if t.continues() {
		last := &msgs[len(msgs)-1]
		last.Parts = append(append([]json.RawMessage(nil), last.Parts...), parts.result()...)
	} else {
		msgs = append(msgs, uiMessage{ID: t.MessageID, Role: "assistant", Parts: parts.result()})
	}
	running := tr.started && !tr.ended && a.generationAlive(ctx, t.Generation)
	return chatView{ID: chat, Messages: msgs, Running: running, FinishReason: tr.reason}, nil
}

// handleStopChat stops the chat's running answer, on whichever node runs
// it, waits for its end to be stored, and answers the chat then. Its
// streams end with an abort chunk; a reconnect then gets 204.
func (a *API) handleStopChat(w http.ResponseWriter, r *http.Request) {
	t, err := a.ownedTurn(r)
	if err != nil {
		httpio.WriteErr(w, err)
		return
	}
	stopped, err := a.stopGeneration(r.Context(), t.Generation)
	if err != nil {
		httpio.WriteErr(w, err)
		return
	}
	if stopped { // else no node runs it: it ended long ago, or its node is gone
		if err := a.awaitEnd(r.Context(), t.Generation); err != nil {
			httpio.WriteErr(w, fmt.Errorf("wait for the end of chat %s's answer: %w", r.PathValue("id"), err))
			return
		}
	}
	view, err := a.viewChat(r.Context(), r.PathValue("id"), t)
	if err != nil {
		httpio.WriteErr(w, err)
		return
	}
	httpio.WriteJSON(w, http.StatusOK, view)
}

// awaitEnd waits, up to stopWait, for the closing event of a stopped
// generation to be in history: then every node sees it ended.
func (a *API) awaitEnd(ctx context.Context, id string) error {
	ctx, cancel := context.WithTimeout(ctx, stopWait)
	defer cancel()
	err := follow(ctx, a.cfg.Hub, llm.DefaultTopicPrefix+id, false, func(*hub.Update) error { return nil })
	if errors.Is(err, errNoHistory) {
		return nil
	}
	return err
}
