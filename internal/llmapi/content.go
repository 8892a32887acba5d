package llmapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// partsText reads a message's content as OpenAI's APIs send it: a string,
// a list of text parts of the given types (Chat Completions: "text"; the
// Responses API: "input_text", "output_text"), or null or absent for none.
func partsText(raw json.RawMessage, types ...string) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, nil
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(raw, &parts); err != nil {
		return "", errors.New("must be a string or a list of text parts")
	}
	var sb strings.Builder
	for _, p := range parts {
		if !slices.Contains(types, p.Type) {
			return "", fmt.Errorf("parts of type %q are not supported (use %s)", p.Type, strings.Join(types, " or "))
		}
		sb.WriteString(p.Text)
	}
	return sb.String(), nil
}

// writeStreamHead answers 200 with the headers of an event stream that no
// proxy buffers, and extra header pairs (name, value).
func writeStreamHead(w http.ResponseWriter, extra ...string) {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	for i := 0; i+1 < len(extra); i += 2 {
		h.Set(extra[i], extra[i+1])
	}
	w.WriteHeader(http.StatusOK)
}
