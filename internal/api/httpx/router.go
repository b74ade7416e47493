package httpx

import (
	"net/http"
	"slices"
	"strings"

	"github.com/sesame-auth/sesame/internal/auth"
)

// CheckBodySize refuses a request whose Content-Length exceeds
// MaxBodyBytes with ETooLarge (413), whether or not its route reads the
// body; a body of unknown length is capped where it is read (DecodeJSON).
func CheckBodySize(r *http.Request) error { return checkBodySize(r, MaxBodyBytes) }

func checkBodySize(r *http.Request, limit int64) error {
	if r.ContentLength > limit {
		return auth.Errorf(auth.ETooLarge, "Request body is larger than %d bytes.", limit)
	}
	return nil
}

// Router is an http.ServeMux that answers the requests none of its routes
// take in JSON, through the caller's own error writer: 405 with an Allow
// header when the path is served under other methods, 404 otherwise.
type Router struct {
	mux     *http.ServeMux
	methods []string // every method some route uses
	invalid func(w http.ResponseWriter, r *http.Request, err error)
	maxBody int64 // 0: MaxBodyBytes
}

// LimitBody sets the largest declared body RefuseBadURLs lets through,
// for routers whose routes take bodies larger than MaxBodyBytes (each
// route still caps what it reads). Default MaxBodyBytes.
func (rt *Router) LimitBody(n int64) { rt.maxBody = n }

// RefuseBadURLs makes the handler refuse, before any route runs, requests
// whose path or query CheckURL refuses (NUL, invalid UTF-8, too long:
// EInvalid) and those whose declared body CheckBodySize refuses
// (ETooLarge); invalid writes the error in the caller's JSON shape.
func (rt *Router) RefuseBadURLs(invalid func(w http.ResponseWriter, r *http.Request, err error)) {
	rt.invalid = invalid
}

// NewRouter returns an empty Router.
func NewRouter() *Router { return &Router{mux: http.NewServeMux()} }

// HandleFunc registers fn for pattern, which must be "METHOD /path".
func (rt *Router) HandleFunc(pattern string, fn http.HandlerFunc) {
	method, _, ok := strings.Cut(pattern, " ")
	if !ok {
		panic("httpx: Router patterns are \"METHOD /path\": " + pattern)
	}
	rt.mux.HandleFunc(pattern, fn)
	if !slices.Contains(rt.methods, method) {
		rt.methods = append(rt.methods, method)
	}
}

// Handler returns the routes with the fallback installed. fail writes an
// error answer with the status (404 or 405) in the caller's JSON shape;
// for 405 the Allow header is already set.
func (rt *Router) Handler(fail func(w http.ResponseWriter, r *http.Request, status int)) http.Handler {
	rt.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		// Ask the mux which other methods would have matched this path.
		var allow []string
		for _, m := range rt.methods {
			probe := r.Clone(r.Context())
			probe.Method = m
			if _, pattern := rt.mux.Handler(probe); pattern != "" && pattern != "/" {
				allow = append(allow, m)
			}
		}
		if len(allow) == 0 {
			fail(w, r, http.StatusNotFound)
			return
		}
		slices.Sort(allow)
		w.Header().Set("Allow", strings.Join(allow, ", "))
		fail(w, r, http.StatusMethodNotAllowed)
	})
	if rt.invalid == nil {
		return rt.mux
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit := rt.maxBody
		if limit <= 0 {
			limit = MaxBodyBytes
		}
		if err := checkBodySize(r, limit); err != nil {
			rt.invalid(w, r, err)
			return
		}
		if err := CheckURL(r); err != nil {
			rt.invalid(w, r, err)
			return
		}
		rt.mux.ServeHTTP(w, r)
	})
}
