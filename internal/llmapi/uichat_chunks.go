package llmapi

import (
	"cmp"
	"encoding/json"
	"strings"

	"github.com/ssehub/ssehub/internal/hub"
	"github.com/ssehub/ssehub/internal/llm"
)

// uiChunk is one part of a UI message stream (the AI SDK's UIMessageChunk),
// with the fields its types use.
type uiChunk struct {
	Type           string          `json:"type"`
	ID             string          `json:"id,omitempty"`
	MessageID      string          `json:"messageId,omitempty"`
	Delta          string          `json:"delta,omitempty"`
	ToolCallID     string          `json:"toolCallId,omitempty"`
	ToolName       string          `json:"toolName,omitempty"`
	InputTextDelta string          `json:"inputTextDelta,omitempty"`
	Input          json.RawMessage `json:"input,omitempty"`
	Output         json.RawMessage `json:"output,omitempty"`
	Dynamic        bool            `json:"dynamic,omitempty"`
	ErrorText      string          `json:"errorText,omitempty"`
	FinishReason   string          `json:"finishReason,omitempty"`
	Reason         string          `json:"reason,omitempty"`
}

// answerTextID is the id of an answer's text part: a turn has one step,
// and its text is one part.
const answerTextID = "text-0"

// turnStream turns a turn's generation events into UI message chunks. It
// is a function of the events alone: every node replays a turn alike.
type turnStream struct {
	prior    bool // replay the parts of the message the answer continues
	started  bool // the start event was seen
	textOpen bool
	ended    bool // the closing event was seen
	reason   string
}

func newTurnStream(prior bool) *turnStream { return &turnStream{prior: prior} }

// chunks returns the chunks of one event of the generation.
func (ts *turnStream) chunks(u *hub.Update) []uiChunk {
	if ts.ended || !ts.started && u.Type != llm.EventStart {
		return nil
	}
	switch u.Type {
	case llm.EventStart:
		return ts.start(u.Data)
	case llm.EventToken:
		var tok struct{ Text string }
		if json.Unmarshal([]byte(u.Data), &tok) != nil || tok.Text == "" {
			return nil
		}
		out := []uiChunk{}
		if !ts.textOpen {
			ts.textOpen = true
			out = append(out, uiChunk{Type: "text-start", ID: answerTextID})
		}
		return append(out, uiChunk{Type: "text-delta", ID: answerTextID, Delta: tok.Text})
	case llm.EventToolCall:
		var c llm.ToolCall
		if json.Unmarshal([]byte(u.Data), &c) != nil {
			return nil
		}
		return append(ts.closeText(),
			uiChunk{Type: "tool-input-start", ToolCallID: c.ID, ToolName: c.Name},
			uiChunk{Type: "tool-input-delta", ToolCallID: c.ID, InputTextDelta: c.Arguments},
			uiChunk{Type: "tool-input-available", ToolCallID: c.ID, ToolName: c.Name, Input: jsonInput(c.Arguments)})
	case llm.EventDone, llm.EventError:
		ts.ended = true
		end := closing(u)
		ts.reason = cmp.Or(end[0].FinishReason, end[0].Reason, end[0].Type)
		return append(append(ts.closeText(), uiChunk{Type: "finish-step"}), end...)
	}
	return nil
}

// start opens the answer's message: its id from the record, then, when
// replaying a continued message, its earlier parts, then the new step.
func (ts *turnStream) start(data string) []uiChunk {
	var rec chatRecord
	if json.Unmarshal([]byte(data), &rec) != nil {
		return nil
	}
	ts.started = true
	out := []uiChunk{{Type: "start", MessageID: rec.MessageID}}
	if ts.prior {
		out = append(out, priorChunks(rec.Prior)...)
	}
	return append(out, uiChunk{Type: "start-step"})
}

func (ts *turnStream) closeText() []uiChunk {
	if !ts.textOpen {
		return nil
	}
	ts.textOpen = false
	return []uiChunk{{Type: "text-end", ID: answerTextID}}
}

// closing is the end of a turn's stream for its closing event: finish
// with the reason, abort for a stopped answer, error for a failed one.
func closing(u *hub.Update) []uiChunk {
	var end struct {
		Reason string `json:"reason"`
		Error  string `json:"error"`
	}
	_ = json.Unmarshal([]byte(u.Data), &end)
	if u.Type == llm.EventError {
		if end.Error == "" {
			end.Error = "the answer failed"
		}
		return []uiChunk{{Type: "error", ErrorText: end.Error}}
	}
	switch end.Reason {
	case llm.FinishStopped:
		return []uiChunk{{Type: "abort", Reason: "stopped"}}
	case llm.FinishLength:
		return []uiChunk{{Type: "finish", FinishReason: "length"}}
	case llm.FinishToolCalls:
		return []uiChunk{{Type: "finish", FinishReason: "tool-calls"}}
	}
	return []uiChunk{{Type: "finish", FinishReason: "stop"}}
}

// jsonInput is a tool call's arguments as the JSON value they are, or as
// a string when they are no JSON.
func jsonInput(args string) json.RawMessage {
	if args == "" {
		return json.RawMessage(`{}`)
	}
	if json.Valid([]byte(args)) {
		return json.RawMessage(args)
	}
	b, _ := json.Marshal(args)
	return b
}

// partBuilder builds the parts of a message from its chunks, as the AI
// SDK's client does.
type partBuilder struct {
	parts []map[string]any
	text  map[string]any // the open text part
	sb    strings.Builder
}

func (p *partBuilder) add(c uiChunk) {
	switch c.Type {
	case "start-step":
		p.parts = append(p.parts, map[string]any{"type": "step-start"})
	case "text-start":
		p.text = map[string]any{"type": "text", "text": "", "state": "streaming"}
		p.sb.Reset()
		p.parts = append(p.parts, p.text)
	case "text-delta":
		p.sb.WriteString(c.Delta)
	case "text-end":
		p.endText("done")
	case "tool-input-available":
		p.endText("done")
		p.parts = append(p.parts, map[string]any{"type": "tool-" + c.ToolName, "toolCallId": c.ToolCallID, "state": "input-available", "input": c.Input})
	}
}

// endText closes the open text part, if any, in state.
func (p *partBuilder) endText(state string) {
	if p.text != nil {
		p.text["text"], p.text["state"] = p.sb.String(), state
		p.text = nil
	}
}

// result returns the parts built; an open text part is "streaming".
func (p *partBuilder) result() []json.RawMessage {
	p.endText("streaming")
	out := make([]json.RawMessage, len(p.parts))
	for i, part := range p.parts {
		out[i] = jsonText(part)
	}
	return out
}

// jsonText is v in JSON; v is made of maps, strings and raw JSON.
func jsonText(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

// mustJSON is v's JSON text.
func mustJSON(v any) string { return string(jsonText(v)) }
