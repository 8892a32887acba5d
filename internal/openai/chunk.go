package openai

import (
	"context"
	"encoding/json"
	"net/http"

	sdk "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/packages/ssestream"
)

// chunk is what Model.Stream reads of a chat completion chunk. The SDK's own
// type decodes every field of every chunk through its reflective decoder,
// which cost the hub a fifth of its CPU per upstream token
// (docs/benchmarks.md, "Kept: upstream chunks decoded into what is read");
// encoding/json into these few fields reads the same values, with null
// and absent fields left empty as the SDK leaves them.
type chunk struct {
	Choices []chunkChoice `json:"choices"`
	Usage   struct {
		PromptTokens     int64 `json:"prompt_tokens"`
		CompletionTokens int64 `json:"completion_tokens"`
		TotalTokens      int64 `json:"total_tokens"`
	} `json:"usage"`
}

// chunkChoice is one choice of a chunk.
type chunkChoice struct {
	Delta struct {
		Content   string          `json:"content"`
		ToolCalls []toolCallDelta `json:"tool_calls"`
	} `json:"delta"`
	FinishReason string `json:"finish_reason"`
}

// toolCallDelta is one piece of a streamed tool call.
type toolCallDelta struct {
	Index    int64  `json:"index"`
	ID       string `json:"id"`
	Function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

// UnmarshalJSON decodes data as decodeLean does.
func (c *chunk) UnmarshalJSON(data []byte) error {
	type plain chunk
	return decodeLean(data, (*plain)(c), func(s *sdk.ChatCompletionChunk) {
		*c = chunk{}
		c.Usage.PromptTokens, c.Usage.CompletionTokens, c.Usage.TotalTokens = s.Usage.PromptTokens, s.Usage.CompletionTokens, s.Usage.TotalTokens
		for _, sc := range s.Choices {
			var cc chunkChoice
			cc.FinishReason, cc.Delta.Content = sc.FinishReason, sc.Delta.Content
			for _, d := range sc.Delta.ToolCalls {
				td := toolCallDelta{Index: d.Index, ID: d.ID}
				td.Function.Name, td.Function.Arguments = d.Function.Name, d.Function.Arguments
				cc.Delta.ToolCalls = append(cc.Delta.ToolCalls, td)
			}
			c.Choices = append(c.Choices, cc)
		}
	})
}

// decodeLean decodes data into lean with encoding/json and, where that
// fails (a field of another type than OpenAI's, which the SDK's decoder
// lets through), into the SDK's type S, which fill copies into lean's
// value: every event the SDK reads is read.
func decodeLean[S any](data []byte, lean any, fill func(*S)) error {
	if json.Unmarshal(data, lean) == nil {
		return nil
	}
	var s S
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	fill(&s)
	return nil
}

// openStream sends the request the SDK's NewStreaming methods send to
// path (their options, retries and errors) and returns the stream's events
// decoded as T; *res is set to the upstream's answer.
func openStream[T any](ctx context.Context, m *Model, path string, params any, res **http.Response) *ssestream.Stream[T] {
	var raw *http.Response
	err := m.client.Post(ctx, path, params, &raw,
		option.WithJSONSet("stream", true), option.WithResponseInto(res))
	return ssestream.NewStream[T](ssestream.NewDecoder(raw), err)
}
