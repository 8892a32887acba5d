package llmapi

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ssehub/ssehub/internal/hub"
	"github.com/ssehub/ssehub/internal/llm"
)

// errNoRecord is a response's history whose first event is not its start
// record: the history lost the response's beginning.
var errNoRecord = errors.New("the response's start is past its history")

// responseEvent is one streamed event of the Responses API, encoded.
type responseEvent struct {
	Seq  int
	Type string
	Data []byte // the JSON object, with type and sequence_number
}

// responseBuilder turns the hub events of a response's generation into
// the Responses API's events and Response object. It is a pure function
// of those events: any node replaying the topic gets the same events with
// the same sequence numbers.
type responseBuilder struct {
	id      string
	rec     responseRecord
	started bool
	obj     responseObject
	msg     *messageItem // the open output message, if any
	seq     int
	out     []responseEvent
	err     error // an event that did not encode (raw JSON of a record)
}

func newResponseBuilder(id string) *responseBuilder {
	return &responseBuilder{id: id}
}

// apply folds in the next hub event of the response's topic and returns
// the Responses events it gives (valid until the next call).
func (b *responseBuilder) apply(u *hub.Update) ([]responseEvent, error) {
	b.out = b.out[:0]
	if !b.started {
		if u.Type != llm.EventStart {
			return nil, errNoRecord
		}
		if err := b.start(u.Data); err != nil {
			return nil, err
		}
		return b.out, b.err
	}
	switch u.Type {
	case llm.EventToken:
		var t struct{ Text string }
		if err := json.Unmarshal([]byte(u.Data), &t); err != nil {
			return nil, fmt.Errorf("a token event of %s: %w", b.id, err)
		}
		b.delta(t.Text)
	case llm.EventToolCall:
		var c llm.ToolCall
		if err := json.Unmarshal([]byte(u.Data), &c); err != nil {
			return nil, fmt.Errorf("a tool_call event of %s: %w", b.id, err)
		}
		b.call(c)
	case llm.EventDone:
		var d struct {
			Reason string
			Usage  llm.Usage
		}
		if err := json.Unmarshal([]byte(u.Data), &d); err != nil {
			return nil, fmt.Errorf("the done event of %s: %w", b.id, err)
		}
		b.done(d.Reason, d.Usage)
	case llm.EventError:
		var e struct{ Error, Kind string }
		if err := json.Unmarshal([]byte(u.Data), &e); err != nil {
			return nil, fmt.Errorf("the error event of %s: %w", b.id, err)
		}
		b.failed(e.Error, llm.ErrorKind(e.Kind))
	}
	return b.out, b.err
}

// start reads the record: response.created, response.queued (in the
// background), response.in_progress.
func (b *responseBuilder) start(data string) error {
	if err := json.Unmarshal([]byte(data), &b.rec); err != nil {
		return fmt.Errorf("the record of %s: %w", b.id, err)
	}
	b.started = true
	status := respInProgress
	if b.rec.Background {
		status = respQueued
	}
	b.obj = b.rec.object(b.id, status)
	b.emit("response.created", map[string]any{"response": b.obj})
	if b.rec.Background {
		b.emit("response.queued", map[string]any{"response": b.obj})
	}
	b.obj.Status = respInProgress
	b.emit("response.in_progress", map[string]any{"response": b.obj})
	return nil
}

// delta adds text, opening the output message at the first.
func (b *responseBuilder) delta(text string) {
	if b.msg == nil {
		b.msg = &messageItem{ID: "msg_" + idSuffix(b.id), Type: "message", Status: respInProgress, Role: "assistant", Content: []outputText{}}
		b.obj.Output = append(b.obj.Output, b.msg)
		b.emit("response.output_item.added", map[string]any{"output_index": b.index(), "item": b.msg})
		b.msg.Content = append(b.msg.Content, newOutputText(""))
		b.emit("response.content_part.added", b.part(map[string]any{"part": newOutputText("")}))
	}
	b.msg.Content[0].Text += text
	b.emit("response.output_text.delta", b.part(map[string]any{"delta": text, "logprobs": []any{}}))
}

// closeMessage ends the open output message with status.
func (b *responseBuilder) closeMessage(status string) {
	if b.msg == nil {
		return
	}
	text := b.msg.Content[0].Text
	b.emit("response.output_text.done", b.part(map[string]any{"text": text, "logprobs": []any{}}))
	b.emit("response.content_part.done", b.part(map[string]any{"part": newOutputText(text)}))
	b.msg.Status = status
	b.emit("response.output_item.done", map[string]any{"output_index": b.index(), "item": b.msg})
	b.msg = nil
}

// call adds a function call item, whole: its arguments come in one delta.
func (b *responseBuilder) call(c llm.ToolCall) {
	b.closeMessage(respCompleted)
	it := &callItem{ID: fmt.Sprintf("fc_%s_%d", idSuffix(b.id), len(b.obj.Output)), Type: "function_call",
		Status: respInProgress, CallID: c.ID, Name: c.Name}
	b.obj.Output = append(b.obj.Output, it)
	i := b.index()
	b.emit("response.output_item.added", map[string]any{"output_index": i, "item": it})
	b.emit("response.function_call_arguments.delta", map[string]any{"item_id": it.ID, "output_index": i, "delta": c.Arguments})
	b.emit("response.function_call_arguments.done", map[string]any{"item_id": it.ID, "output_index": i, "name": c.Name, "arguments": c.Arguments})
	it.Status, it.Arguments = respCompleted, c.Arguments
	b.emit("response.output_item.done", map[string]any{"output_index": i, "item": it})
}

// done ends the response by the generation's reason: completed (stop,
// tool_calls), incomplete (length) or cancelled (stopped by a user). A
// cancelled response's stream ends with response.incomplete: OpenAI
// streams no event for a cancellation and its SDKs know no
// response.cancelled, but all end on response.incomplete.
func (b *responseBuilder) done(reason string, u llm.Usage) {
	b.obj.Usage = usageOf(u)
	switch reason {
	case llm.FinishLength:
		b.closeMessage(respIncomplete)
		b.obj.Status, b.obj.IncompleteDetails = respIncomplete, &incompleteDetails{Reason: "max_output_tokens"}
		b.emit("response.incomplete", map[string]any{"response": b.obj})
	case llm.FinishStopped:
		b.closeMessage(respIncomplete)
		b.obj.Status = respCancelled
		b.emit("response.incomplete", map[string]any{"response": b.obj})
	default:
		b.closeMessage(respCompleted)
		b.obj.Status = respCompleted
		b.emit("response.completed", map[string]any{"response": b.obj})
	}
}

// failed ends the response with the generation's error.
func (b *responseBuilder) failed(msg string, kind llm.ErrorKind) {
	b.closeMessage(respIncomplete)
	code := "server_error"
	if kind == llm.KindRateLimit {
		code = "rate_limit_exceeded"
	}
	b.obj.Status, b.obj.Error = respFailed, &responseError{Code: code, Message: msg}
	b.emit("response.failed", map[string]any{"response": b.obj})
}

// index is the output index of the last output item.
func (b *responseBuilder) index() int { return len(b.obj.Output) - 1 }

// part adds the fields naming the open message's text part to m.
func (b *responseBuilder) part(m map[string]any) map[string]any {
	m["item_id"], m["output_index"], m["content_index"] = b.msg.ID, b.index(), 0
	return m
}

// emit encodes the next event: its fields, type and sequence number.
func (b *responseBuilder) emit(typ string, fields map[string]any) {
	fields["type"], fields["sequence_number"] = typ, b.seq
	data, err := json.Marshal(fields)
	if err != nil && b.err == nil {
		b.err = fmt.Errorf("encode %s of %s: %w", typ, b.id, err)
	}
	b.out = append(b.out, responseEvent{Seq: b.seq, Type: typ, Data: data})
	b.seq++
}

// conversation is the response's conversation with its output: what a
// response continuing it (previous_response_id) follows.
func (b *responseBuilder) conversation() []llm.Message {
	msgs := append([]llm.Message(nil), b.rec.Input...)
	var reply llm.Message
	for _, o := range b.obj.Output {
		switch it := o.(type) {
		case *messageItem:
			for _, p := range it.Content {
				reply.Content += p.Text
			}
		case *callItem:
			reply.ToolCalls = append(reply.ToolCalls, llm.ToolCall{ID: it.CallID, Name: it.Name, Arguments: it.Arguments})
		}
	}
	if reply.Content != "" || len(reply.ToolCalls) > 0 {
		reply.Role = "assistant"
		msgs = append(msgs, reply)
	}
	return msgs
}
