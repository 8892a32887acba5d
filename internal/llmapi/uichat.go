package llmapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/ssehub/ssehub/internal/httpio"
	"github.com/ssehub/ssehub/internal/hub"
	"github.com/ssehub/ssehub/internal/llm"
)

// The AI SDK chat endpoints speak the UI message stream protocol (v1) of
// Vercel's AI SDK, what useChat's DefaultChatTransport sends and reads:
//
//	POST {ChatPath}            a turn: the conversation in, the answer streamed out
//	GET  {ChatPath}/{id}        the chat's messages, to rebuild it after a reload
//	GET  {ChatPath}/{id}/stream the running answer replayed from its start (204 if none)
//	POST {ChatPath}/{id}/stop   stops the running answer, keeping its text
//
// A turn is a generation of the engine: its events on the generation's
// topic are the answer, and the stream is a function of them alone, so a
// reconnect on any node replays it the same way. The chat's own topic,
// ChatTopicPrefix + id, keeps one private "turn" event per turn: who owns
// the chat, the messages sent and the generation answering them.

// DefaultChatPath is where the AI SDK chat endpoints are when
// Config.ChatPath is empty: DefaultChatTransport's default api.
const DefaultChatPath = "/api/chat"

// ChatTopicPrefix starts the topics of the chats: a hub topic no client
// may publish to.
const ChatTopicPrefix = "llm/chats/"

// eventTurn is the type of a chat topic's events: a chatTurn.
const eventTurn = "turn"

// Publisher publishes updates to the hub: the chats' turns.
type Publisher interface {
	Publish(ctx context.Context, u *hub.Update) (string, error)
}

// uiChatRequest is the body DefaultChatTransport posts, with the fields of
// its body option that ssehub reads.
type uiChatRequest struct {
	ID          string      `json:"id"`
	Messages    []uiMessage `json:"messages"`
	Trigger     string      `json:"trigger"`
	MessageID   string      `json:"messageId"`
	Model       string      `json:"model"`
	MaxTokens   int         `json:"maxTokens"`
	Temperature *float64    `json:"temperature"`
	Seed        int64       `json:"seed"`
	Tools       []llm.Tool  `json:"tools"`
	ToolChoice  string      `json:"toolChoice"`
}

// chatTurn is the data of a chat topic's turn event.
type chatTurn struct {
	Owner      string      `json:"owner"`
	Generation string      `json:"generation"`
	MessageID  string      `json:"messageId"` // the answer's message
	Messages   []uiMessage `json:"messages"`  // as sent; the last is the answer's when it continues one
}

// continues reports whether the turn's answer adds to the last message.
func (t *chatTurn) continues() bool {
	n := len(t.Messages)
	return n > 0 && t.Messages[n-1].Role == "assistant" && t.Messages[n-1].ID == t.MessageID
}

// chatRecord is the record of a turn's generation (its start event): all
// a replay needs besides the generation's own events.
type chatRecord struct {
	Chat      string            `json:"chat"`
	MessageID string            `json:"messageId"`
	Prior     []json.RawMessage `json:"prior,omitempty"` // the parts of the message the answer continues
}

// registerChat registers the AI SDK chat endpoints under path.
func (a *API) registerChat(mux Mux, path string) {
	mux.Handle(path, httpio.Methods{http.MethodPost: a.publishing(a.handleChat, httpio.WriteErr)})
	mux.Handle(path+"/{id}", httpio.Methods{http.MethodGet: a.publishing(a.handleGetChat, httpio.WriteErr)})
	mux.Handle(path+"/{id}/stream", httpio.Methods{http.MethodGet: a.publishing(a.handleResumeChat, httpio.WriteErr)})
	mux.Handle(path+"/{id}/stop", httpio.Methods{http.MethodPost: a.publishing(a.handleStopChat, httpio.WriteErr)})
}

// handleChat starts a turn and streams its answer. A client that leaves
// does not stop it: it can come back with GET {id}/stream.
func (a *API) handleChat(w http.ResponseWriter, r *http.Request) {
	if !a.admitPublish(w, r) {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, a.cfg.MaxBodyBytes)
	var in uiChatRequest
	if err := httpio.DecodeJSON(r, &in, false); err != nil {
		httpio.WriteErr(w, err)
		return
	}
	turn, req, err := a.newTurn(r, &in)
	if err != nil {
		httpio.WriteErr(w, err)
		return
	}
	g, err := a.cfg.Generations.Start(req)
	if err != nil {
		httpio.WriteErr(w, err)
		return
	}
	turn.Generation = g.ID()
	if err := a.publishTurn(r.Context(), in.ID, turn); err != nil {
		_, _ = a.cfg.Generations.Stop(g.ID())
		httpio.WriteErr(w, err)
		return
	}
	a.streamTurn(w, r, g.Topic(), false)
}

// newTurn checks a turn's request, and its caller against the chat's
// owner, and returns the turn and the generation to start.
func (a *API) newTurn(r *http.Request, in *uiChatRequest) (*chatTurn, llm.Request, error) {
	var req llm.Request
	if err := checkChatRequest(in); err != nil {
		return nil, req, err
	}
	msgs, err := modelMessages(in.Messages)
	if err != nil {
		return nil, req, err
	}
	model, err := a.cfg.Models.Resolve(in.Model)
	if err == nil {
		err = a.mayUseModel(r, model)
	}
	if err != nil {
		return nil, req, err
	}
	claims := claimsOf(r)
	owner := claims.Subject // of a new chat
	prev, ok, err := a.lastTurn(r.Context(), in.ID)
	if err != nil {
		return nil, req, err
	}
	if ok {
		owner = prev.Owner
	}
	if err := chatAccess(claims, owner, in.ID); err != nil {
		return nil, req, err
	}
	if ok {
		if err := a.checkNoRunningTurn(r.Context(), in.ID, prev); err != nil {
			return nil, req, err
		}
	}
	turn := &chatTurn{Owner: owner, MessageID: "msg-" + newCompletionID(), Messages: in.Messages}
	rec := chatRecord{Chat: in.ID}
	if last := in.Messages[len(in.Messages)-1]; last.Role == "assistant" && last.ID != "" {
		turn.MessageID, rec.Prior = last.ID, last.Parts // a tool's output: the answer goes on
	}
	rec.MessageID = turn.MessageID
	req = llm.Request{Model: in.Model, Messages: msgs, MaxTokens: in.MaxTokens, Temperature: in.Temperature,
		Seed: in.Seed, Tools: in.Tools, Record: mustJSON(rec)}
	req.ToolChoice, req.ForceTool = toolChoice(in.ToolChoice, in.Tools)
	a.starter(r, &req)
	return turn, req, nil
}

// checkNoRunningTurn refuses a turn while the chat's previous answer still
// runs, on any node: two answers at once would interleave in the chat
// (another tab, or a client that did not wait). 409 says to stop it or
// wait for its end.
func (a *API) checkNoRunningTurn(ctx context.Context, chat string, prev *chatTurn) error {
	snap, found, err := a.generation(ctx, prev.Generation)
	if err != nil {
		return err
	}
	if found && snap.Status == llm.StatusRunning {
		return &httpio.Error{Status: http.StatusConflict, Field: "id",
			Msg: fmt.Sprintf("chat %s: its answer %s is still running: stop it (POST .../%s/stop) or wait for its end", chat, prev.MessageID, chat)}
	}
	return nil
}

// toolChoice maps the body's toolChoice, auto, none, required or the name
// of a tool, onto the engine's.
func toolChoice(choice string, tools []llm.Tool) (string, string) {
	for _, t := range tools {
		if choice == t.Name && choice != llm.ToolChoiceAuto && choice != llm.ToolChoiceNone && choice != llm.ToolChoiceRequired {
			return llm.ToolChoiceRequired, t.Name
		}
	}
	return choice, ""
}

// checkChatRequest checks what the conversion of the messages does not.
func checkChatRequest(in *uiChatRequest) error {
	switch {
	case !validChatID(in.ID):
		return httpio.BadRequest("id", fmt.Sprintf("id %q: a chat id is 1 to 64 letters, digits, '-' or '_'", in.ID))
	case in.Trigger != "" && in.Trigger != "submit-message" && in.Trigger != "regenerate-message":
		return httpio.BadRequest("trigger", fmt.Sprintf("trigger %q: use submit-message or regenerate-message", in.Trigger))
	case len(in.Messages) == 0:
		return httpio.BadRequest("messages", "messages must not be empty")
	}
	return nil
}

// validChatID reports whether id may name a chat: it is part of a topic
// and of URLs.
func validChatID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for _, c := range []byte(id) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// publishTurn appends a turn to the chat's topic, privately: only the
// chat endpoints, and subscribers granted the topic, read it.
func (a *API) publishTurn(ctx context.Context, chat string, t *chatTurn) error {
	if a.cfg.Publisher == nil {
		return fmt.Errorf("store the turn of chat %s: no publisher", chat)
	}
	u := &hub.Update{Topics: []string{ChatTopicPrefix + chat}, Type: eventTurn, Data: mustJSON(t), Private: true}
	if _, err := a.cfg.Publisher.Publish(context.WithoutCancel(ctx), u); err != nil {
		return fmt.Errorf("store the turn of chat %s: %w", chat, err)
	}
	return nil
}
