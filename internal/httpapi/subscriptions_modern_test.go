package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/app/apptest"
	"github.com/ssehub/ssehub/internal/auth/authtest"
	"github.com/ssehub/ssehub/internal/subscriptions"
	"github.com/ssehub/ssehub/internal/topic"
)

// watchModern is the relative URL pattern of every subscription update
// in 1.0 form, as draft-08 suggests subscribing to them.
const watchModern = subscriptions.Prefix + "/:type/:match/:subscriber"

// TestModernSubscriptions follows Mercure 1.0 subscriptions: announced in
// 1.0 form (topic and id Prefix/{match_type}/{match}/{subscriber}, event
// type mercure, match and match_type, the token's payload), beside the
// classic form of the same stream's topic=, and the web API answering
// both forms.
func TestModernSubscriptions(t *testing.T) {
	t.Parallel()
	k := authtest.NewKeys(t)
	s := jwtServer(t, k, withSubscriptions)
	hour := time.Now().Add(time.Hour)
	watch := k.HS256(t, authtest.Claims(nil, []string{watchAll, subscriptions.Prefix + "{/type}{/match}{/subscriber}", subscriptions.Prefix}, hour))
	watcher := s.OpenStream(t, apptest.Query("/.well-known/mercure", "match_urlpattern", watchModern), apptest.Header("Authorization", bearer(watch)))
	self := nextModern(t, watcher)
	if self.doc.Match != watchModern || self.doc.MatchType != topic.URLPattern {
		t.Errorf("the watcher's own subscription was announced as %+v", self.doc)
	}

	claims := authtest.Claims(nil, []string{"*"}, hour)
	claims["mercure"].(map[string]any)["payload"] = map[string]any{"user": "alice"}
	const pattern, exact = "https://example.com/books/:id", "https://example.com/books/1"
	alicePath := apptest.Query("/.well-known/mercure", "match_urlpattern", pattern, "match", exact, "topic", "books/1", "match_exact", exact)
	alice := s.OpenStream(t, alicePath, apptest.Header("Authorization", bearer(k.HS256(t, claims))))
	got := map[topic.Type]announced{}
	for range 2 { // the classic topic=books/1 is announced in its form, which the watcher does not select
		a := nextModern(t, watcher)
		got[a.doc.MatchType] = a
	}
	aliceID := got[topic.Exact].doc.Subscriber
	for typ, match := range map[topic.Type]string{topic.URLPattern: pattern, topic.Exact: exact} {
		a, want := got[typ], subscriptions.Prefix+"/"+string(typ)+"/"+subscriptions.Escape(match)+"/"+subscriptions.Escape(aliceID)
		if d := a.doc; a.topic != want || d.Type != "subscription" || d.Match != match || d.Topic != "" || d.Context != "" ||
			d.Subscriber != aliceID || !d.Active || string(d.Payload) != `{"user":"alice"}` {
			t.Errorf("alice's %s subscription announced as %+v, want id %s", typ, d, want)
		}
	}

	var all subscriptions.Collection // the bare path is the classic protocol's too: classic envelope, each item in its form
	getLD(t, s, subscriptions.Prefix, watch, &all)
	if n := countModern(all.Subscriptions, aliceID); n != 2 || !sameSet(topicsOf(all), []string{"", "", "", "books/1"}) {
		t.Errorf("collection %+v: want alice's two 1.0 documents and her classic one beside the watcher's", all)
	}
	for typ, match := range map[topic.Type]string{topic.URLPattern: pattern, topic.Exact: exact} {
		path := subscriptions.MatcherPath(typ, match)
		var c subscriptions.ModernCollection
		last := getModern(t, s, path, watch, &c)
		if c.ID != path || c.Type != "subscriptions" || len(c.Subscriptions) != 1 || !sameDoc(c.Subscriptions[0], got[typ].doc) || last == "" {
			t.Errorf("GET %s = %+v (last-event-id %q), want alice's %s subscription only", path, c, last, typ)
		}
		var one subscriptions.Doc
		getModern(t, s, got[typ].topic, watch, &one)
		if !sameDoc(one, got[typ].doc) {
			t.Errorf("GET %s = %+v, want %+v", got[typ].topic, one, got[typ].doc)
		}
	}
	var classic subscriptions.Doc
	getLD(t, s, subscriptions.Prefix+"/books%2F1/"+subscriptions.Escape(aliceID), watch, &classic)
	if classic.Topic != "books/1" || classic.Type != "Subscription" || classic.Match != "" {
		t.Errorf("alice's classic subscription = %+v", classic)
	}
	for _, path := range []string{
		subscriptions.Prefix + "/exact/" + subscriptions.Escape(aliceID), // classic: topic "exact", subscriber alice
		subscriptions.Prefix + "/regex/a/" + subscriptions.Escape(aliceID),
		subscriptions.Prefix + "/exact/books%2F1/" + subscriptions.Escape(aliceID), // her books/1 is classic
	} {
		if ans := s.do(t, http.MethodGet, path, "", "", "Authorization", bearer(watch)); ans.status != 404 {
			t.Errorf("GET %s: %d, want 404: %s", path, ans.status, ans.body)
		}
	}

	alice.Close()
	for range 2 {
		if a := nextModern(t, watcher); a.doc.Active || a.doc.Subscriber != aliceID {
			t.Errorf("alice's end announced as %+v", a.doc)
		}
	}
	if ans := s.do(t, http.MethodGet, got[topic.Exact].topic, "", "", "Authorization", bearer(watch)); ans.status != 404 {
		t.Errorf("GET %s after alice left: %d, want 404", got[topic.Exact].topic, ans.status)
	}
}

// nextModern reads the next subscription update of st, which must be in
// 1.0 form: event type mercure, its id its topic.
func nextModern(t *testing.T, st *apptest.Stream) announced {
	t.Helper()
	ev := st.Next(t)
	var d subscriptions.Doc
	if err := json.Unmarshal([]byte(ev.Data), &d); err != nil {
		t.Fatalf("subscription update %q: %v", ev.Data, err)
	}
	if ev.Type != "mercure" || d.MatchType == "" || !strings.HasPrefix(d.ID, subscriptions.Prefix+"/"+string(d.MatchType)+"/") {
		t.Errorf("event %q of type %q is no 1.0 subscription update", ev.Data, ev.Type)
	}
	return announced{eventID: ev.ID, topic: d.ID, doc: d}
}

// sameDoc reports whether two documents are equal.
func sameDoc(a, b subscriptions.Doc) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// countModern counts the 1.0 documents of subscriber.
func countModern(docs []subscriptions.Doc, subscriber string) int {
	n := 0
	for _, d := range docs {
		if d.Subscriber == subscriber && d.MatchType != "" {
			n++
		}
	}
	return n
}

// getModern GETs a 1.0 path of the web API and decodes the JSON answer
// into v, checking draft-08's headers; it returns the Link header's
// last-event-id.
func getModern(t *testing.T, s *server, path, tok string, v any) string {
	t.Helper()
	ans := s.do(t, http.MethodGet, path, "", "", "Authorization", bearer(tok))
	if ans.status != 200 {
		t.Fatalf("GET %s: %d %s", path, ans.status, ans.body)
	}
	if ct := ans.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("GET %s: Content-Type %q, want application/json", path, ct)
	}
	link := ans.header.Get("Link")
	prefix := "<" + s.URL + `/.well-known/mercure>; rel="mercure"; last-event-id="`
	suffix := `"; type="mercure"; content-type="application/json"`
	if !strings.HasPrefix(link, prefix) || !strings.HasSuffix(link, suffix) {
		t.Errorf("GET %s: Link %q", path, link)
	}
	if err := json.Unmarshal([]byte(ans.body), v); err != nil {
		t.Fatalf("GET %s: %v: %s", path, err, ans.body)
	}
	return strings.TrimSuffix(strings.TrimPrefix(link, prefix), suffix)
}

// TestModernSubscriptionsRefusals checks the 1.0 paths' authorization
// (the token must match the path, as for the classic ones) and that a
// matcher whose subscription topic would be too long is refused.
func TestModernSubscriptionsRefusals(t *testing.T) {
	t.Parallel()
	k := authtest.NewKeys(t)
	s := jwtServer(t, k, withSubscriptions)
	hour := time.Now().Add(time.Hour)
	exactOnly := k.HS256(t, authtest.Claims(nil, []string{subscriptions.Prefix + "/exact{/match}"}, hour))
	for _, tt := range []struct {
		path, tok string
		status    int
	}{
		{subscriptions.MatcherPath(topic.Exact, "a"), exactOnly, 200},
		{subscriptions.MatcherPath(topic.URLPattern, "/a/:b"), exactOnly, 403},
		{subscriptions.MatcherPath(topic.Exact, "a"), "", 401},
	} {
		var hdr []string
		if tt.tok != "" {
			hdr = []string{"Authorization", bearer(tt.tok)}
		}
		if ans := s.do(t, http.MethodGet, tt.path, "", "", hdr...); ans.status != tt.status {
			t.Errorf("GET %s: %d, want %d: %s", tt.path, ans.status, tt.status, ans.body)
		}
	}
	long := strings.Repeat("é", 500) // 1,000 bytes, 3,000 once percent-encoded: over the 2,048 of a topic
	ans := s.do(t, http.MethodGet, "/.well-known/mercure?match="+url.QueryEscape(long), "", "")
	if f := apptest.ErrorBody(t, ans.header.Get("Content-Type"), ans.body)["field"]; ans.status != 400 || f != "match" {
		t.Errorf("a matcher too long to announce: %d, field %v: %s", ans.status, f, ans.body)
	}
}
