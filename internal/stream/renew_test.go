package stream_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/app/apptest"
	"github.com/ssehub/ssehub/internal/hub"
	"github.com/ssehub/ssehub/internal/sse"
	"github.com/ssehub/ssehub/internal/stream"
)

// renewal is one answer a test gives the stream's Renew.
type renewal struct {
	at  time.Time
	err error
}

// renewServer serves streams of topic "t" whose rights expire after a
// moment and are renewed by asking the test: each call of Renew is
// announced on calls and answered from answers; a call whose stream ends
// first is announced on cancelled.
type renewServer struct {
	hub       *hub.Hub
	url       string
	calls     chan struct{}
	answers   chan renewal
	cancelled chan struct{}
}

// expiresIn is how long a stream's first rights last.
const expiresIn = 20 * time.Millisecond

func newRenewServer(t *testing.T, takeOver bool) *renewServer {
	t.Helper()
	rs := &renewServer{hub: hub.New(hub.Config{}), calls: make(chan struct{}, 1),
		answers: make(chan renewal), cancelled: make(chan struct{}, 1)}
	e := stream.New(stream.Config{Heartbeat: time.Hour})
	renew := func(ctx context.Context) (time.Time, error) {
		rs.calls <- struct{}{}
		select {
		case a := <-rs.answers:
			return a.at, a.err
		case <-ctx.Done():
			rs.cancelled <- struct{}{}
			return time.Time{}, ctx.Err()
		}
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sub, err := rs.hub.Subscribe(r.Context(), hub.SubscribeOptions{Topics: []string{"t"}})
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		e.Serve(w, r, stream.Options{Sub: sub, Expiry: time.Now().Add(expiresIn), Renew: renew})
	}))
	if takeOver {
		e.TakeOver(srv.Config)
	}
	srv.Start()
	rs.url = srv.URL
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := e.Close(ctx); err != nil {
			t.Error(err)
		}
		srv.Close()
		rs.hub.Close()
	})
	return rs
}

// open opens a stream and returns its parser and the function that leaves it.
func (rs *renewServer) open(t *testing.T) (*sse.Parser, func()) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, rs.url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	leave := func() { cancel(); resp.Body.Close() }
	t.Cleanup(leave)
	return sse.NewParser(resp.Body), leave
}

// publish publishes data to "t" and checks the stream gets it.
func (rs *renewServer) publish(t *testing.T, p *sse.Parser, data string) {
	t.Helper()
	if _, err := rs.hub.Publish(context.Background(), &hub.Update{Topics: []string{"t"}, Data: data}); err != nil {
		t.Fatal(err)
	}
	ev, err := p.Next()
	if err != nil || ev.Data != data {
		t.Fatalf("after publishing %q: got %+v, %v", data, ev, err)
	}
}

// wait waits for a signal on c.
func wait(t *testing.T, c <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-c:
	case <-time.After(10 * time.Second):
		t.Fatalf("no %s in 10 s", what)
	}
}

// TestRenew checks Options.Renew on both paths of the engine: the stream
// goes on, delivering, while Renew runs; a new expiry continues it and
// Renew is asked again then; an error, or an expiry already past, ends it
// cleanly; a client leaving cancels a Renew under way.
func TestRenew(t *testing.T) {
	for _, takeOver := range []bool{true, false} {
		t.Run(fmt.Sprintf("takeOver=%v", takeOver), func(t *testing.T) {
			t.Run("renewed, then refused", func(t *testing.T) {
				rs := newRenewServer(t, takeOver)
				p, _ := rs.open(t)
				wait(t, rs.calls, "renewal")
				rs.publish(t, p, "during the renewal")
				rs.answers <- renewal{at: time.Now().Add(expiresIn)}
				wait(t, rs.calls, "second renewal")
				rs.publish(t, p, "during the second renewal")
				rs.answers <- renewal{err: errors.New("rights withdrawn")}
				if ev, err := p.Next(); err != io.EOF {
					t.Fatalf("after the refusal: %+v, %v; want the stream's clean end", ev, err)
				}
				waitSubscribers(t, rs.hub, 0)
			})
			t.Run("renewed with an expiry already past", func(t *testing.T) {
				rs := newRenewServer(t, takeOver)
				p, _ := rs.open(t)
				wait(t, rs.calls, "renewal")
				rs.answers <- renewal{at: time.Now().Add(-time.Second)}
				if ev, err := p.Next(); err != io.EOF {
					t.Fatalf("after a past expiry: %+v, %v; want the stream's clean end", ev, err)
				}
			})
			t.Run("renewed for good", func(t *testing.T) {
				rs := newRenewServer(t, takeOver)
				p, _ := rs.open(t)
				wait(t, rs.calls, "renewal")
				rs.answers <- renewal{}
				rs.publish(t, p, "after")
			})
			t.Run("client leaves during the renewal", func(t *testing.T) {
				rs := newRenewServer(t, takeOver)
				_, leave := rs.open(t)
				wait(t, rs.calls, "renewal")
				leave()
				wait(t, rs.cancelled, "cancelled renewal")
				waitSubscribers(t, rs.hub, 0)
			})
		})
	}
}

// waitSubscribers waits until h has n subscribers.
func waitSubscribers(t *testing.T, h *hub.Hub, n int) {
	t.Helper()
	apptest.WaitFor(t, fmt.Sprintf("%d subscribers", n), func() bool { return h.Stats().Subscribers == n })
}
