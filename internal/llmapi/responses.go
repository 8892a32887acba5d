package llmapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/ssehub/ssehub/internal/httpio"
	"github.com/ssehub/ssehub/internal/llm"
)

// registerResponses registers OpenAI's Responses API.
func (a *API) registerResponses(mux Mux) {
	mux.Handle("/v1/responses", httpio.Methods{http.MethodPost: a.publishing(a.handleCreateResponse, writeOpenAIError)})
	mux.Handle("/v1/responses/{id}", httpio.Methods{
		http.MethodGet:    a.publishing(a.handleGetResponse, writeOpenAIError),
		http.MethodDelete: a.publishing(a.handleDeleteResponse, writeOpenAIError),
	})
	mux.Handle("/v1/responses/{id}/cancel", httpio.Methods{http.MethodPost: a.publishing(a.handleCancelResponse, writeOpenAIError)})
}

// handleCreateResponse starts a response: a generation with a record. It
// answers a stream of its events, the queued response (background), or
// the finished response.
func (a *API) handleCreateResponse(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, a.cfg.MaxBodyBytes)
	var in responseRequest
	if err := httpio.DecodeJSON(r, &in, false); err != nil {
		writeOpenAIError(w, err)
		return
	}
	req, err := a.responseRequestOf(r, &in)
	if err != nil {
		writeOpenAIError(w, err)
		return
	}
	if _, err := a.cfg.Generations.Start(req); err != nil {
		writeOpenAIError(w, err)
		return
	}
	// From here the response lives on whatever the client does: a client
	// that leaves a stream or a wait can read it again by its id.
	switch {
	case in.Stream:
		a.streamResponse(w, r, nil, req.ID, -1) // its creator reads it, owner or not
	case in.Background:
		var rec responseRecord
		_ = json.Unmarshal([]byte(req.Record), &rec) // ours
		obj := rec.object(req.ID, respQueued)
		httpio.WriteJSON(w, http.StatusOK, obj)
	default:
		b, err := a.readResponse(r.Context(), nil, req.ID, "", false, nil)
		if err != nil {
			writeOpenAIError(w, err)
			return
		}
		httpio.WriteJSON(w, http.StatusOK, b.obj)
	}
}

// responseRequestOf converts and checks a create request: the generation
// to start, with its id and record.
func (a *API) responseRequestOf(r *http.Request, in *responseRequest) (llm.Request, error) {
	input, err := parseInput(in.Input, a.itemsOf(r))
	if err != nil {
		return llm.Request{}, err
	}
	tools, err := parseTools(in.Tools)
	if err != nil {
		return llm.Request{}, err
	}
	choice, force, err := parseToolChoice(in.ToolChoice)
	if err != nil {
		return llm.Request{}, err
	}
	model, err := a.cfg.Models.Resolve(in.Model)
	if err == nil {
		err = a.mayUseModel(r, model)
	}
	if err != nil {
		return llm.Request{}, err
	}
	if in.PreviousResponseID != "" {
		prev, err := a.readResponse(r.Context(), claimsOf(r), in.PreviousResponseID, "", false, nil)
		if err != nil {
			return llm.Request{}, invalid("previous_response_id: Previous response with id '%s' not found.", in.PreviousResponseID)
		}
		input = append(prev.conversation(), input...)
	}
	rec := responseRecord{CreatedAt: time.Now().Unix(), Model: model, Instructions: in.Instructions, Input: input,
		Tools: in.Tools, ToolChoice: in.ToolChoice, Temperature: in.Temperature, MaxOutputTokens: in.MaxOutputTokens,
		PreviousResponseID: in.PreviousResponseID, Background: in.Background, Metadata: in.Metadata}
	req := llm.Request{Model: in.Model, Messages: input, Temperature: in.Temperature, Tools: tools,
		ToolChoice: choice, ForceTool: force, ID: newResponseID()}
	if in.Instructions != nil && *in.Instructions != "" {
		req.Messages = append([]llm.Message{{Role: "developer", Content: *in.Instructions}}, input...)
	}
	if in.MaxOutputTokens != nil {
		req.MaxTokens = *in.MaxOutputTokens
	}
	a.starter(r, &req)
	rec.Owner = req.Owner
	record, err := json.Marshal(rec)
	if err != nil {
		return llm.Request{}, fmt.Errorf("the record of a response: %w", err)
	}
	req.Record = string(record)
	return req, nil
}

// handleGetResponse answers a response as it is now, or with stream=true
// its events after starting_after, then live to its end.
func (a *API) handleGetResponse(w http.ResponseWriter, r *http.Request) {
	id, q := r.PathValue("id"), r.URL.Query()
	if stream, _ := strconv.ParseBool(q.Get("stream")); stream {
		after, err := startingAfter(r)
		if err != nil {
			writeOpenAIError(w, err)
			return
		}
		a.streamResponse(w, r, claimsOf(r), id, after)
		return
	}
	b, err := a.readResponse(r.Context(), claimsOf(r), id, a.lastEventOf(r.Context(), id), false, nil)
	if err != nil {
		writeOpenAIError(w, err)
		return
	}
	httpio.WriteJSON(w, http.StatusOK, b.obj)
}

// handleCancelResponse stops a running response, which then ends with
// status cancelled, and answers it. A response that ended otherwise is
// refused (400), as OpenAI does; cancelling a cancelled one answers it.
func (a *API) handleCancelResponse(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	claims := claimsOf(r)
	stopOnRecord := func(*responseBuilder, []responseEvent) error { return errStopReading }
	if _, err := a.readResponse(r.Context(), claims, id, "", true, stopOnRecord); err != nil {
		writeOpenAIError(w, err)
		return
	}
	running, err := a.stopGeneration(r.Context(), id)
	if err != nil {
		writeOpenAIError(w, err)
		return
	}
	b, err := a.readResponse(r.Context(), claims, id, "", true, nil) // to its end
	if err != nil {
		writeOpenAIError(w, err)
		return
	}
	if !running && b.obj.Status != respCancelled {
		writeOpenAIError(w, invalid("Cannot cancel a response with status '%s': only a queued or in_progress response can be cancelled.", b.obj.Status))
		return
	}
	httpio.WriteJSON(w, http.StatusOK, b.obj)
}

// handleDeleteResponse deletes a response: it is stopped if running (and
// answered once ended), and its tombstone makes it unknown from then on,
// on every node.
func (a *API) handleDeleteResponse(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	stopOnRecord := func(*responseBuilder, []responseEvent) error { return errStopReading }
	if _, err := a.readResponse(r.Context(), claimsOf(r), id, "", true, stopOnRecord); err != nil {
		writeOpenAIError(w, err)
		return
	}
	running, err := a.stopGeneration(r.Context(), id)
	if err == nil && running { // answer once it has ended
		_, err = a.readResponse(r.Context(), claimsOf(r), id, "", true, nil)
	}
	if err != nil {
		writeOpenAIError(w, err)
		return
	}
	if err := a.markDeleted(r.Context(), id); err != nil {
		writeOpenAIError(w, err)
		return
	}
	httpio.WriteJSON(w, http.StatusOK, map[string]any{"id": id, "object": "response.deleted", "deleted": true})
}

// startingAfter is the sequence number a stream resumes after: the
// starting_after parameter, else the Last-Event-ID header a reconnecting
// EventSource sends (the events' ids are their sequence numbers), else -1.
func startingAfter(r *http.Request) (int, error) {
	field, v := "starting_after", r.URL.Query().Get("starting_after")
	if v == "" {
		field, v = "Last-Event-ID", r.Header.Get("Last-Event-ID")
	}
	if v == "" {
		return -1, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, invalid("%s %q: give a sequence number (0 or more)", field, v)
	}
	return n, nil
}
