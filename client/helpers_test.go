package client_test

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ssehub/ssehub/client"
	"github.com/ssehub/ssehub/internal/app"
)

// TestMain fails the package if any test or example leaves a goroutine
// behind.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// wait bounds every wait for an event; tests never sleep to wait.
const wait = 10 * time.Second

// testConfig is the hub configuration of the tests: history in memory, a
// short reconnection time so that reconnections are quick.
func testConfig() app.Config {
	cfg := app.DefaultConfig()
	cfg.DataDir = ""
	cfg.Retry = 20
	cfg.ShutdownTimeout = 5 * time.Second
	return cfg
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// served is a hub run by app.Serve on a 127.0.0.1 listener.
type served struct {
	app     *app.App
	addr    string
	cancel  context.CancelFunc
	errc    chan error
	stopped bool
}

// serve runs cfg's hub with app.Serve on addr ("127.0.0.1:0" for any
// port). Cleanup stops it if the test did not.
func serve(t *testing.T, cfg app.Config, addr string) *served {
	t.Helper()
	a, err := app.New(cfg, discard())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &served{app: a, addr: ln.Addr().String(), cancel: cancel, errc: make(chan error, 1)}
	go func() { s.errc <- a.Serve(ctx, ln) }()
	t.Cleanup(func() { s.stop(t) })
	return s
}

// url is the hub's endpoint.
func (s *served) url() string { return "http://" + s.addr + "/.well-known/mercure" }

// stop shuts the hub down and waits for Serve to return.
func (s *served) stop(t *testing.T) {
	t.Helper()
	if s.stopped {
		return
	}
	s.stopped = true
	s.cancel()
	select {
	case err := <-s.errc:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(wait):
		t.Fatal("Serve did not return")
	}
}

// wrapped is a hub served by httptest behind a handler the test controls.
type wrapped struct {
	app *app.App
	srv *httptest.Server
}

// serveWrapped serves cfg's hub through wrap on 127.0.0.1.
func serveWrapped(t *testing.T, cfg app.Config, wrap func(http.Handler) http.Handler) *wrapped {
	t.Helper()
	a, err := app.New(cfg, discard())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(wrap(a.Handler()))
	t.Cleanup(func() {
		_ = a.Close(context.Background()) // ends the streams, so that Close returns
		srv.Close()
	})
	return &wrapped{app: a, srv: srv}
}

func (w *wrapped) url() string { return w.srv.URL + "/.well-known/mercure" }

// transport returns a transport whose idle connections are closed when the
// test ends. Create it before the hubs, so that this cleanup runs after
// theirs (cleanups run last registered first).
func transport(t *testing.T) *http.Transport {
	t.Helper()
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

// newClientWith returns a client of hubURL sending through rt, with short
// backoff bounds.
func newClientWith(t *testing.T, hubURL string, rt http.RoundTripper, opts ...client.Option) *client.Client {
	t.Helper()
	opts = append([]client.Option{
		client.WithHTTPClient(&http.Client{Transport: rt}),
		client.WithBackoff(5*time.Millisecond, 200*time.Millisecond),
	}, opts...)
	c, err := client.New(hubURL, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// subscribe subscribes with a subscription living until the test ends,
// failing the test if Subscribe does not return in time.
func subscribe(t *testing.T, c *client.Client, topics []string, opts ...client.SubscribeOption) *client.Subscription {
	t.Helper()
	sub, err := trySubscribe(t, c, topics, opts...)
	if err != nil {
		t.Fatalf("Subscribe %v: %v", topics, err)
	}
	return sub
}

// trySubscribe is subscribe returning Subscribe's error.
func trySubscribe(t *testing.T, c *client.Client, topics []string, opts ...client.SubscribeOption) (*client.Subscription, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	type result struct {
		sub *client.Subscription
		err error
	}
	res := make(chan result, 1)
	go func() {
		sub, err := c.Subscribe(ctx, topics, opts...)
		res <- result{sub, err}
	}()
	select {
	case r := <-res:
		if r.sub != nil {
			t.Cleanup(r.sub.Close)
		}
		return r.sub, r.err
	case <-time.After(wait):
		cancel()
		<-res
		t.Fatalf("Subscribe %v did not return within %v", topics, wait)
	}
	return nil, nil
}

// publish publishes u and returns its id.
func publish(t *testing.T, c *client.Client, u client.Update) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	id, err := c.Publish(ctx, u)
	if err != nil {
		t.Fatalf("Publish %+v: %v", u, err)
	}
	return id
}

// next returns the next event of sub, failing the test after wait.
func next(t *testing.T, sub *client.Subscription) client.Event {
	t.Helper()
	select {
	case ev, ok := <-sub.Events():
		if !ok {
			t.Fatalf("Events closed: %v", sub.Err())
		}
		return ev
	case <-time.After(wait):
		t.Fatalf("no event within %v", wait)
	}
	return client.Event{}
}

// closed waits for sub's channel to close, discarding events.
func closed(t *testing.T, sub *client.Subscription, limit time.Duration) {
	t.Helper()
	deadline := time.After(limit)
	for {
		select {
		case _, ok := <-sub.Events():
			if !ok {
				return
			}
		case <-deadline:
			t.Fatalf("Events not closed within %v", limit)
		}
	}
}

// recorder counts the subscribe requests a hub receives and lets the test
// answer or end them.
type recorder struct {
	mu       sync.Mutex
	gets     int
	answer   func(n int, w http.ResponseWriter) bool // answers request n itself if true
	arrivals chan arrival
}

// arrival is a subscribe request reaching the hub.
type arrival struct {
	n    int
	at   time.Time
	drop context.CancelFunc // ends the stream as if the hub dropped it
}

func newRecorder(answer func(n int, w http.ResponseWriter) bool) *recorder {
	return &recorder{answer: answer, arrivals: make(chan arrival, 64)}
}

func (rec *recorder) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			next.ServeHTTP(w, r)
			return
		}
		rec.mu.Lock()
		rec.gets++
		n := rec.gets
		rec.mu.Unlock()
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		rec.arrivals <- arrival{n: n, at: time.Now(), drop: cancel}
		if rec.answer != nil && rec.answer(n, w) {
			return
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func (rec *recorder) count() int {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.gets
}

// arrived returns the next subscribe request to reach the hub.
func (rec *recorder) arrived(t *testing.T) arrival {
	t.Helper()
	select {
	case a := <-rec.arrivals:
		return a
	case <-time.After(wait):
		t.Fatal("no subscribe request reached the hub")
	}
	return arrival{}
}

// refuse answers with status and an ssehub error body.
func refuse(w http.ResponseWriter, status int, field, retryAfter string) {
	if retryAfter != "" {
		w.Header().Set("Retry-After", retryAfter)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(`{"error":"refused by the test","field":"` + field + `"}`))
}
