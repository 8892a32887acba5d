package jsclient

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestHandler(t *testing.T) {
	srv := httptest.NewServer(Handler())
	defer srv.Close()
	res, err := http.Get(srv.URL + "/ssehub.js")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	etag := res.Header.Get("ETag")
	for k, want := range map[string]string{"Content-Type": "text/javascript; charset=utf-8",
		"Cache-Control": CacheControl, "Access-Control-Allow-Origin": "*"} {
		if got := res.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if res.StatusCode != http.StatusOK || etag == "" || !bytes.Equal(body, Source) {
		t.Fatalf("GET: %d, ETag %q, %d bytes; want 200, an ETag, the %d bytes of Source", res.StatusCode, etag, len(body), len(Source))
	}
	if !bytes.HasPrefix(body, []byte("/*! @ssehub/client "+Version+" ")) || Version == "" {
		t.Errorf("file starts %q; want the version comment (%q)", body[:60], Version)
	}

	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/ssehub.js", nil)
	req.Header.Set("If-None-Match", etag)
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match: %d, want 304", res.StatusCode)
	}

	res, err = http.Post(srv.URL+"/ssehub.js", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d, want 405", res.StatusCode)
	}
}
