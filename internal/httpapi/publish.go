package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ssehub/ssehub/internal/auth"
	"github.com/ssehub/ssehub/internal/httpio"
	"github.com/ssehub/ssehub/internal/hub"
)

// handlePublish accepts an update as a form (the Mercure protocol) or as
// JSON from a publisher allowed to publish to every one of its topics,
// publishes it and answers its id as text/plain. When the application
// decides publishes (see appDecides), it is asked once the updates are
// read, about their topics.
func (a *API) handlePublish(w http.ResponseWriter, r *http.Request) {
	var claims *auth.Claims
	app, err := a.appDecides(r, true)
	if err == nil && !app {
		claims, err = a.tokenPublisher(r)
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	if !a.admitPublish(w, r) {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, a.cfg.MaxBodyBytes)
	us, batch, err := decodeUpdates(r)
	admit := func(u *hub.Update) error { return a.admitUpdate(claims, u) }
	if err == nil && app {
		// The updates are checked before the app is asked about them, and
		// then only its rights remain to check.
		err = eachUpdate(us, batch, a.checkUpdateAlone)
		if err == nil {
			claims, err = a.appPublisher(r, topicsOf(us))
		}
		admit = func(u *hub.Update) error { return canPublish(claims, u.Topics) }
	}
	if err == nil {
		err = eachUpdate(us, batch, admit)
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	ids, err := a.hub.PublishBatch(r.Context(), us)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	if a.cfg.Notifier != nil {
		a.cfg.Notifier.Published(us)
	}
	if batch {
		httpio.WriteJSON(w, http.StatusOK, map[string][]string{"ids": ids})
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, ids[0])
}

// topicsOf returns the topics of updates, each once, in order.
func topicsOf(us []*hub.Update) []string {
	var out []string
	seen := map[string]bool{}
	for _, u := range us {
		for _, t := range u.Topics {
			if !seen[t] {
				seen[t] = true
				out = append(out, t)
			}
		}
	}
	return out
}

// admitUpdate applies the limits, the update's own checks and the
// publisher's rights.
func (a *API) admitUpdate(claims *auth.Claims, u *hub.Update) error {
	if err := a.checkUpdateAlone(u); err != nil {
		return err
	}
	return canPublish(claims, u.Topics)
}

// checkUpdateAlone applies the limits and the update's own checks.
func (a *API) checkUpdateAlone(u *hub.Update) error {
	if err := a.checkUpdate(u); err != nil {
		return err
	}
	return u.Validate()
}

// eachUpdate checks every update with check, stopping at the first
// refused, whose index in a batch the error names.
func eachUpdate(us []*hub.Update, batch bool, check func(*hub.Update) error) error {
	for i, u := range us {
		if err := check(u); err != nil {
			if batch {
				return atIndex(i, err)
			}
			return err
		}
	}
	return nil
}

// atIndex names the batch element an input error is about.
func atIndex(i int, err error) error {
	var herr *hub.Error
	if errors.As(err, &herr) {
		return &hub.Error{Code: herr.Code, Field: fmt.Sprintf("[%d].%s", i, herr.Field), Err: herr.Err}
	}
	var limit *httpio.Error
	if errors.As(err, &limit) {
		l := *limit
		l.Field = fmt.Sprintf("[%d].%s", i, l.Field)
		return &l
	}
	return err
}

// decodeUpdates reads one update (a form, or a JSON object) or, from a
// JSON array, a batch of them.
func decodeUpdates(r *http.Request) (us []*hub.Update, batch bool, err error) {
	switch ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct {
	case "application/json":
		return decodeJSONUpdates(r)
	case "":
		return nil, false, httpio.BadRequest("Content-Type", "the request has no Content-Type: send the update as a form (application/x-www-form-urlencoded or multipart/form-data) or as JSON (application/json)")
	case "application/x-www-form-urlencoded", "multipart/form-data":
		u, err := decodeFormUpdate(r)
		if err == nil {
			err = checkUTF8(u) // form values may hold any bytes
		}
		return []*hub.Update{u}, false, err
	default:
		return nil, false, httpio.BadRequest("Content-Type", fmt.Sprintf("unsupported content type %q: use application/x-www-form-urlencoded or application/json", ct))
	}
}

// decodeJSONUpdates reads a JSON object or an array of them. httpio.DecodeJSON
// has checked the body is valid UTF-8, and JSON escapes decode to valid
// UTF-8, so the strings need no further check.
func decodeJSONUpdates(r *http.Request) ([]*hub.Update, bool, error) {
	var raw json.RawMessage
	if err := httpio.DecodeJSON(r, &raw, false); err != nil {
		return nil, false, err
	}
	if b := bytes.TrimLeft(raw, " \t\r\n"); len(b) == 0 || b[0] != '[' {
		u, err := parseJSONUpdate(raw)
		return []*hub.Update{u}, false, err
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, true, httpio.BadRequest("body", "malformed JSON array: "+err.Error())
	}
	if len(items) == 0 || len(items) > hub.MaxBatch {
		return nil, true, httpio.BadRequest("body", fmt.Sprintf("a batch holds 1 to %d updates, not %d", hub.MaxBatch, len(items)))
	}
	us := make([]*hub.Update, 0, len(items))
	for i, item := range items {
		u, err := parseJSONUpdate(item)
		if err != nil {
			return nil, true, atIndex(i, err)
		}
		us = append(us, u)
	}
	return us, true, nil
}

func decodeFormUpdate(r *http.Request) (*hub.Update, error) {
	if err := parseForm(r); err != nil {
		return nil, err
	}
	f := r.PostForm
	u := &hub.Update{Topics: f["topic"], Data: f.Get("data"), ID: f.Get("id"), Type: f.Get("type")}
	_, u.Private = f["private"]
	if s := f.Get("retry"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return nil, httpio.BadRequest("retry", "retry must be a non-negative integer of milliseconds")
		}
		u.Retry = n
	}
	return u, nil
}

// parseForm parses the body as a form, telling an oversized body apart.
func parseForm(r *http.Request) error {
	var err error
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "multipart/form-data" {
		err = r.ParseMultipartForm(1 << 20)
	} else {
		err = r.ParseForm()
	}
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return err
	}
	if err != nil && strings.Contains(err.Error(), "number of URL query parameters exceeded") {
		return httpio.BadRequest("body", fmt.Sprintf("too many form fields: at most %d in a request's query and form together", maxFormFields))
	}
	if err != nil {
		return httpio.BadRequest("body", "malformed form: "+err.Error())
	}
	return nil
}

// maxFormFields is Go's limit on the fields of a request's query and form
// (net/url, GODEBUG urlmaxqueryparams).
const maxFormFields = 10000

// jsonUpdate is the JSON form of a publish request.
type jsonUpdate struct {
	Topic   json.RawMessage `json:"topic"`  // a string or a list of strings
	Topics  []string        `json:"topics"` // alias for a list
	Data    json.RawMessage `json:"data"`   // any JSON value
	ID      string          `json:"id"`
	Type    string          `json:"type"`
	Retry   int             `json:"retry"`
	Private bool            `json:"private"`
}

// parseJSONUpdate reads one JSON update object; unknown keys are refused.
func parseJSONUpdate(raw json.RawMessage) (*hub.Update, error) {
	var in jsonUpdate
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return nil, httpio.BadRequest("body", "malformed JSON: "+err.Error())
	}
	topics, err := jsonTopics(in.Topic)
	if err != nil {
		return nil, err
	}
	if in.Retry < 0 {
		return nil, httpio.BadRequest("retry", "retry must be a non-negative integer of milliseconds")
	}
	return &hub.Update{
		Topics: append(topics, in.Topics...), Data: jsonData(in.Data),
		ID: in.ID, Type: in.Type, Retry: in.Retry, Private: in.Private,
	}, nil
}

// jsonTopics accepts "topic" as a string or a list of strings.
func jsonTopics(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		return []string{one}, nil
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, httpio.BadRequest("topic", "topic must be a string or a list of strings")
	}
	return many, nil
}

// jsonData sends a JSON string as its text and any other value as its
// compact JSON text.
func jsonData(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var buf bytes.Buffer
	if json.Compact(&buf, raw) != nil {
		return string(raw)
	}
	return buf.String()
}

// checkUTF8 refuses a form update whose data, id, type or a topic is not
// UTF-8: form values may hold any bytes.
func checkUTF8(u *hub.Update) error {
	fields := [...]struct{ name, val string }{{"data", u.Data}, {"id", u.ID}, {"type", u.Type}}
	for _, f := range fields {
		if !utf8.ValidString(f.val) {
			return httpio.BadRequest(f.name, f.name+" is not valid UTF-8")
		}
	}
	for _, t := range u.Topics {
		if !utf8.ValidString(t) {
			return httpio.BadRequest("topic", "topic is not valid UTF-8")
		}
	}
	return nil
}
