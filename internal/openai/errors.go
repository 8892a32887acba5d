package openai

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	sdk "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/packages/ssestream"

	"github.com/ssehub/ssehub/internal/llm"
)

// errNoFinish is the error of a stream that ended before a finish reason.
var errNoFinish = errors.New("stream ended without a finish reason")

// failure describes a failed upstream request.
type failure struct {
	err     error
	res     *http.Response // the upstream's response, if one came
	started bool           // the upstream had begun to stream its answer
	op      string         // what was asked, for the log
	model   string
}

// fail turns f into the error Stream or Models returns and logs it: ctx's
// own error when the caller gave up, else an *llm.Error.
func (m *Model) fail(ctx, rctx context.Context, f failure) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	e := m.classify(rctx, f)
	m.warn(f.op, f.model, e)
	return e
}

// warn logs a failed request.
func (m *Model) warn(op, model string, e *llm.Error) {
	m.log.Warn("upstream request failed", "op", op, "base_url", m.cfg.BaseURL, "model", model,
		"status", e.Status, "kind", string(e.Kind), "message", e.Message)
}

// classify finds the kind, status and message of a failure.
func (m *Model) classify(rctx context.Context, f failure) *llm.Error {
	switch cause := context.Cause(rctx); {
	case errors.Is(cause, errIdle):
		return &llm.Error{Kind: llm.KindTimeout, Message: fmt.Sprintf("the upstream sent nothing for %v", m.cfg.IdleTimeout), Err: f.err}
	case errors.Is(cause, errTimeout):
		return &llm.Error{Kind: llm.KindTimeout, Message: fmt.Sprintf("the upstream did not finish within %v", m.cfg.Timeout), Err: f.err}
	}
	var apiErr *sdk.Error
	if errors.As(f.err, &apiErr) {
		code, msg := apiErr.Code, apiErr.Message
		if msg == "" && apiErr.Response != nil { // not OpenAI's error JSON
			code, msg = bodyMessage(apiErr.Response)
		}
		return statusError(apiErr.StatusCode, code, msg, f.err)
	}
	if f.res != nil && f.res.StatusCode >= 400 { // an error body the SDK could not parse
		code, msg := bodyMessage(f.res)
		return statusError(f.res.StatusCode, code, msg, f.err)
	}
	var streamErr *ssestream.StreamError
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(f.err, &streamErr):
		_, msg := errorMessage(streamErr.Event.Data)
		return &llm.Error{Kind: llm.KindUpstream, Message: joinMessage("the upstream reported an error mid-stream", msg), Err: f.err}
	case errors.As(f.err, &syntaxErr), errors.As(f.err, &typeErr):
		return &llm.Error{Kind: llm.KindUpstream, Message: "the upstream sent a malformed chunk", Err: f.err}
	case f.started:
		return &llm.Error{Kind: llm.KindInterrupted, Message: "the upstream's stream ended before the answer was complete", Err: f.err}
	}
	return &llm.Error{Kind: llm.KindUpstream, Message: "cannot reach the upstream", Err: f.err}
}

// statusError is the error of an upstream's HTTP error status.
func statusError(status int, code, upstreamMsg string, err error) *llm.Error {
	kind, msg := llm.KindInvalid, "the upstream rejected the request"
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		kind, msg = llm.KindAuth, "the upstream refused the API key"
	case status == http.StatusTooManyRequests:
		kind, msg = llm.KindRateLimit, "the upstream is limiting requests"
	case status == http.StatusRequestTimeout:
		kind, msg = llm.KindTimeout, "the upstream timed out"
	case modelNotFound(status, code, upstreamMsg):
		kind, msg = llm.KindNotFound, "the upstream does not serve this model"
	case status >= 500 || status == http.StatusPaymentRequired || status == http.StatusConflict:
		kind, msg = llm.KindUpstream, "the upstream failed"
	}
	return &llm.Error{Kind: kind, Status: status, Message: joinMessage(msg, upstreamMsg), Err: err}
}

// modelNotFound reports whether a 400 or 404 says the model does not exist:
// OpenAI sends code model_not_found, others only say so in words
// ("Model Not Exist", "model \"x\" not found", "The model `x` does not exist").
func modelNotFound(status int, code, msg string) bool {
	if status != http.StatusNotFound && status != http.StatusBadRequest {
		return false
	}
	if code == "model_not_found" {
		return true
	}
	msg = strings.ToLower(msg)
	return strings.Contains(msg, "model") &&
		(strings.Contains(msg, "not found") || strings.Contains(msg, "not exist") || strings.Contains(msg, "does not exist"))
}

// bodyMessage reads the code and message of an error body that is not
// OpenAI's; the SDK leaves the body readable.
func bodyMessage(res *http.Response) (code, msg string) {
	if res.Body == nil {
		return "", ""
	}
	b, _ := io.ReadAll(io.LimitReader(res.Body, 4<<10))
	return errorMessage(b)
}

// errorMessage finds the message in an error body: OpenAI's
// {"error":{"message","code"}}, {"error":"..."}, vLLM's {"message"},
// FastAPI's {"detail"}, or the text itself.
func errorMessage(body []byte) (code, msg string) {
	var v struct {
		Error   json.RawMessage `json:"error"`
		Message string          `json:"message"`
		Detail  any             `json:"detail"`
	}
	if json.Unmarshal(body, &v) != nil {
		return "", truncate(strings.TrimSpace(string(body)))
	}
	var inner struct {
		Message string `json:"message"`
		Code    any    `json:"code"`
	}
	var s string
	switch {
	case json.Unmarshal(v.Error, &inner) == nil && inner.Message != "":
		if c, ok := inner.Code.(string); ok {
			code = c
		}
		return code, truncate(inner.Message)
	case json.Unmarshal(v.Error, &s) == nil && s != "":
		return "", truncate(s)
	case v.Message != "":
		return "", truncate(v.Message)
	case v.Detail != nil:
		return "", truncate(fmt.Sprint(v.Detail))
	}
	return "", ""
}

func truncate(s string) string {
	const limit = 300
	if r := []rune(s); len(r) > limit {
		return string(r[:limit]) + "…"
	}
	return s
}

func joinMessage(ours, theirs string) string {
	if theirs == "" {
		return ours
	}
	return ours + ": " + theirs
}
