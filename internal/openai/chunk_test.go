package openai

import (
	"encoding/json"
	"testing"

	sdk "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/responses"
)

// chunks are chat completion chunks as upstreams send them: OpenAI's,
// DeepSeek's (reasoning_content beside content), Ollama's (no usage),
// vLLM's (null where others leave a field out), tool calls in pieces.
var chunks = []string{
	`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}`,
	`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","system_fingerprint":"fp","choices":[{"index":0,"delta":{"content":"你好, wo"},"logprobs":null,"finish_reason":null}]}`,
	`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"deepseek-reasoner","choices":[{"index":0,"delta":{"content":null,"reasoning_content":"hmm"},"finish_reason":null}],"usage":null}`,
	`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"length"}]}`,
	`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12,"prompt_tokens_details":{"cached_tokens":0}}}`,
	`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_1","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}]}`,
	`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"{\"city\":"}}]},"finish_reason":null}]}`,
	`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":null,"tool_calls":null},"finish_reason":"tool_calls"}],"usage":null}`,
	// of another type than OpenAI's: read through the SDK's type, as before
	`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"x"},"finish_reason":null}],"usage":{"prompt_tokens":9.0,"completion_tokens":"3","total_tokens":12}}`,
	`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"y","tool_calls":[{"index":"0","id":"call_2","function":{"name":"f","arguments":"{}"}}]},"finish_reason":null}]}`,
}

// decodeBoth decodes raw into the SDK's type S and into the lean type L.
func decodeBoth[S, L any](t *testing.T, raw string) (S, L) {
	t.Helper()
	var theirs S
	var ours L
	if err := json.Unmarshal([]byte(raw), &theirs); err != nil {
		t.Fatalf("SDK: %v", err)
	}
	if err := json.Unmarshal([]byte(raw), &ours); err != nil {
		t.Fatalf("%T: %v\n%s", ours, err, raw)
	}
	return theirs, ours
}

// TestChunkReadsWhatTheSDKReads decodes each chunk into the SDK's type and
// into chunk and compares every field the accumulator reads.
func TestChunkReadsWhatTheSDKReads(t *testing.T) {
	for _, raw := range chunks {
		theirs, ours := decodeBoth[sdk.ChatCompletionChunk, chunk](t, raw)
		u := theirs.Usage
		if ours.Usage.PromptTokens != u.PromptTokens || ours.Usage.CompletionTokens != u.CompletionTokens || ours.Usage.TotalTokens != u.TotalTokens {
			t.Errorf("usage %+v, the SDK reads %+v\n%s", ours.Usage, u, raw)
		}
		if len(ours.Choices) != len(theirs.Choices) {
			t.Fatalf("%d choices, the SDK reads %d\n%s", len(ours.Choices), len(theirs.Choices), raw)
		}
		for i, c := range theirs.Choices {
			o := ours.Choices[i]
			if o.FinishReason != c.FinishReason || o.Delta.Content != c.Delta.Content || len(o.Delta.ToolCalls) != len(c.Delta.ToolCalls) {
				t.Fatalf("choice %+v, the SDK reads %+v\n%s", o, c, raw)
			}
			for j, d := range c.Delta.ToolCalls {
				od := o.Delta.ToolCalls[j]
				if od.Index != d.Index || od.ID != d.ID || od.Function.Name != d.Function.Name || od.Function.Arguments != d.Function.Arguments {
					t.Errorf("tool call %+v, the SDK reads %+v\n%s", od, d, raw)
				}
			}
		}
	}
}

// BenchmarkChunkDecode is what a content chunk costs to decode: into the
// SDK's type and into chunk.
func BenchmarkChunkDecode(b *testing.B) {
	raw := []byte(chunks[1])
	b.Run("sdk", func(b *testing.B) { benchDecode[sdk.ChatCompletionChunk](b, raw) })
	b.Run("chunk", func(b *testing.B) { benchDecode[chunk](b, raw) })
}

// benchDecode decodes raw into a T at each round.
func benchDecode[T any](b *testing.B, raw []byte) {
	b.ReportAllocs()
	for b.Loop() {
		var v T
		if err := json.Unmarshal(raw, &v); err != nil {
			b.Fatal(err)
		}
	}
}

// responseEvents are events of a streamed response as OpenAI sends them.
var responseEvents = []string{
	`{"type":"response.created","sequence_number":0,"response":{"id":"resp_1","object":"response","created_at":1,"status":"in_progress","error":null,"incomplete_details":null,"output":[],"usage":null}}`,
	`{"type":"response.output_text.delta","sequence_number":4,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"你好, wo","logprobs":[]}`,
	`{"type":"response.output_item.done","sequence_number":9,"output_index":1,"item":{"id":"fc_1","type":"function_call","status":"completed","arguments":"{\"city\":\"Paris\"}","call_id":"call_1","name":"get_weather"}}`,
	`{"type":"response.output_item.done","sequence_number":7,"output_index":0,"item":{"id":"msg_1","type":"message","status":"completed","role":"assistant","content":[{"type":"output_text","text":"hi","annotations":[]}]}}`,
	`{"type":"response.completed","sequence_number":10,"response":{"id":"resp_1","object":"response","status":"completed","error":null,"incomplete_details":null,"usage":{"input_tokens":9,"input_tokens_details":{"cached_tokens":0},"output_tokens":3,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":12}}}`,
	`{"type":"response.incomplete","sequence_number":10,"response":{"id":"resp_1","status":"incomplete","incomplete_details":{"reason":"max_output_tokens"},"usage":{"input_tokens":9,"output_tokens":64,"total_tokens":73}}}`,
	`{"type":"response.failed","sequence_number":3,"response":{"id":"resp_1","status":"failed","error":{"code":"server_error","message":"The model failed."},"usage":null}}`,
	`{"type":"error","sequence_number":2,"code":"rate_limit_exceeded","message":"Slow down.","param":null}`,
	// of another type than OpenAI's: read through the SDK's union, as before
	`{"type":"response.completed","sequence_number":"10","response":{"id":"resp_1","status":"completed","usage":{"input_tokens":9.0,"output_tokens":"3","total_tokens":12}}}`,
}

// TestResponseEventReadsWhatTheSDKReads decodes each event into the SDK's
// union and into responseEvent and compares every field the accumulator
// reads.
func TestResponseEventReadsWhatTheSDKReads(t *testing.T) {
	for _, raw := range responseEvents {
		theirs, ours := decodeBoth[responses.ResponseStreamEventUnion, responseEvent](t, raw)
		if ours.Type != theirs.Type || ours.Delta != theirs.Delta || ours.Code != theirs.Code || ours.Message != theirs.Message {
			t.Errorf("type %q delta %q code %q message %q, the SDK reads %q %q %q %q", ours.Type, ours.Delta, ours.Code, ours.Message,
				theirs.Type, theirs.Delta, theirs.Code, theirs.Message)
		}
		if ours.Item.Type != theirs.Item.Type {
			t.Errorf("item type %q, the SDK reads %q", ours.Item.Type, theirs.Item.Type)
		}
		if fc := theirs.Item.AsFunctionCall(); theirs.Item.Type == "function_call" &&
			(ours.Item.CallID != fc.CallID || ours.Item.Name != fc.Name || ours.Item.Arguments != fc.Arguments) {
			t.Errorf("function call %+v, the SDK reads %+v", ours.Item, fc)
		}
		r, o := theirs.Response, ours.Response
		if o.Usage.InputTokens != r.Usage.InputTokens || o.Usage.OutputTokens != r.Usage.OutputTokens || o.Usage.TotalTokens != r.Usage.TotalTokens ||
			o.IncompleteDetails.Reason != r.IncompleteDetails.Reason || o.Error.Code != string(r.Error.Code) || o.Error.Message != r.Error.Message {
			t.Errorf("response %+v, the SDK reads usage %+v, incomplete %q, error %q %q\n%s", o, r.Usage, r.IncompleteDetails.Reason, r.Error.Code, r.Error.Message, raw)
		}
	}
}

// BenchmarkResponseEventDecode is what a text delta event costs to decode:
// into the SDK's union and into responseEvent.
func BenchmarkResponseEventDecode(b *testing.B) {
	raw := []byte(responseEvents[1])
	b.Run("sdk", func(b *testing.B) { benchDecode[responses.ResponseStreamEventUnion](b, raw) })
	b.Run("responseEvent", func(b *testing.B) { benchDecode[responseEvent](b, raw) })
}
