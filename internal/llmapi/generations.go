package llmapi

import (
	"fmt"
	"net/http"
	"net/url"
	"path"
	"slices"

	"github.com/ssehub/ssehub/internal/auth"
	"github.com/ssehub/ssehub/internal/httpio"
	"github.com/ssehub/ssehub/internal/llm"
	"github.com/ssehub/ssehub/internal/topic"
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
	model, err := a.cfg.Models.Resolve(in.Model)
	if err == nil {
		err = a.mayUseModel(r, model)
	}
	if err != nil {
		httpio.WriteErr(w, err) // an unknown model is refused now, not by a later error event
		return
	}
	req := llm.Request{Model: in.Model, Messages: in.Messages, MaxTokens: in.MaxTokens, Temperature: in.Temperature, Seed: in.Seed}
	a.starter(r, &req)
	g, err := a.cfg.Generations.Start(req)
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

// handleGetGeneration answers a generation's snapshot, the text so far and
// the id of the last event it includes, to its owner or a holder of a
// grant of its very topic (see access).
func (a *API) handleGetGeneration(w http.ResponseWriter, r *http.Request) {
	a.controlling(w, r, false, func(g *llm.Generation) (llm.Snapshot, error) { return g.Snapshot(), nil })
}

// handleStopGeneration stops a generation, which then ends with done
// "stopped"; only its owner or a publisher granted its very topic may.
func (a *API) handleStopGeneration(w http.ResponseWriter, r *http.Request) {
	a.controlling(w, r, true, func(g *llm.Generation) (llm.Snapshot, error) { return a.cfg.Generations.Stop(g.ID()) })
}

// controlling runs act on the generation r names, once the caller (a
// publisher token, as for starting one) may read it (or stop it, when
// stopping), and answers the snapshot act returns. A generation this node
// does not run is asked of the other nodes.
func (a *API) controlling(w http.ResponseWriter, r *http.Request, stopping bool, act func(*llm.Generation) (llm.Snapshot, error)) {
	claims, err := a.cfg.Gate.Publisher(r)
	if err != nil {
		httpio.WriteErr(w, httpio.Bearer(r, err))
		return
	}
	id := r.PathValue("id")
	if err := mayTouch(claims, llm.DefaultTopicPrefix+id, stopping); err != nil {
		httpio.WriteErr(w, httpio.Bearer(r, err))
		return
	}
	g, ok := a.cfg.Generations.Get(id)
	if !ok {
		a.controlPeer(w, r, claims, stopping)
		return
	}
	if err := access(claims, g.Owner(), g.Topic(), stopping); err != nil {
		httpio.WriteErr(w, httpio.Bearer(r, err))
		return
	}
	snap, err := act(g)
	if err != nil {
		httpio.WriteErr(w, httpio.Bearer(r, err))
		return
	}
	httpio.WriteJSON(w, http.StatusOK, snap)
}

// mayTouch checks, before a generation is looked up, that the caller's
// selectors match its topic at all: mercure.publish (or, to read it,
// mercure.subscribe). Then access decides for that generation.
func mayTouch(c *auth.Claims, topic string, stopping bool) error {
	err := c.CanPublish([]string{topic})
	if err != nil && !stopping && c.CanSubscribe(topic) == nil {
		err = nil
	}
	if err != nil {
		return &httpio.FieldError{Field: "topic", Err: err}
	}
	return nil
}

// access lets the owner of a generation read or stop it (a token whose
// subject is the one that started it), and the holder of a grant of its
// very topic: in mercure.publish, or to read it in mercure.subscribe too.
// The selector "*" grants every topic; a URI template covering every
// generation does not. A generation started without a subject has no owner.
func access(c *auth.Claims, owner, topic string, stopping bool) error {
	if c.Subject != "" && c.Subject == owner {
		return nil
	}
	grants := c.Publish
	if !stopping {
		grants = append(slices.Clip(grants), c.Subscribe...)
	}
	if grantsExactly(grants, topic) {
		return nil
	}
	verb, claim := "read", "mercure.publish or mercure.subscribe"
	if stopping {
		verb, claim = "stop", "mercure.publish"
	}
	return &httpio.FieldError{Field: "id", Err: fmt.Errorf("%w: generation %s belongs to whoever started it: to %s it, present a token with the same sub, or with %q itself in %s (a template covering every generation is not enough)",
		auth.ErrForbidden, path.Base(topic), verb, topic, claim)}
}

// grantsExactly reports whether a selector of grants is t itself, or "*":
// a template or URL pattern covering t is not enough.
func grantsExactly(grants []topic.Spec, t string) bool {
	for _, g := range grants {
		if g.Match == topic.Wildcard || g.Match == t && g.Type != topic.URLPattern {
			return true
		}
	}
	return false
}
