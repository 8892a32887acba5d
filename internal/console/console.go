// Package console serves ssehub's web console: one page with its style sheet
// and scripts, embedded in the binary so that it works offline (no CDN, no
// web fonts, no build step).
//
// The page is served at "/" and its files under "/assets/" (the page refers
// to them relatively, as "assets/…"). The console talks to the hub on the
// same origin with the hub's JavaScript client (import "/ssehub.js": the
// event log's subscription, the chat's generations) and POST /publish.
package console

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed static
var static embed.FS

// contentSecurityPolicy keeps the page to its own files: scripts, styles and
// connections to the same origin only, so event data can never load anything.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; " +
	"form-action 'none'; frame-ancestors 'none'"

// contentTypes names the types of the files the console ships, so that they do
// not depend on the machine's MIME tables.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".svg":  "image/svg+xml",
	".png":  "image/png",
	".json": "application/json",
}

// file is one embedded file, ready to serve.
type file struct {
	name  string
	body  []byte
	ctype string
	etag  string
}

// handler serves the files; it is read-only after Handler builds it.
type handler struct {
	files map[string]file // by URL path: "/", "/assets/app.js", …
}

// Handler serves the embedded web console (index.html at "/", assets beside it).
func Handler() http.Handler {
	files, err := load(static)
	if err != nil {
		// The files are fixed at build time, so this cannot fail at run time.
		panic("console: " + err.Error())
	}
	return &handler{files: files}
}

// load reads every embedded file and indexes it by the URL path it is served at.
func load(fsys fs.FS) (map[string]file, error) {
	root, err := fs.Sub(fsys, "static")
	if err != nil {
		return nil, err
	}
	files := make(map[string]file)
	err = fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(root, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		f := file{name: path.Base(p), body: body, ctype: typeOf(p), etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		files["/"+p] = f
		if p == "index.html" {
			files["/"] = f
		}
		return nil
	})
	return files, err
}

func typeOf(name string) string {
	ext := path.Ext(name)
	if t, ok := contentTypes[ext]; ok {
		return t
	}
	if t := mime.TypeByExtension(ext); t != "" {
		return t
	}
	return "application/octet-stream"
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	f, ok := h.files[r.URL.Path]
	if !ok {
		writeError(w, http.StatusNotFound, "not found")
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", f.ctype)
	hdr.Set("ETag", f.etag)
	// The files are not fingerprinted: let browsers keep them but revalidate
	// (a cheap 304 thanks to the ETag), so a new binary is seen at once.
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("X-Content-Type-Options", "nosniff")
	if strings.HasPrefix(f.ctype, "text/html") {
		hdr.Set("Content-Security-Policy", contentSecurityPolicy)
		hdr.Set("Referrer-Policy", "same-origin")
	}
	http.ServeContent(w, r, f.name, time.Time{}, bytes.NewReader(f.body))
}

// writeError answers with the JSON error body every ssehub handler uses.
func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
