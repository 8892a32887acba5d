package httpio

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"unicode/utf8"
)

// WriteJSON answers status with v as JSON, HTML characters unescaped.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// DecodeJSON reads exactly one JSON value from the body into v. The body
// must be valid UTF-8 (encoding/json would silently replace bad bytes);
// strict refuses unknown keys. An oversized body (http.MaxBytesReader)
// returns its *http.MaxBytesError, anything else a BadRequest.
func DecodeJSON(r *http.Request, v any, strict bool) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return err
		}
		return BadRequest("body", "read body: "+err.Error())
	}
	if !utf8.Valid(body) {
		return BadRequest("body", "body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		return BadRequest("body", "malformed JSON: "+err.Error())
	}
	if _, err := dec.Token(); err != io.EOF {
		return BadRequest("body", "malformed JSON: unexpected data after the value")
	}
	return nil
}
