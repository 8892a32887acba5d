package httpio

import (
	"net/http"
	"slices"
	"strings"
)

// Methods routes by HTTP method, answers OPTIONS with the allowed methods
// and others with 405. HEAD is served only where registered: on a stream
// it would subscribe and stream into nothing.
type Methods map[string]http.HandlerFunc

// ServeHTTP serves r with the handler of its method.
func (m Methods) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h, ok := m[r.Method]; ok {
		h(w, r)
		return
	}
	allow := make([]string, 0, len(m)+1)
	for k := range m {
		allow = append(allow, k)
	}
	allow = append(allow, http.MethodOptions)
	slices.Sort(allow)
	w.Header().Set("Allow", strings.Join(allow, ", "))
	if r.Method == http.MethodOptions {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	WriteError(w, http.StatusMethodNotAllowed, "", "method "+r.Method+" not allowed on "+r.URL.Path+"; allowed: "+strings.Join(allow, ", "))
}
