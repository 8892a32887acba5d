package llmapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/ssehub/ssehub/internal/auth"
	"github.com/ssehub/ssehub/internal/httpio"
	"github.com/ssehub/ssehub/internal/llm"
)

// Kinds of questions nodes ask each other about generations.
const (
	peerGetGeneration  = "llm.get"  // answers a peerGeneration
	peerStopGeneration = "llm.stop" // stops it, then answers a peerGeneration
)

// peerGeneration is a node's answer about a generation it runs: its
// snapshot and its owner, whom the asking node checks the caller against.
type peerGeneration struct {
	Owner    string       `json:"owner"`
	Snapshot llm.Snapshot `json:"snapshot"`
}

// AnswerPeer answers another node's question about a generation this node
// runs: its owner and snapshot, after stopping it for a stop. It reports
// false for a generation it does not run or a question it does not know.
// The asking node has checked that its caller may.
func (a *API) AnswerPeer(kind, id string) ([]byte, bool) {
	g, ok := a.cfg.Generations.Get(id)
	if !ok {
		return nil, false
	}
	ans := peerGeneration{Owner: g.Owner()}
	switch kind {
	case peerGetGeneration:
		ans.Snapshot = g.Snapshot()
	case peerStopGeneration:
		var err error
		if ans.Snapshot, err = a.cfg.Generations.Stop(id); err != nil {
			return nil, false
		}
	default:
		return nil, false
	}
	body, err := json.Marshal(ans)
	return body, err == nil
}

// controlPeer reads or stops, for a caller with claims, the generation r
// names on the node that runs it; 404 when no node runs it.
func (a *API) controlPeer(w http.ResponseWriter, r *http.Request, claims *auth.Claims, stopping bool) {
	id := r.PathValue("id")
	ans, err := a.askPeers(r.Context(), peerGetGeneration, id)
	if err == nil {
		err = access(claims, ans.Owner, ans.Snapshot.Topic, stopping)
	}
	if err == nil && stopping {
		ans, err = a.askPeers(r.Context(), peerStopGeneration, id)
	}
	if err != nil {
		httpio.WriteErr(w, err)
		return
	}
	httpio.WriteJSON(w, http.StatusOK, ans.Snapshot)
}

// generation returns the snapshot of generation id from this node or the
// one that runs it; found is false when no node knows it, err says the
// other nodes could not be asked.
func (a *API) generation(ctx context.Context, id string) (snap llm.Snapshot, found bool, err error) {
	if g, ok := a.cfg.Generations.Get(id); ok {
		return g.Snapshot(), true, nil
	}
	ans, err := a.askPeers(ctx, peerGetGeneration, id)
	switch {
	case errors.Is(err, llm.ErrNotFound):
		return llm.Snapshot{}, false, nil
	case err != nil:
		return llm.Snapshot{}, false, err
	}
	return ans.Snapshot, true, nil
}

// Alive reports whether a node runs generation id (llm.Alive).
func (a *API) Alive(ctx context.Context, id string) (bool, error) {
	_, found, err := a.generation(ctx, id)
	return found, err
}

// stopGeneration stops the generation id, on this node or the one that
// runs it, and reports whether it was running.
func (a *API) stopGeneration(ctx context.Context, id string) (bool, error) {
	if _, ok := a.cfg.Generations.Get(id); ok {
		snap, err := a.cfg.Generations.Stop(id)
		return err == nil && snap.Status == llm.StatusRunning, nil
	}
	ans, err := a.askPeers(ctx, peerStopGeneration, id)
	switch {
	case errors.Is(err, llm.ErrNotFound):
		return false, nil
	case err != nil:
		return false, err
	}
	return ans.Snapshot.Status == llm.StatusRunning, nil
}

// askPeers asks the other nodes about generation id.
func (a *API) askPeers(ctx context.Context, kind, id string) (peerGeneration, error) {
	var ans peerGeneration
	if a.cfg.Peers == nil {
		return ans, llm.ErrNotFound
	}
	body, found, err := a.cfg.Peers.Ask(ctx, kind, id)
	switch {
	case err != nil:
		return ans, &httpio.Error{Status: http.StatusServiceUnavailable, Msg: "ask the other nodes: " + err.Error()}
	case !found:
		return ans, llm.ErrNotFound
	}
	if err := json.Unmarshal(body, &ans); err != nil {
		return ans, fmt.Errorf("a node's answer about generation %s: %w", id, err)
	}
	return ans, nil
}
