package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	jsclient "github.com/ssehub/ssehub/clients/js"
	"github.com/ssehub/ssehub/internal/auth/authtest"
)

// TestJSClientRoute fetches /ssehub.js from the hub: the embedded client,
// as a module, with its version, an ETag and 304 on revalidation.
func TestJSClientRoute(t *testing.T) {
	srv := startServer(t, serverOptions{})
	res, err := http.Get(srv.URL + "/ssehub.js")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/javascript; charset=utf-8" ||
		!bytes.Equal(body, jsclient.Source) || !bytes.HasPrefix(body, []byte("/*! @ssehub/client "+jsclient.Version)) {
		t.Fatalf("GET /ssehub.js: %d %q, %d bytes: %.80q", res.StatusCode, res.Header.Get("Content-Type"), len(body), body)
	}
	etag := res.Header.Get("ETag")
	if etag == "" || res.Header.Get("Cache-Control") != jsclient.CacheControl {
		t.Errorf("ETag %q, Cache-Control %q", etag, res.Header.Get("Cache-Control"))
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/ssehub.js", nil)
	req.Header.Set("If-None-Match", etag)
	if res, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotModified {
		t.Errorf("revalidation: %d, want 304", res.StatusCode)
	}
}

// jsEvent is an event as the Node script reports it.
type jsEvent struct{ ID, Type, Data string }

// jsSeen is what one subscription of the Node script saw.
type jsSeen struct {
	Events   []jsEvent
	Statuses []string
	Gaps     []struct{ LastEventID, ResumedAfter string }
	Errors   []struct {
		Status  int
		Message string
	}
	Asked int
}

func (s jsSeen) data() []string {
	var d []string
	for _, e := range s.Events {
		d = append(d, e.Data)
	}
	return d
}

// TestJSClientNode drives the built @ssehub/client from Node 20 against
// the real binary: a token in the Authorization header reaching a private
// update, resuming with lastEventID, a gap once history dropped the id,
// and a refused token stopping the subscription.
func TestJSClientNode(t *testing.T) {
	const secret = "jsclient-test-secret-of-32-bytes!"
	// History in memory (-data-dir ""), trimmed at once to 5 updates a topic.
	p := startBinary(t, "-data-dir", "", "-jwt-key", secret, "-history-events", "5")
	exp := time.Now().Add(time.Hour)
	pub := authtest.Sign(t, jwt.SigningMethodHS256, []byte(secret), authtest.Claims([]string{"*"}, nil, exp))
	sub := authtest.Sign(t, jwt.SigningMethodHS256, []byte(secret), authtest.Claims(nil, []string{"books/{id}"}, exp))
	bad := authtest.Sign(t, jwt.SigningMethodHS256, []byte("another key, not the hub's one!!"), authtest.Claims(nil, []string{"*"}, exp))
	out := nodeScript(t, "jsclient.mjs", p.base, pub, sub, bad)
	var got struct {
		IDs                                 []string
		Authed, Anon, Resumed, Gap, Refused jsSeen
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if len(got.IDs) != 3 {
		t.Fatalf("publish ids: %q", got.IDs)
	}
	if want := []string{`{"n":1}`, "secret", "three"}; !slices.Equal(got.Authed.data(), want) ||
		got.Authed.Events[0].Type != "book" || got.Authed.Events[0].ID != got.IDs[0] || got.Authed.Events[1].Type != "message" {
		t.Errorf("subscriber with a token got %+v; want %q, the first typed book", got.Authed.Events, want)
	}
	if want := []string{`{"n":1}`, "three"}; !slices.Equal(got.Anon.data(), want) {
		t.Errorf("anonymous subscriber got %q; want %q (not the private update)", got.Anon.data(), want)
	}
	if want := []string{"secret", "three"}; !slices.Equal(got.Resumed.data(), want) || len(got.Resumed.Gaps) != 0 {
		t.Errorf("resumed after the first id: %q, gaps %+v; want %q and no gap", got.Resumed.data(), got.Resumed.Gaps, want)
	}
	if len(got.Gap.Gaps) != 1 || got.Gap.Gaps[0].LastEventID != got.IDs[0] || got.Gap.Gaps[0].ResumedAfter != "earliest" {
		t.Errorf("resumed from an evicted id: gaps %+v; want one, after earliest", got.Gap.Gaps)
	}
	if want := []string{"more 3", "more 4", "more 5", "more 6", "more 7"}; !slices.Equal(got.Gap.data(), want) {
		t.Errorf("resumed from an evicted id: %q; want what history kept, %q", got.Gap.data(), want)
	}
	r := got.Refused
	if r.Asked != 2 || len(r.Errors) != 2 || r.Errors[1].Status != http.StatusUnauthorized || !slices.Equal(r.Statuses, []string{"connecting", "closed"}) {
		t.Errorf("refused token: asked %d times, errors %+v, statuses %q; want asked twice, 401, then closed", r.Asked, r.Errors, r.Statuses)
	}
}

// TestJSClientGenerate reads language model answers with @ssehub/client from
// Node 20 against the real binary, whose simulated model writes 20 tokens a
// second: a page that leaves after three chunks and resumes the generation
// by id gets the whole answer exactly once (the snapshot's final text), and
// stopping a generation ends its reading with "stopped".
func TestJSClientGenerate(t *testing.T) {
	p := startBinary(t, "-data-dir", "", "-sim-ttft", "50ms", "-sim-tokens-per-second", "20")
	out := nodeScript(t, "jsllm.mjs", p.base)
	type snapshot struct{ Status, Text, Reason string }
	var got struct {
		LeftWith string
		Reload   struct {
			ID, Started, Reason string
			Before, After       []string
			Usage               struct {
				Total int `json:"total_tokens"`
			}
			Snapshot snapshot
		}
		Stop struct {
			Text, Reason string
			Snapshot     snapshot
		}
		Unknown struct {
			Status  int
			Message string
		}
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	r := got.Reload
	if r.ID == "" || r.Started != r.ID || got.LeftWith != "reload" || len(r.Before) != 3 {
		t.Errorf("first reading: id %q, onStart %q, left with %q after %q; want an id, onStart with it, three chunks, then the abort", r.ID, r.Started, got.LeftWith, r.Before)
	}
	whole := strings.Join(r.After, "")
	if r.Snapshot.Status != "done" || whole != r.Snapshot.Text || !strings.HasPrefix(whole, strings.Join(r.Before, "")) {
		t.Errorf("resumed %q (%d chunks); want exactly the snapshot's final text %q (%s), which starts with the chunks read before, %q",
			whole, len(r.After), r.Snapshot.Text, r.Snapshot.Status, r.Before)
	}
	if len(r.After) < 2 || r.Reason != "length" || r.Usage.Total == 0 {
		t.Errorf("resumed in %d chunks, reason %q, usage %+v; want the text so far then the rest, ended by max_tokens", len(r.After), r.Reason, r.Usage)
	}
	s := got.Stop
	if s.Reason != "stopped" || s.Snapshot.Reason != "stopped" || s.Text != s.Snapshot.Text || s.Text == "" {
		t.Errorf("stopped: read %q, reason %q; snapshot %+v; want the snapshot's text and stopped", s.Text, s.Reason, s.Snapshot)
	}
	if got.Unknown.Status != http.StatusNotFound {
		t.Errorf("an unknown id: %+v, want 404", got.Unknown)
	}
}
