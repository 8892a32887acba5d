package topic

import "testing"

// TestComponentRegexpsFound fails when go-urlpattern no longer lays its
// components out as componentRegexps reads them: matching would still be
// right (it falls back to Test) but some fifty times slower per pattern.
func TestComponentRegexpsFound(t *testing.T) {
	sel, err := CompileSpec(Spec{Match: "https://example.com/books/:id", Type: URLPattern}, "")
	if err != nil {
		t.Fatal(err)
	}
	if sel.url == nil || sel.url.res == nil {
		t.Fatal("componentRegexps found no regular expressions in go-urlpattern's URLPattern: update it for this version")
	}
	if componentRegexps(nil) != nil {
		t.Error("componentRegexps(nil) found some")
	}
}
