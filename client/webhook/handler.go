package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// maxRead bounds what Handler reads of a request before its signature is
// checked: the hub's batches stay under MaxBodyBytes, unless one event
// alone is larger, and no event is near this.
const maxRead = 4 * MaxBodyBytes

// Handler returns the handler of the URL the hub posts its webhooks to
// (-webhook-url). It answers 405 to anything but POST, 413 to a body over
// 4 MiB, 401 to a request whose Ssehub-Signature is missing, wrong for
// secret or older than DefaultTolerance, and 400 to a body that is not a
// batch; otherwise it calls handle with the batch's events, oldest first,
// and answers 204, or 500 with handle's error, which makes the hub send
// the batch again later. The hub sends each event at least once: handle
// must ignore an Event.ID it has seen. A Handler is safe for concurrent
// use; the hub sends one request at a time.
func Handler(secret []byte, handle func(ctx context.Context, events []Event) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "the hub's webhooks are POSTed", http.StatusMethodNotAllowed)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, maxRead+1))
		if err != nil {
			http.Error(w, "reading the body: "+err.Error(), http.StatusBadRequest)
			return
		}
		if len(body) > maxRead {
			http.Error(w, fmt.Sprintf("body over %d bytes", maxRead), http.StatusRequestEntityTooLarge)
			return
		}
		if err := Verify(secret, body, r.Header.Get(SignatureHeader), time.Now(), DefaultTolerance); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		events, err := decode(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if err := handle(r.Context(), events); err != nil {
			http.Error(w, "handling the events: "+err.Error(), http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

var errNotBatch = errors.New(`the body is not a batch: want {"events": [...]}`)

// decode reads a batch's events.
func decode(body []byte) ([]Event, error) {
	var b struct {
		Events *[]Event `json:"events"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		return nil, fmt.Errorf("%w: %w", errNotBatch, err)
	}
	if b.Events == nil {
		return nil, errNotBatch
	}
	return *b.Events, nil
}
