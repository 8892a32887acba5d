package llmapi

import (
	"encoding/json"
	"net/http"

	"github.com/ssehub/ssehub/internal/httpio"
	"github.com/ssehub/ssehub/internal/llm"
)

// Kinds of questions nodes ask each other about generations.
const (
	peerGetGeneration  = "llm.get"
	peerStopGeneration = "llm.stop"
)

// AnswerPeer answers another node's question about a generation this node
// runs: its snapshot, after stopping it for a stop. It reports false for a
// generation it does not run or a question it does not know.
func (a *API) AnswerPeer(kind, id string) ([]byte, bool) {
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
		httpio.WriteErr(w, llm.ErrNotFound)
		return
	}
	body, found, err := a.cfg.Peers.Ask(r.Context(), kind, r.PathValue("id"))
	switch {
	case err != nil:
		httpio.WriteError(w, http.StatusServiceUnavailable, "", "ask the other nodes: "+err.Error())
	case !found:
		httpio.WriteErr(w, llm.ErrNotFound)
	default:
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(append(body, '\n'))
	}
}
