package llmapi

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/ssehub/ssehub/internal/httpio"
	"github.com/ssehub/ssehub/internal/llm"
)

// generationRequest is the body of POST /llm/generations.
type generationRequest struct {
	Messages    []llm.Message `json:"messages"`
	Model       string        `json:"model"`
	MaxTokens   int           `json:"max_tokens"`
	Temperature *float64      `json:"temperature"`
	Seed        int64         `json:"seed"`
}

// handleStartGeneration starts a generation and answers where its events go.
func (a *API) handleStartGeneration(w http.ResponseWriter, r *http.Request) {
	if !a.admitPublish(w, r) {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, a.cfg.MaxBodyBytes)
	var in generationRequest
	if err := httpio.DecodeJSON(r, &in, true); err != nil {
		httpio.WriteErr(w, err)
		return
	}
	if _, err := a.cfg.Models.Resolve(in.Model); err != nil {
		httpio.WriteErr(w, err) // an unknown model is refused now, not by a later error event
		return
	}
	g, err := a.cfg.Generations.Start(llm.Request{
		Model: in.Model, Messages: in.Messages, MaxTokens: in.MaxTokens, Temperature: in.Temperature, Seed: in.Seed,
	})
	if err != nil {
		httpio.WriteErr(w, err)
		return
	}
	w.Header().Set("Location", "/llm/generations/"+g.ID())
	httpio.WriteJSON(w, http.StatusCreated, map[string]string{
		"id":         g.ID(),
		"topic":      g.Topic(),
		"events_url": "/events?topic=" + url.QueryEscape(g.Topic()) + "&lastEventID=earliest",
	})
}

// handleGetGeneration answers a generation's snapshot: the text so far and
// the id of the last event it includes.
func (a *API) handleGetGeneration(w http.ResponseWriter, r *http.Request) {
	g, ok := a.cfg.Generations.Get(r.PathValue("id"))
	if !ok {
		a.answerFromPeers(w, r, peerGetGeneration)
		return
	}
	httpio.WriteJSON(w, http.StatusOK, g.Snapshot())
}

// handleStopGeneration stops a generation; it ends with done "stopped".
func (a *API) handleStopGeneration(w http.ResponseWriter, r *http.Request) {
	snap, err := a.cfg.Generations.Stop(r.PathValue("id"))
	if errors.Is(err, llm.ErrNotFound) {
		a.answerFromPeers(w, r, peerStopGeneration)
		return
	}
	if err != nil {
		httpio.WriteErr(w, err)
		return
	}
	httpio.WriteJSON(w, http.StatusOK, snap)
}
