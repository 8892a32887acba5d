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
	"unicode/utf8"

	"github.com/ssehub/ssehub/internal/hub"
)

// handlePublish accepts an update as a form (the Mercure protocol) or as
// JSON from a publisher allowed to publish to every one of its topics,
// publishes it and answers its id as text/plain.
func (a *API) handlePublish(w http.ResponseWriter, r *http.Request) {
	claims, err := a.publisher(r)
	if err != nil {
		writeErr(w, err)
		return
	}
	if !a.admitPublish(w, r) {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, a.cfg.MaxBodyBytes)
	u, err := decodeUpdate(r)
	if err == nil {
		err = a.checkUpdate(u)
	}
	if err == nil {
		err = u.Validate()
	}
	if err == nil {
		err = canPublish(claims, u.Topics)
	}
	if err != nil {
		writeErr(w, err)
		return
	}
	id, err := a.hub.Publish(r.Context(), u)
	if err != nil {
		writeErr(w, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, id)
}

// decodeUpdate reads an update from a form or JSON body.
func decodeUpdate(r *http.Request) (*hub.Update, error) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var (
		u   *hub.Update
		err error
	)
	switch ct {
	case "application/json":
		u, err = decodeJSONUpdate(r)
	case "application/x-www-form-urlencoded", "multipart/form-data", "":
		u, err = decodeFormUpdate(r)
	default:
		return nil, badRequest("Content-Type", fmt.Sprintf("unsupported content type %q: use application/x-www-form-urlencoded or application/json", ct))
	}
	if err != nil {
		return nil, err
	}
	return u, checkUTF8(u)
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
			return nil, badRequest("retry", "retry must be a non-negative integer of milliseconds")
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
	if err != nil {
		return badRequest("body", "malformed form: "+err.Error())
	}
	return nil
}

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

func decodeJSONUpdate(r *http.Request) (*hub.Update, error) {
	var in jsonUpdate
	if err := decodeJSON(r, &in, true); err != nil {
		return nil, err
	}
	topics, err := jsonTopics(in.Topic)
	if err != nil {
		return nil, err
	}
	if in.Retry < 0 {
		return nil, badRequest("retry", "retry must be a non-negative integer of milliseconds")
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
		return nil, badRequest("topic", "topic must be a string or a list of strings")
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

func checkUTF8(u *hub.Update) error {
	fields := [...]struct{ name, val string }{{"data", u.Data}, {"id", u.ID}, {"type", u.Type}}
	for _, f := range fields {
		if !utf8.ValidString(f.val) {
			return badRequest(f.name, f.name+" is not valid UTF-8")
		}
	}
	for _, t := range u.Topics {
		if !utf8.ValidString(t) {
			return badRequest("topic", "topic is not valid UTF-8")
		}
	}
	return nil
}
