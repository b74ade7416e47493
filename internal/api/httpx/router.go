package httpx

import (
	"net/http"
	"slices"
	"strings"
)

// Router is an http.ServeMux that answers the requests none of its routes
// take in JSON, through the dialect's own error writer: 405 with an Allow
// header when the path is served under other methods, 404 otherwise.
type Router struct {
	mux     *http.ServeMux
	allowed map[string][]string
}

// NewRouter returns an empty Router.
func NewRouter() *Router {
	return &Router{mux: http.NewServeMux(), allowed: map[string][]string{}}
}

// HandleFunc registers fn for pattern, which must be "METHOD /path".
func (rt *Router) HandleFunc(pattern string, fn http.HandlerFunc) {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok {
		panic("httpx: Router patterns are \"METHOD /path\": " + pattern)
	}
	rt.mux.HandleFunc(pattern, fn)
	rt.allowed[path] = append(rt.allowed[path], method)
}

// Handler returns the routes with the fallbacks installed. fail writes an
// error answer with the status (404 or 405) in the caller's JSON shape.
func (rt *Router) Handler(fail func(w http.ResponseWriter, r *http.Request, status int)) http.Handler {
	paths := http.NewServeMux()
	for path, methods := range rt.allowed {
		allow := strings.Join(slices.Sorted(slices.Values(methods)), ", ")
		paths.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", allow)
			fail(w, r, http.StatusMethodNotAllowed)
		})
	}
	paths.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fail(w, r, http.StatusNotFound)
	})
	rt.mux.Handle("/", paths)
	return rt.mux
}
