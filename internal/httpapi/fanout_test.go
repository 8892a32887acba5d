package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ssehub/ssehub/internal/app/apptest"
)

// TestFanOutOrder subscribes many clients through every subscribe route and
// kind of selector, publishes a mix of form and JSON updates, and checks that
// each client gets exactly the updates it selected, once each, in publish
// order, with the ids the publish answers returned.
func TestFanOutOrder(t *testing.T) {
	t.Parallel()
	const (
		book1  = "https://example.com/books/1"
		book2  = "https://example.com/books/2"
		other  = "urn:example:other"
		events = 500
	)
	isBook := func(tp string) bool { return strings.HasPrefix(tp, "https://example.com/books/") }
	classes := []struct {
		name  string
		path  string
		count int
		match func(topics []string) bool
	}{
		{"mercure exact", apptest.Query("/.well-known/mercure", "topic", book1), 200, func(ts []string) bool { return slices.Contains(ts, book1) }},
		{"events exact", apptest.Query("/events", "topic", book1), 5, func(ts []string) bool { return slices.Contains(ts, book1) }},
		{"wildcard", apptest.Query("/.well-known/mercure", "topic", "*"), 3, func([]string) bool { return true }},
		{"template", apptest.Query("/events", "topic", "https://example.com/books/{id}"), 3, func(ts []string) bool { return slices.ContainsFunc(ts, isBook) }},
		{"two exact topics", apptest.Query("/events", "topic", book1, "topic", book2), 3, func(ts []string) bool {
			return slices.Contains(ts, book1) || slices.Contains(ts, book2)
		}},
		{"exact and template", apptest.Query("/.well-known/mercure", "topic", book1, "topic", "https://example.com/books/{id}"), 3, func(ts []string) bool {
			return slices.ContainsFunc(ts, isBook)
		}},
	}
	s := newServer(t, nil)

	total := 0
	type sub struct {
		class int
		st    *apptest.Stream
	}
	var subs []sub
	for ci, c := range classes {
		for range c.count {
			subs = append(subs, sub{ci, s.OpenStream(t, c.path, nil)})
		}
		total += c.count
	}
	s.WaitSubscribers(t, total)

	// Every update goes to book1, so all classes share the last one; every
	// fifth also to book2 (two matching topics, delivered once); every
	// seventh has two lines of data and a type; after every ninth comes one
	// that only the wildcard wants.
	var pubs []published
	ctx := context.Background()
	for i := range events {
		p := published{Topics: []string{book1}, Data: fmt.Sprintf("update %d", i)}
		if i%5 == 0 {
			p.Topics = append(p.Topics, book2)
		}
		if i%7 == 0 {
			p.Data += "\nsecond line"
			p.Type = "change"
		}
		pubs = append(pubs, s.mustPublishMixed(t, ctx, i, p))
		if i%9 == 0 && i != events-1 {
			pubs = append(pubs, s.mustPublishMixed(t, ctx, i+1, published{Topics: []string{other}, Data: "elsewhere"}))
		}
	}

	var wg sync.WaitGroup
	errs := make(chan error, len(subs))
	for i, sb := range subs {
		var want []published
		for _, p := range pubs {
			if classes[sb.class].match(p.Topics) {
				want = append(want, p)
			}
		}
		wg.Go(func() {
			got, err := sb.st.Read(len(want))
			if err != nil {
				errs <- fmt.Errorf("%s subscriber %d: %w", classes[sb.class].name, i, err)
				return
			}
			for j, ev := range got {
				w := want[j]
				if ev.ID != w.ID || ev.Data != w.Data || ev.Type != w.Type {
					errs <- fmt.Errorf("%s subscriber %d, event %d: got {id %q type %q data %q}, want {id %q type %q data %q}",
						classes[sb.class].name, i, j, ev.ID, ev.Type, ev.Data, w.ID, w.Type, w.Data)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	n := 0
	for err := range errs {
		if n++; n <= 5 {
			t.Error(err)
		}
	}
	if n > 5 {
		t.Errorf("... and %d more subscribers failed", n-5)
	}
	if got := s.App.Hub().Stats().Published; got != uint64(len(pubs)) {
		t.Errorf("Stats().Published = %d, want %d", got, len(pubs))
	}
}

// mustPublishMixed publishes p as a form to the Mercure endpoint when i is
// even, else as JSON to /publish, and returns p with the answered id.
func (s *server) mustPublishMixed(t *testing.T, ctx context.Context, i int, p published) published {
	t.Helper()
	var (
		status int
		body   string
		err    error
	)
	if i%2 == 0 {
		form := url.Values{"topic": p.Topics, "data": {p.Data}}
		if p.Type != "" {
			form.Set("type", p.Type)
		}
		status, body, err = s.PublishForm(ctx, "/.well-known/mercure", form)
	} else {
		status, body, err = s.PublishJSON(ctx, "/publish", map[string]any{"topic": p.Topics, "data": p.Data, "type": p.Type})
	}
	if err != nil || status != http.StatusOK || body == "" {
		t.Fatalf("publish %d: status %d, body %q, err %v", i, status, body, err)
	}
	p.ID = body
	return p
}
