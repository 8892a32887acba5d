package llmapi

import (
	"encoding/json"
	"strings"

	"github.com/ssehub/ssehub/internal/llm"
)

// Statuses of a Response object.
const (
	respQueued     = "queued"
	respInProgress = "in_progress"
	respCompleted  = "completed"
	respIncomplete = "incomplete"
	respFailed     = "failed"
	respCancelled  = "cancelled"
)

// responseRecord is the start record of a response's generation: all that
// is needed, with the generation's events, to answer for the response
// from history on any node.
type responseRecord struct {
	Owner              string          `json:"owner,omitempty"`
	CreatedAt          int64           `json:"created_at"`
	Model              string          `json:"model"`
	Instructions       *string         `json:"instructions,omitempty"`
	Input              []llm.Message   `json:"input"` // the conversation, previous responses' included, without the instructions
	Tools              []responseTool  `json:"tools,omitempty"`
	ToolChoice         json.RawMessage `json:"tool_choice,omitempty"`
	Temperature        *float64        `json:"temperature,omitempty"`
	MaxOutputTokens    *int            `json:"max_output_tokens,omitempty"`
	PreviousResponseID string          `json:"previous_response_id,omitempty"`
	Background         bool            `json:"background,omitempty"`
	Metadata           json.RawMessage `json:"metadata,omitempty"`
}

// responseObject is OpenAI's Response object.
type responseObject struct {
	ID                 string             `json:"id"`
	Object             string             `json:"object"`
	CreatedAt          int64              `json:"created_at"`
	Status             string             `json:"status"`
	Background         bool               `json:"background"`
	Error              *responseError     `json:"error"`
	IncompleteDetails  *incompleteDetails `json:"incomplete_details"`
	Instructions       *string            `json:"instructions"`
	MaxOutputTokens    *int               `json:"max_output_tokens"`
	Model              string             `json:"model"`
	Output             []any              `json:"output"`
	ParallelToolCalls  bool               `json:"parallel_tool_calls"`
	PreviousResponseID *string            `json:"previous_response_id"`
	Temperature        float64            `json:"temperature"`
	Text               json.RawMessage    `json:"text"`
	ToolChoice         json.RawMessage    `json:"tool_choice"`
	Tools              []functionTool     `json:"tools"`
	TopP               float64            `json:"top_p"`
	Truncation         string             `json:"truncation"`
	Usage              *responseUsage     `json:"usage"`
	Metadata           json.RawMessage    `json:"metadata"`
}

// responseError is a failed response's error.
type responseError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// incompleteDetails says why a response is incomplete.
type incompleteDetails struct {
	Reason string `json:"reason"`
}

// responseUsage is a response's token counts.
type responseUsage struct {
	InputTokens        int `json:"input_tokens"`
	InputTokensDetails struct {
		CachedTokens int `json:"cached_tokens"`
	} `json:"input_tokens_details"`
	OutputTokens        int `json:"output_tokens"`
	OutputTokensDetails struct {
		ReasoningTokens int `json:"reasoning_tokens"`
	} `json:"output_tokens_details"`
	TotalTokens int `json:"total_tokens"`
}

// functionTool is a function tool as a Response object lists it.
type functionTool struct {
	Type        string          `json:"type"`
	Name        string          `json:"name"`
	Description *string         `json:"description"`
	Parameters  json.RawMessage `json:"parameters"`
	Strict      bool            `json:"strict"`
}

// messageItem is an output message.
type messageItem struct {
	ID      string       `json:"id"`
	Type    string       `json:"type"`
	Status  string       `json:"status"`
	Role    string       `json:"role"`
	Content []outputText `json:"content"`
}

// outputText is a message's text part.
type outputText struct {
	Type        string `json:"type"`
	Text        string `json:"text"`
	Annotations []any  `json:"annotations"`
	Logprobs    []any  `json:"logprobs"`
}

// callItem is an output function call.
type callItem struct {
	ID        string `json:"id"`
	Type      string `json:"type"`
	Status    string `json:"status"`
	Arguments string `json:"arguments"`
	CallID    string `json:"call_id"`
	Name      string `json:"name"`
}

func newOutputText(text string) outputText {
	return outputText{Type: "output_text", Text: text, Annotations: []any{}, Logprobs: []any{}}
}

// object returns the Response object of a record, with status and no
// output yet.
func (rec *responseRecord) object(id, status string) responseObject {
	o := responseObject{
		ID: id, Object: "response", CreatedAt: rec.CreatedAt, Status: status, Background: rec.Background,
		Instructions: rec.Instructions, MaxOutputTokens: rec.MaxOutputTokens, Model: rec.Model, Output: []any{},
		ParallelToolCalls: true, Temperature: 1, Text: json.RawMessage(`{"format":{"type":"text"}}`),
		ToolChoice: rec.ToolChoice, Tools: []functionTool{}, TopP: 1, Truncation: "disabled", Metadata: rec.Metadata,
	}
	if rec.PreviousResponseID != "" {
		o.PreviousResponseID = &rec.PreviousResponseID
	}
	if rec.Temperature != nil {
		o.Temperature = *rec.Temperature
	}
	if len(o.ToolChoice) == 0 {
		o.ToolChoice = json.RawMessage(`"auto"`)
	}
	if len(o.Metadata) == 0 || string(o.Metadata) == "null" {
		o.Metadata = json.RawMessage(`{}`)
	}
	for _, t := range rec.Tools {
		ft := functionTool{Type: "function", Name: t.Name, Parameters: t.Parameters, Strict: t.Strict == nil || *t.Strict}
		if t.Description != "" {
			ft.Description = &t.Description
		}
		if len(ft.Parameters) == 0 {
			ft.Parameters = json.RawMessage("null")
		}
		o.Tools = append(o.Tools, ft)
	}
	return o
}

// usageOf converts the engine's usage.
func usageOf(u llm.Usage) *responseUsage {
	return &responseUsage{InputTokens: u.PromptTokens, OutputTokens: u.CompletionTokens, TotalTokens: u.TotalTokens}
}

// idSuffix is a response id without its "resp_" prefix: the output items'
// ids carry it.
func idSuffix(id string) string { return strings.TrimPrefix(id, "resp_") }
