package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/app"
	"github.com/ssehub/ssehub/internal/app/apptest"
	"github.com/ssehub/ssehub/internal/auth/authtest"
	"github.com/ssehub/ssehub/internal/subscriptions"
)

// watchAll is the topic selector of every subscription update, and the
// mercure.subscribe selector that opens the whole web API.
const watchAll = subscriptions.Prefix + "{/topic}{/subscriber}"

// withSubscriptions turns the active subscriptions on.
func withSubscriptions(c *app.Config) { c.Subscriptions = true }

// announced is a subscription update as a subscriber receives it.
type announced struct {
	eventID string
	topic   string // the update's id field, which is its topic
	doc     subscriptions.Doc
}

// nextAnnounced reads st until the next subscription update whose
// subscriber keep accepts.
func nextAnnounced(t *testing.T, st *apptest.Stream, keep func(subscriptions.Doc) bool) announced {
	t.Helper()
	for {
		ev := st.Next(t)
		var d subscriptions.Doc
		if err := json.Unmarshal([]byte(ev.Data), &d); err != nil {
			t.Fatalf("subscription update %q: %v", ev.Data, err)
		}
		if keep == nil || keep(d) {
			return announced{eventID: ev.ID, topic: d.ID, doc: d}
		}
	}
}

// of accepts the documents of one subscriber.
func of(subscriber string) func(subscriptions.Doc) bool {
	return func(d subscriptions.Doc) bool { return d.Subscriber == subscriber }
}

// getLD GETs a path of the web API with tok and decodes the JSON-LD answer
// into v, checking the protocol's headers.
func getLD(t *testing.T, s *server, path, tok string, v any) {
	t.Helper()
	var hdr []string
	if tok != "" {
		hdr = []string{"Authorization", bearer(tok)}
	}
	ans := s.do(t, http.MethodGet, path, "", "", hdr...)
	if ans.status != 200 {
		t.Fatalf("GET %s: %d %s", path, ans.status, ans.body)
	}
	if ct := ans.header.Get("Content-Type"); ct != "application/ld+json" {
		t.Errorf("GET %s: Content-Type %q, want application/ld+json", path, ct)
	}
	if link := ans.header.Get("Link"); link != `</.well-known/mercure>; rel="mercure"` {
		t.Errorf("GET %s: Link %q", path, link)
	}
	if err := json.Unmarshal([]byte(ans.body), v); err != nil {
		t.Fatalf("GET %s: %v: %s", path, err, ans.body)
	}
}

// topicsOf returns the topic selectors of a collection, in its order.
func topicsOf(c subscriptions.Collection) []string {
	var out []string
	for _, d := range c.Subscriptions {
		out = append(out, d.Topic)
	}
	return out
}

// TestActiveSubscriptions follows subscriptions from start to end: the
// private updates announcing them (with the token's payload), the web API
// listing them in all, by topic selector and one by one, resuming from the
// API's lastEventID, and their end.
func TestActiveSubscriptions(t *testing.T) {
	t.Parallel()
	k := authtest.NewKeys(t)
	s := jwtServer(t, k, withSubscriptions)
	hour := time.Now().Add(time.Hour)
	watch := k.HS256(t, authtest.Claims(nil, []string{watchAll}, hour))
	watchPath := apptest.Query("/.well-known/mercure", "topic", watchAll)
	watcher := s.OpenStream(t, watchPath, apptest.Header("Authorization", bearer(watch)))
	self := nextAnnounced(t, watcher, nil)
	if d := self.doc; d.Topic != watchAll || !d.Active || d.Type != "Subscription" || d.Context != subscriptions.Context ||
		!strings.HasPrefix(d.Subscriber, "urn:uuid:") || d.Payload != nil {
		t.Errorf("the watcher's own subscription was announced as %+v", d)
	}
	anon := s.OpenStream(t, "/events?topic=*", nil)

	claims := authtest.Claims(nil, []string{"books/{id}"}, hour)
	claims["mercure"].(map[string]any)["payload"] = map[string]any{"user": "alice"}
	alicePath := "/events?topic=books/1&topic=" + url.QueryEscape("books/{id}") + "&topic=books/1"
	alice := s.OpenStream(t, alicePath, apptest.Header("Authorization", bearer(k.HS256(t, claims))))
	ofBooks := func(d subscriptions.Doc) bool { return strings.HasPrefix(d.Topic, "books/") }
	first := nextAnnounced(t, watcher, ofBooks)
	second := nextAnnounced(t, watcher, ofBooks)
	aliceID := first.doc.Subscriber
	for i, a := range []announced{first, second} {
		d := a.doc
		want := subscriptions.Prefix + "/" + subscriptions.Escape([]string{"books/1", "books/{id}"}[i]) + "/" + subscriptions.Escape(aliceID)
		if d.ID != want || a.topic != want || !d.Active || d.Subscriber != aliceID || string(d.Payload) != `{"user":"alice"}` {
			t.Errorf("alice's subscription %d announced as %+v (id %q), want id %s", i, d, a.eventID, want)
		}
	}
	if aliceID == self.doc.Subscriber {
		t.Errorf("two streams share the subscriber id %s", aliceID)
	}

	var all subscriptions.Collection
	getLD(t, s, subscriptions.Prefix, watch, &all)
	wantTopics := []string{"*", "books/1", "books/{id}", watchAll}
	if all.ID != subscriptions.Prefix || all.Type != "Subscriptions" || all.Context != subscriptions.Context ||
		all.LastEventID != second.eventID || !sameSet(topicsOf(all), wantTopics) {
		t.Errorf("collection = %+v, want id %s, last event %s, topics %v", all, subscriptions.Prefix, second.eventID, wantTopics)
	}
	for sel, want := range map[string][]string{"books/1": {"books/1"}, "books/{id}": {"books/1", "books/{id}"}, "nothing": nil} {
		var c subscriptions.Collection
		path := subscriptions.Prefix + "/" + subscriptions.Escape(sel)
		getLD(t, s, path, watch, &c)
		if c.ID != path || !sameSet(topicsOf(c), want) {
			t.Errorf("collection of %q = %+v, want topics %v", sel, c, want)
		}
	}
	var one subscriptions.Doc
	getLD(t, s, first.topic, watch, &one)
	if one.ID != first.topic || one.LastEventID != second.eventID || string(one.Payload) != `{"user":"alice"}` || !one.Active {
		t.Errorf("GET %s = %+v", first.topic, one)
	}
	missing := subscriptions.Prefix + "/books%2F1/" + subscriptions.Escape("urn:uuid:nobody")
	if ans := s.do(t, http.MethodGet, missing, "", "", "Authorization", bearer(watch)); ans.status != 404 {
		t.Errorf("GET %s: %d, want 404: %s", missing, ans.status, ans.body)
	}

	// A watcher resuming from the list's lastEventID gets what changed
	// since, and no one without the right gets any of it.
	bob := s.OpenStream(t, "/events?topic=news", nil)
	bobJoined := nextAnnounced(t, watcher, func(d subscriptions.Doc) bool { return d.Topic == "news" })
	late := s.OpenStream(t, watchPath+"&lastEventID="+url.QueryEscape(all.LastEventID), apptest.Header("Authorization", bearer(watch)))
	if got := nextAnnounced(t, late, nil); got.eventID != bobJoined.eventID {
		t.Errorf("resuming from %s, the first update is %+v, want bob's %s", all.LastEventID, got.doc, bobJoined.eventID)
	}
	pub := k.HS256(t, authtest.Claims([]string{"*"}, nil, hour))
	if ans := s.do(t, http.MethodPost, "/publish", formType, "topic=news&data=public", "Authorization", bearer(pub)); ans.status != 200 {
		t.Fatalf("publish: %d %s", ans.status, ans.body)
	}
	if ev := anon.Next(t); ev.Data != "public" {
		t.Errorf("an anonymous subscriber of * received %q, want only the public update", ev.Data)
	}

	alice.Close()
	for range 2 {
		if a := nextAnnounced(t, watcher, of(aliceID)); a.doc.Active || string(a.doc.Payload) != `{"user":"alice"}` {
			t.Errorf("alice's end announced as %+v", a.doc)
		}
	}
	getLD(t, s, subscriptions.Prefix, watch, &all)
	if want := []string{"*", "news", watchAll, watchAll}; !sameSet(topicsOf(all), want) {
		t.Errorf("after alice left the topics are %v, want %v", topicsOf(all), want)
	}
	if ans := s.do(t, http.MethodGet, first.topic, "", "", "Authorization", bearer(watch)); ans.status != 404 {
		t.Errorf("GET %s of an ended subscription: %d, want 404", first.topic, ans.status)
	}
	bob.Close()
}

// sameSet reports whether a and b hold the same strings, in any order.
func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// TestSubscriptionsRefusals checks who may read the web API and that no
// publisher can forge a subscription update.
func TestSubscriptionsRefusals(t *testing.T) {
	t.Parallel()
	k := authtest.NewKeys(t)
	s := jwtServer(t, k, withSubscriptions)
	hour := time.Now().Add(time.Hour)
	listOnly := k.HS256(t, authtest.Claims(nil, []string{subscriptions.Prefix}, hour))
	books := k.HS256(t, authtest.Claims(nil, []string{"books/1"}, hour))
	pub := k.HS256(t, authtest.Claims([]string{"*"}, nil, hour))
	byTopic := subscriptions.Prefix + "/books%2F1"
	for _, tt := range []struct {
		name, path, tok string
		want            int
		field           string
	}{
		{"no token", subscriptions.Prefix, "", 401, "Authorization"},
		{"bad token", subscriptions.Prefix, "nonsense", 401, "Authorization"},
		{"token for other topics", subscriptions.Prefix, books, 403, "Authorization"},
		{"token for the collection only", byTopic, listOnly, 403, "Authorization"},
		{"token for the collection", subscriptions.Prefix, listOnly, 200, ""},
		{"selector too long", subscriptions.Prefix + "/" + strings.Repeat("a", 1025), k.HS256(t, authtest.Claims(nil, []string{watchAll}, hour)), 400, "topic"},
		// Under -max-topic-length, but its subscription's topic would be
		// 3 × 700 bytes once percent-encoded: its presence could never be
		// announced, so the stream is refused rather than silently wrong.
		{"selector whose presence cannot be announced", "/events?topic=" + strings.Repeat("%2F", 700), "", 400, "topic"},
	} {
		var hdr []string
		if tt.tok != "" {
			hdr = []string{"Authorization", bearer(tt.tok)}
		}
		ans := s.do(t, http.MethodGet, tt.path, "", "", hdr...)
		if ans.status != tt.want {
			t.Errorf("%s: %d, want %d: %s", tt.name, ans.status, tt.want, ans.body)
			continue
		}
		if tt.want != 200 {
			if m := apptest.ErrorBody(t, ans.header.Get("Content-Type"), ans.body); m["field"] != tt.field {
				t.Errorf("%s: field %v, want %s", tt.name, m["field"], tt.field)
			}
		}
	}
	if ans := s.do(t, http.MethodPost, subscriptions.Prefix, formType, "", "Authorization", bearer(listOnly)); ans.status != 405 {
		t.Errorf("POST to the web API: %d, want 405", ans.status)
	}
	for _, topic := range []string{subscriptions.Prefix, subscriptions.Prefix + "/a/b"} {
		form := url.Values{"topic": {topic}, "data": {`{"active":true}`}}
		ans := s.do(t, http.MethodPost, "/.well-known/mercure", formType, form.Encode(), "Authorization", bearer(pub))
		if m := apptest.ErrorBody(t, ans.header.Get("Content-Type"), ans.body); ans.status != 400 || m["field"] != "topic" {
			t.Errorf("publish to %s: %d %s, want 400 naming the topic", topic, ans.status, ans.body)
		}
	}
}

// TestSubscriptionsOpenDevAndOff checks the web API in open development
// mode (loopback clients only) and without -subscriptions (404 that says
// how to turn it on).
func TestSubscriptionsOpenDevAndOff(t *testing.T) {
	t.Parallel()
	local := newServer(t, withSubscriptions)
	local.OpenStream(t, "/events?topic=a", nil)
	var c subscriptions.Collection
	getLD(t, local, subscriptions.Prefix, "", &c)
	if !slices.Equal(topicsOf(c), []string{"a"}) {
		t.Errorf("open development mode, loopback: %+v", c)
	}
	if ans := remoteServerWith(t, withSubscriptions).do(t, http.MethodGet, subscriptions.Prefix, "", ""); ans.status != 403 {
		t.Errorf("open development mode, remote client: %d, want 403: %s", ans.status, ans.body)
	}
	off := newServer(t, nil)
	for _, path := range []string{subscriptions.Prefix, subscriptions.Prefix + "/a", subscriptions.Prefix + "/a/b"} {
		ans := off.do(t, http.MethodGet, path, "", "")
		if ans.status != 404 || !strings.Contains(ans.body, "-subscriptions") {
			t.Errorf("GET %s with the feature off: %d %s", path, ans.status, ans.body)
		}
	}
}

// TestSubscriptionsBurst opens and closes many streams at once: every
// subscription is announced once as it starts and once as it ends, the end
// after the start, and the registry is empty again afterwards.
func TestSubscriptionsBurst(t *testing.T) {
	t.Parallel()
	const n = 300
	k := authtest.NewKeys(t)
	s := jwtServer(t, k, withSubscriptions)
	watch := k.HS256(t, authtest.Claims(nil, []string{watchAll}, time.Now().Add(time.Hour)))
	watcher := s.OpenStream(t, apptest.Query("/.well-known/mercure", "topic", watchAll), apptest.Header("Authorization", bearer(watch)))
	nextAnnounced(t, watcher, nil) // its own

	streams := make(chan *apptest.Stream, n)
	errs := make(chan error, n)
	for i := range n {
		go func() {
			st, err := s.Dial(fmt.Sprintf("/events?topic=burst/%d", i), nil)
			if err != nil {
				errs <- err
				return
			}
			streams <- st
		}()
	}
	for range n {
		select {
		case err := <-errs:
			t.Fatal(err)
		case st := <-streams:
			defer st.Close()
			go st.Close()
		}
	}
	started := map[string]bool{}
	for ended := 0; ended < n; {
		a := nextAnnounced(t, watcher, nil)
		switch {
		case a.doc.Active && started[a.doc.ID]:
			t.Fatalf("%s announced as started twice", a.doc.ID)
		case a.doc.Active:
			started[a.doc.ID] = true
		case !started[a.doc.ID]:
			t.Fatalf("%s announced as ended before it started (or twice)", a.doc.ID)
		default:
			delete(started, a.doc.ID)
			ended++
		}
	}
	var all subscriptions.Collection
	getLD(t, s, subscriptions.Prefix, watch, &all)
	if len(all.Subscriptions) != 1 || all.Subscriptions[0].Topic != watchAll {
		t.Errorf("after the burst the hub lists %v, want the watcher alone", topicsOf(all))
	}
}
