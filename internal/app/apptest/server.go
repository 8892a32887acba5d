// Package apptest starts ssehub's app for the tests of other packages, as
// net/http/httptest starts a server: the whole wiring of package app on a
// loopback listener, with clients that subscribe, publish and read the
// streams. It is imported by tests only.
package apptest

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
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/app"
	"github.com/ssehub/ssehub/internal/sse"
)

// StreamTimeout bounds every stream a test opens, so a missing event fails
// the test instead of hanging it.
const StreamTimeout = 30 * time.Second

// Server is an app served by httptest on 127.0.0.1 with its own client.
type Server struct {
	App    *app.App
	Srv    *httptest.Server
	Client *http.Client
	URL    string

	mu    sync.Mutex
	conns map[string]http.ConnState // by client address
}

// NewServer starts the app configured by DefaultConfig and then mutate.
// Cleanup ends the streams, closes the client's idle connections and the
// server, in that order.
func NewServer(t testing.TB, mutate func(*app.Config)) *Server {
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
	srv.Config = a.Server() // the app's own Server: it takes over HTTP/1.1 streams
	srv.Listener = a.Listener(srv.Listener, srv.Config)
	tr := &http.Transport{MaxIdleConnsPerHost: 512}
	s := &Server{App: a, Srv: srv, Client: &http.Client{Transport: tr}, conns: map[string]http.ConnState{}}
	srv.Config.ConnState = func(c net.Conn, st http.ConnState) {
		s.mu.Lock()
		s.conns[c.RemoteAddr().String()] = st
		s.mu.Unlock()
	}
	srv.Start()
	s.URL = srv.URL
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		srv.Close()
	})
	t.Cleanup(func() { _ = a.Close(context.Background()) })
	return s
}

// WaitFor polls cond until it holds, failing the test after 10 s.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	if err := Poll(10*time.Second, cond); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// Poll checks cond every millisecond until it holds or limit passes.
func Poll(limit time.Duration, cond func() bool) error {
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

// ConnState returns the state of the server's connection from the client
// address addr.
func (s *Server) ConnState(addr net.Addr) (http.ConnState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.conns[addr.String()]
	return st, ok
}

// WaitSubscribers waits until the hub has exactly n subscriptions.
func (s *Server) WaitSubscribers(t testing.TB, n int) {
	t.Helper()
	WaitHub(t, s.App, n)
}

// Stream is an open event stream read with the sse package's parser.
type Stream struct {
	Resp   *http.Response
	Parser *sse.Parser
	cancel context.CancelFunc
}

// OpenStream GETs path (with the given headers) and expects 200.
func (s *Server) OpenStream(t *testing.T, path string, hdr http.Header) *Stream {
	t.Helper()
	st, err := s.Dial(path, hdr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return st
}

// Dial opens a stream without a testing.T, for use from other goroutines.
// The caller closes it.
func (s *Server) Dial(path string, hdr http.Header) (*Stream, error) {
	ctx, cancel := context.WithTimeout(context.Background(), StreamTimeout)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+path, nil)
	if err != nil {
		cancel()
		return nil, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := s.Client.Do(req)
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
	return &Stream{Resp: resp, Parser: sse.NewParser(resp.Body), cancel: cancel}, nil
}

// Close leaves the stream, as a client does by cancelling its request.
func (st *Stream) Close() {
	st.cancel()
	st.Resp.Body.Close()
}

// Next returns the next event, failing the test on any error.
func (st *Stream) Next(t *testing.T) sse.Event {
	t.Helper()
	ev, err := st.Parser.Next()
	if err != nil {
		t.Fatalf("reading event: %v", err)
	}
	return ev
}

// Read returns the next n events.
func (st *Stream) Read(n int) ([]sse.Event, error) {
	out := make([]sse.Event, 0, n)
	for len(out) < n {
		ev, err := st.Parser.Next()
		if err != nil {
			return out, fmt.Errorf("after %d of %d events: %w", len(out), n, err)
		}
		out = append(out, ev)
	}
	return out, nil
}

// PublishForm POSTs a form to the Mercure endpoint and returns the answer.
func (s *Server) PublishForm(ctx context.Context, path string, form url.Values) (int, string, error) {
	return s.Post(ctx, path, "application/x-www-form-urlencoded", []byte(form.Encode()))
}

// PublishJSON POSTs v as JSON and returns the answer.
func (s *Server) PublishJSON(ctx context.Context, path string, v any) (int, string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return 0, "", err
	}
	return s.Post(ctx, path, "application/json", b)
}

// Post sends body with the content type and returns status and body.
func (s *Server) Post(ctx context.Context, path, ctype string, body []byte) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+path, bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := s.Client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// Publish sends one update to topic as a form and returns its id.
func (s *Server) Publish(t *testing.T, topic, data string, extra ...string) string {
	t.Helper()
	form := url.Values{"topic": {topic}, "data": {data}}
	for i := 0; i+1 < len(extra); i += 2 {
		form.Add(extra[i], extra[i+1])
	}
	status, body, err := s.PublishForm(context.Background(), "/.well-known/mercure", form)
	if err != nil || status != http.StatusOK {
		t.Fatalf("Publish %q to %s: status %d, body %q, err %v", data, topic, status, body, err)
	}
	return body
}

// Query builds "path?k=v&…" from pairs.
func Query(path string, pairs ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(pairs); i += 2 {
		q.Add(pairs[i], pairs[i+1])
	}
	return path + "?" + q.Encode()
}

// IDs returns the ids of events.
func IDs(evs []sse.Event) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = ev.ID
	}
	return out
}

// DiffIDs describes the first difference between two id sequences.
func DiffIDs(got, want []string) string {
	for i := 0; i < len(got) && i < len(want); i++ {
		if got[i] != want[i] {
			return fmt.Sprintf("at %d: got %q, want %q (got %d IDs, want %d)", i, got[i], want[i], len(got), len(want))
		}
	}
	if len(got) != len(want) {
		return fmt.Sprintf("got %d IDs, want %d", len(got), len(want))
	}
	return ""
}

// Header builds an http.Header from pairs.
func Header(pairs ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(pairs); i += 2 {
		h.Set(pairs[i], pairs[i+1])
	}
	return h
}

// ErrorBody decodes an error answer, failing unless it is a JSON object
// with an "error" string.
func ErrorBody(t *testing.T, ctype, body string) map[string]any {
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

// StalledSubscriber opens a stream over a raw connection with a tiny
// receive buffer and never reads from it.
func StalledSubscriber(t *testing.T, s *Server, path string) net.Conn {
	t.Helper()
	c := RawSubscriber(t, s, path)
	if err := c.(*net.TCPConn).SetReadBuffer(1024); err != nil {
		t.Fatal(err)
	}
	return c
}

// RawSubscriber opens a stream over a raw connection, reading nothing.
func RawSubscriber(t *testing.T, s *Server, path string) net.Conn {
	t.Helper()
	return DialSubscriber(t, s, path, net.Dialer{Timeout: 5 * time.Second})
}

// DialSubscriber opens a stream over a raw connection that d dials.
func DialSubscriber(t *testing.T, s *Server, path string, d net.Dialer) net.Conn {
	t.Helper()
	c, err := d.Dial("tcp", s.Srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", path, s.Srv.Listener.Addr()); err != nil {
		t.Fatal(err)
	}
	return c
}

// Overflow publishes large updates to topic until the hub has cut a
// subscriber off, then extra more. It returns when each was sent.
func Overflow(t *testing.T, s *Server, topic string, extra int) (sent []time.Time) {
	t.Helper()
	const (
		size  = 16 << 10
		limit = 5000
	)
	pad := strings.Repeat("x", size)
	cutAt := -1
	for i := 0; cutAt < 0 || i < cutAt+extra; i++ {
		if i == limit {
			t.Fatalf("no subscriber cut off after %d updates of %d bytes", limit, size)
		}
		sent = append(sent, time.Now())
		s.Publish(t, topic, strconv.Itoa(i)+":"+pad)
		if cutAt < 0 && s.App.Hub().Stats().SlowCut > 0 {
			cutAt = i
		}
	}
	return sent
}
