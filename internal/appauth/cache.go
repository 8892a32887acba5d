package appauth

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash"
	"net/http"
	"strings"
	"time"

	"github.com/ssehub/ssehub/internal/auth"
)

// key identifies a request and its credentials: the SHA-256 of the body
// sent to the application and of every header forwarded. Two requests
// share an answer only when the application would see the same call; the
// credentials themselves are never kept.
type key [sha256.Size]byte

// entry is a cached answer.
type entry struct {
	claims *auth.Claims
	err    error // a *Refusal
	until  time.Time
}

// call is a call to the application in flight, which identical requests
// wait for instead of calling again.
type call struct {
	done   chan struct{} // closed once claims and err are set
	claims *auth.Claims
	err    error
}

// field is a header sent on to the application.
type field struct {
	name   string
	values []string
}

// forwarded returns the headers of h sent on: Cookie (as one header, as
// HTTP/1.1 wants, though HTTP/2 splits it), Authorization and the
// configured ones, in that order.
func (c *Client) forwarded(h http.Header) []field {
	var out []field
	if vs := h.Values("Cookie"); len(vs) > 0 {
		out = append(out, field{"Cookie", []string{strings.Join(vs, "; ")}})
	}
	if vs := h.Values("Authorization"); len(vs) > 0 {
		out = append(out, field{"Authorization", vs})
	}
	for _, name := range c.forward {
		if vs := h.Values(name); len(vs) > 0 {
			out = append(out, field{name, vs})
		}
	}
	return out
}

// keyOf returns the key of a call: every part written with its length, so
// that no two different calls write the same bytes.
func keyOf(body []byte, fwd []field) key {
	h := sha256.New()
	write(h, body)
	for _, f := range fwd {
		write(h, []byte(f.name))
		var n [binary.MaxVarintLen64]byte
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(f.values)))])
		for _, v := range f.values {
			write(h, []byte(v))
		}
	}
	var k key
	h.Sum(k[:0])
	return k
}

// write writes b's length, then b.
func write(h hash.Hash, b []byte) {
	var n [binary.MaxVarintLen64]byte
	h.Write(n[:binary.PutUvarint(n[:], uint64(len(b)))])
	h.Write(b)
}

// put caches e under k, first dropping expired answers, then any, when the
// cache is full; called with c.mu held.
func (c *Client) put(k key, e entry) {
	if len(c.entries) >= c.cfg.MaxEntries {
		now := time.Now()
		for k, old := range c.entries {
			if !now.Before(old.until) {
				delete(c.entries, k)
			}
		}
		for k := range c.entries { // in the map's random order
			if len(c.entries) < c.cfg.MaxEntries*7/8 {
				break
			}
			delete(c.entries, k)
		}
	}
	c.entries[k] = e
}

// Entries returns the number of answers cached.
func (c *Client) Entries() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// wireRequest is the JSON body posted to the application.
type wireRequest struct {
	Action   string         `json:"action"`
	Topics   []string       `json:"topics"`
	ClientIP string         `json:"client_ip"`
	Origin   string         `json:"origin"`
	Query    map[string]any `json:"query"` // a string, or an array of strings when repeated
}

// encodeRequest returns the body posted for q. Its encoding is the same
// for the same request (encoding/json sorts the query's names), which
// keyOf relies on.
func encodeRequest(q Request) ([]byte, error) {
	if q.Action != ActionSubscribe && q.Action != ActionPublish {
		return nil, fmt.Errorf("appauth: unknown action %q", q.Action)
	}
	w := wireRequest{Action: q.Action, Topics: q.Topics, ClientIP: q.ClientIP, Origin: q.Origin, Query: map[string]any{}}
	if w.Topics == nil {
		w.Topics = []string{}
	}
	for name, vs := range q.Query {
		switch len(vs) {
		case 0:
		case 1:
			w.Query[name] = vs[0]
		default:
			w.Query[name] = vs
		}
	}
	b, err := json.Marshal(w)
	if err != nil {
		return nil, fmt.Errorf("appauth: encode the request: %w", err)
	}
	return b, nil
}
