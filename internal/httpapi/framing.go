package httpapi

import (
	"net/http"

	"github.com/ssehub/ssehub/internal/httpio"
	"github.com/ssehub/ssehub/internal/stream"
)

// RefuseAmbiguousFraming guards against request smuggling (RFC 9112 §6.3),
// before anything else reads a request. A request whose head had both
// Content-Length and Transfer-Encoding, which a proxy in front may have
// framed otherwise than net/http (which reads it as chunked and keeps no
// trace of the Content-Length but the engine's marker), is answered 400
// and its connection closed: what follows its body is never read as a
// request. The engine's listeners, plain and TLS, mark such requests.
// Where the framing cannot be checked (a listener that is not the
// engine's, such as ServeTLS's own), every HTTP/1.x request with a
// Transfer-Encoding is answered and its connection closed, RFC 9112's
// other way. It reports whether it answered. The API's ServeHTTP calls it
// first; a handler served in front of the API must too.
func RefuseAmbiguousFraming(w http.ResponseWriter, r *http.Request) bool {
	if stream.AmbiguousFraming(r) {
		w.Header().Set("Connection", "close")
		httpio.WriteError(w, http.StatusBadRequest, "Transfer-Encoding",
			"Content-Length and Transfer-Encoding in one request: refused (RFC 9112 §6.3)")
		return true
	}
	if r.ProtoMajor == 1 && len(r.TransferEncoding) > 0 && !stream.FramingChecked(r) {
		w.Header().Set("Connection", "close")
	}
	return false
}
