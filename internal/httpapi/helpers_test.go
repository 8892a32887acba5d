package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ssehub/ssehub/internal/app"
	"github.com/ssehub/ssehub/internal/sse"
)

// TestMain fails the package if any test leaves a goroutine behind.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// streamTimeout bounds every stream a test opens, so a missing event fails
// the test instead of hanging it.
const streamTimeout = 30 * time.Second

// server is an app served by httptest on 127.0.0.1 with its own client.
type server struct {
	app    *app.App
	srv    *httptest.Server
	client *http.Client
	url    string

	mu    sync.Mutex
	conns map[string]http.ConnState // by client address
}

// newServer starts the app configured by DefaultConfig and then mutate.
// Cleanup ends the streams, closes the client's idle connections and the
// server, in that order.
func newServer(t testing.TB, mutate func(*app.Config)) *server {
	t.Helper()
	cfg := app.DefaultConfig()
	cfg.DataDir = "" // memory history: these tests check its immediate bounds
	if mutate != nil {
		mutate(&cfg)
	}
	a, err := app.New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	srv := httptest.NewUnstartedServer(nil)
	srv.Config = a.Server() // the app's own server: it takes over HTTP/1.1 streams
	tr := &http.Transport{MaxIdleConnsPerHost: 512}
	s := &server{app: a, srv: srv, client: &http.Client{Transport: tr}, conns: map[string]http.ConnState{}}
	srv.Config.ConnState = func(c net.Conn, st http.ConnState) {
		s.mu.Lock()
		s.conns[c.RemoteAddr().String()] = st
		s.mu.Unlock()
	}
	srv.Start()
	s.url = srv.URL
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		srv.Close()
	})
	t.Cleanup(func() { _ = a.Close(context.Background()) })
	return s
}

// waitFor polls cond until it holds, failing the test after 10 s.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	if err := poll(10*time.Second, cond); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// poll checks cond every millisecond until it holds or limit passes.
func poll(limit time.Duration, cond func() bool) error {
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline.C:
			return fmt.Errorf("still false after %v", limit)
		case <-tick.C:
		}
	}
	return nil
}

// connState returns the state of the server's connection from the client
// address addr.
func (s *server) connState(addr net.Addr) (http.ConnState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.conns[addr.String()]
	return st, ok
}

// waitSubscribers waits until the hub has exactly n subscriptions.
func (s *server) waitSubscribers(t testing.TB, n int) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d subscribers", n), func() bool { return s.app.Hub().Stats().Subscribers == n })
}

// stream is an open event stream read with the sse package's parser.
type stream struct {
	resp   *http.Response
	p      *sse.Parser
	cancel context.CancelFunc
}

// openStream GETs path (with the given headers) and expects 200.
func (s *server) openStream(t *testing.T, path string, hdr http.Header) *stream {
	t.Helper()
	st, err := s.dial(path, hdr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.close)
	return st
}

// dial opens a stream without a testing.T, for use from other goroutines.
// The caller closes it.
func (s *server) dial(path string, hdr http.Header) (*stream, error) {
	ctx, cancel := context.WithTimeout(context.Background(), streamTimeout)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url+path, nil)
	if err != nil {
		cancel()
		return nil, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := s.client.Do(req)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		return nil, fmt.Errorf("GET %s: status %d: %s", path, resp.StatusCode, b)
	}
	return &stream{resp: resp, p: sse.NewParser(resp.Body), cancel: cancel}, nil
}

// close leaves the stream, as a client does by cancelling its request.
func (st *stream) close() {
	st.cancel()
	st.resp.Body.Close()
}

// next returns the next event, failing the test on any error.
func (st *stream) next(t *testing.T) sse.Event {
	t.Helper()
	ev, err := st.p.Next()
	if err != nil {
		t.Fatalf("reading event: %v", err)
	}
	return ev
}

// read returns the next n events.
func (st *stream) read(n int) ([]sse.Event, error) {
	out := make([]sse.Event, 0, n)
	for len(out) < n {
		ev, err := st.p.Next()
		if err != nil {
			return out, fmt.Errorf("after %d of %d events: %w", len(out), n, err)
		}
		out = append(out, ev)
	}
	return out, nil
}

// published is what a publish request sent and the id the hub answered.
type published struct {
	ID     string
	Topics []string
	Data   string
	Type   string
}

// publishForm POSTs a form to the Mercure endpoint and returns the answer.
func (s *server) publishForm(ctx context.Context, path string, form url.Values) (int, string, error) {
	return s.post(ctx, path, "application/x-www-form-urlencoded", []byte(form.Encode()))
}

// publishJSON POSTs v as JSON and returns the answer.
func (s *server) publishJSON(ctx context.Context, path string, v any) (int, string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return 0, "", err
	}
	return s.post(ctx, path, "application/json", b)
}

// post sends body with the content type and returns status and body.
func (s *server) post(ctx context.Context, path, ctype string, body []byte) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url+path, bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// publish sends one update to topic as a form and returns its id.
func (s *server) publish(t *testing.T, topic, data string, extra ...string) string {
	t.Helper()
	form := url.Values{"topic": {topic}, "data": {data}}
	for i := 0; i+1 < len(extra); i += 2 {
		form.Add(extra[i], extra[i+1])
	}
	status, body, err := s.publishForm(context.Background(), "/.well-known/mercure", form)
	if err != nil || status != http.StatusOK {
		t.Fatalf("publish %q to %s: status %d, body %q, err %v", data, topic, status, body, err)
	}
	return body
}

// query builds "path?k=v&…" from pairs.
func query(path string, pairs ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(pairs); i += 2 {
		q.Add(pairs[i], pairs[i+1])
	}
	return path + "?" + q.Encode()
}

// ids returns the ids of events.
func ids(evs []sse.Event) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = ev.ID
	}
	return out
}

// diffIDs describes the first difference between two id sequences.
func diffIDs(got, want []string) string {
	for i := 0; i < len(got) && i < len(want); i++ {
		if got[i] != want[i] {
			return fmt.Sprintf("at %d: got %q, want %q (got %d ids, want %d)", i, got[i], want[i], len(got), len(want))
		}
	}
	if len(got) != len(want) {
		return fmt.Sprintf("got %d ids, want %d", len(got), len(want))
	}
	return ""
}

// header builds an http.Header from pairs.
func header(pairs ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(pairs); i += 2 {
		h.Set(pairs[i], pairs[i+1])
	}
	return h
}

// errorBody decodes an error answer, failing unless it is a JSON object
// with an "error" string.
func errorBody(t *testing.T, ctype, body string) map[string]any {
	t.Helper()
	if !strings.HasPrefix(ctype, "application/json") {
		t.Errorf("error Content-Type = %q, want application/json", ctype)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("error body %q is not a JSON object: %v", body, err)
	}
	if msg, ok := m["error"].(string); !ok || msg == "" {
		t.Errorf("error body %q has no \"error\" string", body)
	}
	return m
}
