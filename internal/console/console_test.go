package console

import (
	"io"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, method, target string, hdr map[string]string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func TestHandler(t *testing.T) {
	h := Handler()
	tests := []struct {
		method, path string
		status       int
		ctype        string
	}{
		{"GET", "/", 200, "text/html; charset=utf-8"},
		{"GET", "/index.html", 200, "text/html; charset=utf-8"},
		{"HEAD", "/", 200, "text/html; charset=utf-8"},
		{"GET", "/assets/app.js", 200, "text/javascript; charset=utf-8"},
		{"GET", "/assets/i18n.js", 200, "text/javascript; charset=utf-8"},
		{"GET", "/assets/log.js", 200, "text/javascript; charset=utf-8"},
		{"GET", "/assets/connection.js", 200, "text/javascript; charset=utf-8"},
		{"GET", "/assets/publish.js", 200, "text/javascript; charset=utf-8"},
		{"GET", "/assets/presence.js", 200, "text/javascript; charset=utf-8"},
		{"GET", "/assets/chat.js", 200, "text/javascript; charset=utf-8"},
		{"GET", "/assets/bubbles.js", 200, "text/javascript; charset=utf-8"},
		{"GET", "/assets/llm.js", 200, "text/javascript; charset=utf-8"},
		{"GET", "/assets/markdown.js", 200, "text/javascript; charset=utf-8"},
		{"GET", "/assets/style.css", 200, "text/css; charset=utf-8"},
		{"GET", "/stats.html", 200, "text/html; charset=utf-8"},
		{"GET", "/assets/stats.js", 200, "text/javascript; charset=utf-8"},
		{"GET", "/assets/stats.css", 200, "text/css; charset=utf-8"},
		{"GET", "/assets/vendor/uplot/uPlot.iife.min.js", 200, "text/javascript; charset=utf-8"},
		{"GET", "/assets/vendor/uplot/uPlot.min.css", 200, "text/css; charset=utf-8"},
		{"GET", "/assets/favicon.svg", 200, "image/svg+xml"},
		{"GET", "/assets/", 404, "application/json"},
		{"GET", "/assets", 404, "application/json"},
		{"GET", "/assets/nope.js", 404, "application/json"},
		{"GET", "/static/index.html", 404, "application/json"},
		{"GET", "/assets/../index.html", 404, "application/json"},
		{"POST", "/", 405, "application/json"},
		{"DELETE", "/assets/app.js", 405, "application/json"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			res := get(t, h, tt.method, tt.path, nil)
			if res.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d", res.StatusCode, tt.status)
			}
			if got := res.Header.Get("Content-Type"); got != tt.ctype {
				t.Errorf("Content-Type = %q, want %q", got, tt.ctype)
			}
			if got := res.Header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options = %q, want nosniff", got)
			}
			if tt.status != 200 {
				return
			}
			if got := res.Header.Get("Cache-Control"); got != "no-cache" {
				t.Errorf("Cache-Control = %q, want no-cache", got)
			}
			if res.Header.Get("ETag") == "" {
				t.Error("no ETag")
			}
			body, _ := io.ReadAll(res.Body)
			if (tt.method == "HEAD") != (len(body) == 0) {
				t.Errorf("%s answered %d body bytes", tt.method, len(body))
			}
		})
	}
}

func TestHandlerNotModified(t *testing.T) {
	h := Handler()
	etag := get(t, h, "GET", "/assets/app.js", nil).Header.Get("ETag")
	res := get(t, h, "GET", "/assets/app.js", map[string]string{"If-None-Match": etag})
	if res.StatusCode != http.StatusNotModified {
		t.Fatalf("status = %d, want 304", res.StatusCode)
	}
}

func TestIndexPolicy(t *testing.T) {
	for _, page := range []string{"/", "/stats.html"} {
		res := get(t, Handler(), "GET", page, nil)
		csp := res.Header.Get("Content-Security-Policy")
		for _, want := range []string{"script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: Content-Security-Policy %q lacks %q", page, csp, want)
			}
		}
	}
}

// TestVendoredLicense: a vendored library ships with its licence.
func TestVendoredLicense(t *testing.T) {
	files, err := load(static)
	if err != nil {
		t.Fatal(err)
	}
	lic, ok := files["/assets/vendor/uplot/LICENSE"]
	if !ok || !strings.Contains(string(lic.body), "MIT License") {
		t.Fatal("assets/vendor/uplot has no MIT LICENSE beside uPlot")
	}
}

// TestAssetsOffline checks that every file the page and its scripts refer to
// is served, and that nothing is loaded from another host.
func TestAssetsOffline(t *testing.T) {
	h := Handler()
	files, err := load(static)
	if err != nil {
		t.Fatal(err)
	}
	ref := regexp.MustCompile(`(?:src|href)="([^"]+)"|from '(\./[^']+)'`)
	external := regexp.MustCompile(`(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}`)
	// A vendored file's banner comment (/*! … */) names its home page; it
	// loads nothing.
	banner := regexp.MustCompile(`(?s)\A/\*!.*?\*/`)
	for p, f := range files {
		body := banner.ReplaceAllString(string(f.body), "")
		for _, m := range ref.FindAllStringSubmatch(body, -1) {
			target := m[1] + m[2]
			url := path.Join(path.Dir(p), target) // relative to the referring file
			if res := get(t, h, "GET", url, nil); res.StatusCode != 200 {
				t.Errorf("%s refers to %q: GET %s = %d", p, target, url, res.StatusCode)
			}
		}
		for _, m := range external.FindAllString(strings.ReplaceAll(body, "http://www.w3.org/2000/svg", ""), -1) {
			t.Errorf("%s refers to another host: %q", p, m)
		}
	}
}

// TestTranslations checks that every key the page names is in both tables.
func TestTranslations(t *testing.T) {
	files, err := load(static)
	if err != nil {
		t.Fatal(err)
	}
	i18n := string(files["/assets/i18n.js"].body)
	used := regexp.MustCompile(`data-i18n(?:-placeholder|-title)?="([^"]+)"` +
		`|(?:(?:\bt|\bsystem|\berror|onSystem)\(|\bkey: )'([a-zA-Z]+\.[a-zA-Z.]*[a-zA-Z])'` +
		`|'(status\.[a-z]+)'|'((?:ev|field|chat\.reason)\.)' \+`)
	pages := []string{"/index.html", "/assets/app.js", "/assets/connection.js", "/assets/log.js", "/assets/chat.js", "/assets/bubbles.js",
		"/stats.html", "/assets/stats.js"}
	for _, p := range pages {
		for _, m := range used.FindAllStringSubmatch(string(files[p].body), -1) {
			key := m[1] + m[2] + m[3]
			want := "'" + key + "':"
			if m[4] != "" {
				// A prefix completed at run time: each table must have some.
				key, want = m[4], "'"+m[4]
			}
			if n := strings.Count(i18n, want); n < 2 {
				t.Errorf("%s uses key %q, found in %d of 2 tables", p, key, n)
			}
		}
	}
}
