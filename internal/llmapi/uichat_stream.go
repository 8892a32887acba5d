package llmapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/ssehub/ssehub/internal/httpio"
	"github.com/ssehub/ssehub/internal/hub"
	"github.com/ssehub/ssehub/internal/llm"
	"github.com/ssehub/ssehub/internal/sse"
)

// streamTurn streams the turn answered by the generation of topic as a UI
// message stream, from its start event to its end, then [DONE]. prior
// replays the parts of the message the answer continues first (a resume
// rebuilds the message; a new turn's client has them). It ends early, the
// generation running on, when the client leaves.
func (a *API) streamTurn(w http.ResponseWriter, r *http.Request, topic string, prior bool) {
	writeStreamHead(w, "X-Vercel-Ai-Ui-Message-Stream", "v1")
	k := startKeepAlive(w, a.cfg.KeepAlive)
	defer k.stop()
	_, _ = k.Write(nil) // the head, flushed
	k.begin()
	ts := newTurnStream(prior)
	var buf []byte
	err := follow(r.Context(), a.cfg.Hub, topic, true, func(u *hub.Update) error {
		buf = buf[:0]
		for _, c := range ts.chunks(u) {
			b, _ := json.Marshal(c) // strings and raw JSON always encode
			buf, _ = sse.AppendEvent(buf, sse.Event{Data: string(b)})
		}
		if len(buf) == 0 {
			return nil
		}
		_, err := k.Write(buf)
		return err
	})
	if err != nil {
		return // the client left, or the hub closes: the answer goes on
	}
	buf, _ = sse.AppendEvent(buf[:0], sse.Event{Data: "[DONE]"})
	_, _ = k.Write(buf)
}

// handleResumeChat answers useChat's reconnect (resume: true): 204 when the
// chat has no answer running (none at all, or unknown), else the running
// answer replayed once from its start, then live to its end.
func (a *API) handleResumeChat(w http.ResponseWriter, r *http.Request) {
	t, err := a.ownedTurn(r)
	if errors.Is(err, errNoChat) {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if err != nil {
		httpio.WriteErr(w, err)
		return
	}
	topic := llm.DefaultTopicPrefix + t.Generation
	running := false
	err = readTopic(r.Context(), a.cfg.Hub, topic, func(u *hub.Update) {
		running = u.Type != llm.EventDone && u.Type != llm.EventError
	})
	if err != nil {
		httpio.WriteErr(w, err)
		return
	}
	if !running || !a.generationAlive(r.Context(), t.Generation) {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	a.streamTurn(w, r, topic, true)
}

// generationAlive reports whether a node runs the generation whose history
// has no end yet: a node that crashed mid-answer leaves one that never
// ends, which a resume must not wait for. When the nodes cannot be asked,
// history is believed.
func (a *API) generationAlive(ctx context.Context, id string) bool {
	snap, found, err := a.generation(ctx, id)
	return err != nil || found && snap.Status == llm.StatusRunning
}
