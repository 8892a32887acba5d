package subscriptions

import (
	"encoding/json"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/yosida95/uritemplate/v3"

	"github.com/ssehub/ssehub/internal/topic"
)

// TestEscape checks the RFC 6570 encoding of the variables, and that the
// template subscribers use to watch every subscription matches the ids
// built with it.
func TestEscape(t *testing.T) {
	for in, want := range map[string]string{
		"books/1":                          "books%2F1",
		"https://example.com/{selector}":   "https%3A%2F%2Fexample.com%2F%7Bselector%7D",
		"a b+c~d.e_f-g":                    "a%20b%2Bc~d.e_f-g",
		"urn:uuid:1e0cba4c-4bcd-44f0-ae8a": "urn%3Auuid%3A1e0cba4c-4bcd-44f0-ae8a",
		"é*":                               "%C3%A9%2A",
		"":                                 "",
	} {
		if got := Escape(in); got != want {
			t.Errorf("Escape(%q) = %q, want %q", in, got, want)
		}
	}
	tpl := uritemplate.MustNew(Prefix + "{/topic}{/subscriber}")
	s := Subscription{Topic: "https://example.com/{selector} a", Subscriber: NewSubscriber()}
	m := tpl.Match(s.ID())
	if m == nil || m.Get("topic").String() != s.Topic || m.Get("subscriber").String() != s.Subscriber {
		t.Errorf("the watch-all template does not match %s back to its variables: %v", s.ID(), m)
	}
	// The protocol's example.
	ex := Subscription{Topic: "https://example.com/{selector}", Subscriber: "urn:uuid:bb3de268-05b0-4c65-b44e-8f9acefc29d6"}
	if want := "/.well-known/mercure/subscriptions/https%3A%2F%2Fexample.com%2F%7Bselector%7D/urn%3Auuid%3Abb3de268-05b0-4c65-b44e-8f9acefc29d6"; ex.ID() != want {
		t.Errorf("ID = %s, want the protocol's %s", ex.ID(), want)
	}
}

func TestNewSubscriber(t *testing.T) {
	re := regexp.MustCompile(`^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for range 100 {
		id := NewSubscriber()
		if !re.MatchString(id) || seen[id] {
			t.Fatalf("NewSubscriber() = %s: not a new version 4 UUID IRI", id)
		}
		seen[id] = true
	}
}

// TestUpdate checks the announcing document: the protocol's properties,
// the payload kept as sent and left out when there is none.
func TestUpdate(t *testing.T) {
	s := Subscription{Topic: "books/{id}", Subscriber: "urn:uuid:x", Payload: json.RawMessage(`{"user":"<alice>"}`)}
	data, err := s.Update(false)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"@context":"https://mercure.rocks/","id":"/.well-known/mercure/subscriptions/books%2F%7Bid%7D/urn%3Auuid%3Ax","type":"Subscription","topic":"books/{id}","subscriber":"urn:uuid:x","active":false,"payload":{"user":"\u003calice\u003e"}}`
	if data != want {
		t.Errorf("Update =\n%s\nwant\n%s", data, want)
	}
	for _, p := range []json.RawMessage{nil, json.RawMessage("null")} {
		s.Payload = p
		if d := s.Doc(true); d.Payload != nil {
			t.Errorf("payload %q kept as %q", p, d.Payload)
		}
	}
}

// TestRegistry adds, lists, gets and removes subscriptions concurrently.
func TestRegistry(t *testing.T) {
	var r Registry
	if r.List(nil) != nil {
		t.Fatal("the zero Registry is not empty")
	}
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			id := NewSubscriber()
			r.Add([]Subscription{{Topic: "a", Subscriber: id}, {Topic: "b", Subscriber: id}})
			if i%2 == 0 {
				if got := r.Remove(id); len(got) != 2 {
					t.Errorf("Remove returned %d subscriptions, want 2", len(got))
				}
			}
		})
	}
	wg.Wait()
	all := r.List(nil)
	if len(all) != 50 {
		t.Fatalf("List has %d, want 50", len(all))
	}
	for i := 1; i < len(all); i++ {
		if p, s := all[i-1], all[i]; p.Subscriber > s.Subscriber || p.Subscriber == s.Subscriber && p.Topic >= s.Topic {
			t.Fatalf("List is not sorted by subscriber, then topic: %v before %v", p, s)
		}
	}
	onlyB := r.List(func(s Subscription) bool { return s.Topic == "b" })
	if len(onlyB) != 25 {
		t.Errorf("List(topic b) has %d, want 25", len(onlyB))
	}
	if s, ok := r.Get(topic.Classic, "b", onlyB[0].Subscriber); !ok || s.Topic != "b" || s.Subscriber != onlyB[0].Subscriber {
		t.Errorf("Get = %+v, %v", s, ok)
	}
	if _, ok := r.Get(topic.Classic, "c", onlyB[0].Subscriber); ok {
		t.Error("Get found a topic the subscriber has not")
	}
	if _, ok := r.Get(topic.Exact, "b", onlyB[0].Subscriber); ok {
		t.Error("Get found a 1.0 subscription of a classic one's selector")
	}
	if got := r.Remove("urn:uuid:nobody"); got != nil {
		t.Errorf("Remove of an unknown subscriber returned %v", got)
	}
}

func TestReserved(t *testing.T) {
	for tp, want := range map[string]bool{
		Prefix: true, Prefix + "/a/b": true, Prefix + "x": false, "/.well-known/mercure": false, "books/1": false,
	} {
		if Reserved(tp) != want {
			t.Errorf("Reserved(%q) = %v", tp, !want)
		}
	}
}

// TestModernForm checks the Mercure 1.0 form against draft-08's example:
// the topic Prefix/{match_type}/{match}/{subscriber}, each variable
// percent-encoded once, and the document's properties.
func TestModernForm(t *testing.T) {
	s := Subscription{Topic: "https://example.com/:selector", Subscriber: "urn:uuid:bb3de268-05b0-4c65-b44e-8f9acefc29d6",
		MatchType: topic.URLPattern, Payload: json.RawMessage(`{"foo":"bar"}`)}
	const want = "/.well-known/mercure/subscriptions/urlpattern/https%3A%2F%2Fexample.com%2F%3Aselector/urn%3Auuid%3Abb3de268-05b0-4c65-b44e-8f9acefc29d6"
	if s.ID() != want {
		t.Errorf("ID = %s, want draft-08's %s", s.ID(), want)
	}
	if got := (Subscription{Topic: "a%2Fb", Subscriber: "x", MatchType: topic.Exact}).ID(); got != Prefix+"/exact/a%252Fb/x" {
		t.Errorf("ID of a match holding %%2F = %s: a %% is encoded once more, never left as is", got)
	}
	data, err := s.Update(true)
	if err != nil {
		t.Fatal(err)
	}
	const doc = `{"id":"` + want + `","type":"subscription","match_type":"urlpattern","match":"https://example.com/:selector","subscriber":"urn:uuid:bb3de268-05b0-4c65-b44e-8f9acefc29d6","active":true,"payload":{"foo":"bar"}}`
	if data != doc {
		t.Errorf("document\n%s\nwant\n%s", data, doc)
	}
	c, _ := json.Marshal(NewModernCollection(Prefix, []Subscription{s}))
	if !strings.HasPrefix(string(c), `{"id":"`+Prefix+`","type":"subscriptions","subscriptions":[{"id":"`+want) {
		t.Errorf("collection %s", c)
	}
}
