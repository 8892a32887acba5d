package httpapi

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/ssehub/ssehub/internal/llm"
)

// Peers are the other nodes of a cluster. A generation runs on the node
// that started it; a node asked about one it does not run asks its peers.
type Peers interface {
	// Ask returns the answer of the node that knows key, if any does.
	Ask(ctx context.Context, kind, key string) (body []byte, found bool, err error)
}

// Kinds of questions nodes ask each other.
const (
	peerGetGeneration  = "llm.get"
	peerStopGeneration = "llm.stop"
)

// AnswerPeer answers another node's question about a generation this node
// runs (its snapshot, after stopping it for a stop) or about its active
// subscriptions. It reports false for a generation it does not run, a
// subscription it does not have or a question it does not know.
func (a *API) AnswerPeer(kind, id string) ([]byte, bool) {
	if body, ok := a.answerSubscriptions(kind, id); ok {
		return body, true
	}
	if a.cfg.Generations == nil {
		return nil, false
	}
	var snap llm.Snapshot
	switch kind {
	case peerGetGeneration:
		g, ok := a.cfg.Generations.Get(id)
		if !ok {
			return nil, false
		}
		snap = g.Snapshot()
	case peerStopGeneration:
		var err error
		if snap, err = a.cfg.Generations.Stop(id); err != nil {
			return nil, false
		}
	default:
		return nil, false
	}
	body, err := json.Marshal(snap)
	return body, err == nil
}

// answerFromPeers writes the snapshot the node running generation id
// answers, or 404 when no node runs it.
func (a *API) answerFromPeers(w http.ResponseWriter, r *http.Request, kind string) {
	if a.cfg.Peers == nil {
		writeErr(w, llm.ErrNotFound)
		return
	}
	body, found, err := a.cfg.Peers.Ask(r.Context(), kind, r.PathValue("id"))
	switch {
	case err != nil:
		writeError(w, http.StatusServiceUnavailable, "", "ask the other nodes: "+err.Error())
	case !found:
		writeErr(w, llm.ErrNotFound)
	default:
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(append(body, '\n'))
	}
}
