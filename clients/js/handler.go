package jsclient

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"time"
)

// CacheControl is how long browsers and proxies keep /ssehub.js before
// revalidating it (a cheap 304 thanks to its ETag).
const CacheControl = "public, max-age=3600"

// Handler serves Source as a JavaScript module, for GET and HEAD, with an
// ETag (answering If-None-Match with 304) and CacheControl. Any origin may
// import it: module scripts are fetched with CORS, and the file is public.
func Handler() http.Handler {
	sum := sha256.Sum256(Source)
	etag := `"` + hex.EncodeToString(sum[:8]) + `"`
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h.Set("Content-Type", "text/javascript; charset=utf-8")
		h.Set("ETag", etag)
		h.Set("Cache-Control", CacheControl)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Access-Control-Allow-Origin", "*")
		http.ServeContent(w, r, "ssehub.js", time.Time{}, bytes.NewReader(Source))
	})
}
