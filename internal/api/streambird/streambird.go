// Package streambird serves Sesame's Streambird-style dialect under /v1/auth/.
//
// Requests authenticate with "Authorization: Bearer <project secret>" (the
// JWKS route also accepts ?api_key=<secret>, as the streambird-node SDK sends
// it). Success bodies are the Streambird shapes (epoch-second timestamps, no
// request_id); every failure is a JSON body
//
//	{"status_code": 400, "error_type": "invalid_otp", "error_message": "Invalid OTP Code."}
//
// with status_code equal to the HTTP status. The mapping from the domain's
// auth.Code to (status, error_type, error_message) lives in one table,
// errorTable in errors.go; a client mistake never yields a 5xx.
//
// Decisions worth knowing:
//
//   - A wrong code is 400 invalid_otp "Invalid OTP Code." (the seed's body).
//     A code whose challenge is dead (expired, already used, superseded or
//     locked after too many wrong tries) is 400 otp_expired, so a UI can offer
//     "send a new code" instead of "try again"; the status stays 400 so
//     clients that only look at the status treat both alike. No code value is
//     checked against a dead challenge, so otp_expired reveals nothing about
//     the code.
//   - An otp that is not 6 digits is answered like a wrong code (400
//     invalid_otp "Invalid OTP Code.") without counting an attempt; a
//     missing otp is 400 invalid_request "otp is required.".
//   - A method_id that never received a code (unknown, or another
//     project's) is 404 otp_not_found; a malformed one is 400
//     invalid_method_id.
//   - A magic link token that does not exist (or is missing) is 400
//     invalid_magic_token; one that was already used or is expired is 400
//     magic_link_expired.
//   - Duplicates are 400 duplicate_email / duplicate_phone_number, as
//     Streambird does (not 409); other conflicts (inviting an active user)
//     are 400 conflict.
//   - Minute ranges: expires_in 1–10 (default 1) for codes;
//     login_expires_in / registration_expires_in 5–10080 (default 60);
//     invite_expires_in 5–10080 (default 10080); magic_links/create
//     expires_in 5–10080 (default 60); session_expires_in 5–525600 (absent:
//     no new session). Out of range is 400 invalid_expires_in /
//     invalid_session_expires_in naming the field; a non-number is 400
//     invalid_request naming the field.
//   - Strings holding NUL characters (in bodies, paths or queries) and
//     paths or queries that are not valid UTF-8 are 400 invalid_request:
//     storage cannot hold them and they are never legitimate.
//   - Session arguments: none is 400 no_session_arguments, more than one is
//     400 too_many_session_arguments, an unknown token 404
//     session_not_found, an unparsable or foreign JWT 400
//     invalid_session_jwt.
//   - The update route accepts the seed's invalid body
//     {"phone_numbers": ["phone_number": "+1..."]}: when strict decoding
//     fails on syntax, arrays of bare "key": value pairs are rewritten as
//     arrays of one-pair objects and the result decoded strictly.
//   - Attaching an email or phone number the user already has is a no-op,
//     so "update" with the user's own number succeeds.
//   - The streambird-node SDK's doubled update path
//     (/v1/auth/users/auth/users/{user_id}/update) and its misspelled
//     requies_verification field are accepted.
package streambird

import (
	"fmt"
	"log/slog"
	"net/http"
	"path"
	"strings"

	"github.com/sesame-auth/sesame/internal/api/httpx"
	"github.com/sesame-auth/sesame/internal/auth"
)

// Options configure the handler.
type Options struct {
	// TrustProxy takes the client IP from X-Forwarded-For (first entry)
	// instead of the connection's remote address. Default false.
	TrustProxy bool
	// Logger receives internal errors (never request bodies, codes or
	// tokens). Default: discard.
	Logger *slog.Logger
}

// maxSecretLen bounds the bearer secret; longer values are rejected without
// a store lookup.
const maxSecretLen = 512

type handler struct {
	svc  *auth.Service
	opts Options
	log  *slog.Logger
	mux  *http.ServeMux
}

// apiFunc serves one authenticated request. It writes the success response
// itself and returns any error for the dialect's error table.
type apiFunc func(w http.ResponseWriter, r *http.Request, p *auth.Project) error

// NewHandler returns the Streambird dialect. Mount it so that it receives
// paths starting with /v1/auth/ unchanged.
func NewHandler(svc *auth.Service, opts Options) http.Handler {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &handler{svc: svc, opts: opts, log: log, mux: http.NewServeMux()}
	h.routes()
	return h
}

func (h *handler) routes() {
	const v = "/v1/auth"
	// Users.
	h.handle("POST "+v+"/users/create", h.createUser)
	h.handle("GET "+v+"/users/{user_id}", h.getUser)
	for _, m := range []string{"POST", "PUT"} {
		h.handle(m+" "+v+"/users/{user_id}/update", h.updateUser)
		// streambird-node builds this doubled path (SDK bug).
		h.handle(m+" "+v+"/users/auth/users/{user_id}/update", h.updateUser)
	}
	h.handle("DELETE "+v+"/users/{user_id}/delete", h.deleteUser)
	h.handle("DELETE "+v+"/users/emails/{email_id}/delete", h.deleteEmail)
	h.handle("DELETE "+v+"/users/phone_numbers/{phone_number_id}/delete", h.deletePhone)
	h.handle("POST "+v+"/users/search", h.searchUsers)

	// One-time codes.
	h.handle("POST "+v+"/otps/sms/send", h.sendOTP(auth.ChannelSMS, false))
	h.handle("POST "+v+"/otps/sms/login_or_create", h.sendOTP(auth.ChannelSMS, true))
	h.handle("POST "+v+"/otps/email/send", h.sendOTP(auth.ChannelEmail, false))
	h.handle("POST "+v+"/otps/email/login_or_create", h.sendOTP(auth.ChannelEmail, true))
	h.handle("POST "+v+"/otps/verify", h.verifyOTP)
	h.handle("POST "+v+"/totps/create", h.createTOTP) // TOTP (beta): totps.go
	h.handle("POST "+v+"/totps/verify", h.verifyTOTP)

	// Magic links.
	h.handle("POST "+v+"/magic_links/email/login_or_create", h.magicLinkLoginOrCreate)
	h.handle("POST "+v+"/magic_links/invite", h.magicLinkInvite)
	h.handle("POST "+v+"/magic_links/create", h.magicLinkCreate)
	h.handle("POST "+v+"/magic_links/verify", h.magicLinkVerify)

	// Sessions and keys.
	h.handle("POST "+v+"/sessions/verify", h.verifySession)
	h.handle("GET "+v+"/sessions/list", h.listSessions)
	h.handle("DELETE "+v+"/sessions/delete", h.deleteSession)
	h.handleWith("GET "+v+"/jwks/default", true, h.jwks)
}

func (h *handler) handle(pattern string, fn apiFunc) { h.handleWith(pattern, false, fn) }

// handleWith registers fn behind bearer authentication; queryKey also
// accepts the secret as ?api_key= when no Authorization header is sent.
func (h *handler) handleWith(pattern string, queryKey bool, fn apiFunc) {
	h.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		p, err := h.authenticate(r, queryKey)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		if err := checkURL(r); err != nil {
			h.writeError(w, r, err)
			return
		}
		if err := fn(w, r, p); err != nil {
			h.writeError(w, r, err)
		}
	})
}

// ServeHTTP answers unknown routes and wrong methods with JSON errors and
// turns a panic into a logged 500, then dispatches to the mux.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			h.log.ErrorContext(r.Context(), "streambird: panic serving request",
				"method", r.Method, "route", r.Pattern, "panic", fmt.Sprint(v))
			h.writeError(w, r, auth.Internal(fmt.Errorf("panic: %v", v)))
		}
	}()
	next, pattern := h.mux.Handler(r)
	if pattern != "" && !isCleanPath(r.URL.Path) {
		// The mux would answer with an HTML redirect; no client follows a
		// redirect of a POST with its body, so this is simply no route.
		pattern = ""
		next = http.NotFoundHandler()
	}
	if pattern == "" {
		// No route: ask the mux whether it is a 404 or a 405 (it knows the
		// allowed methods) without letting it write its text/plain body.
		rec := &headerRecorder{header: http.Header{}}
		next.ServeHTTP(rec, r)
		if rec.status == http.StatusMethodNotAllowed {
			allow := rec.header.Get("Allow")
			w.Header().Set("Allow", allow)
			writeErrorBody(w, http.StatusMethodNotAllowed, "method_not_allowed",
				fmt.Sprintf("Method %s is not allowed on %s; allowed: %s.", r.Method, r.URL.Path, allow))
			return
		}
		writeErrorBody(w, http.StatusNotFound, "route_not_found",
			fmt.Sprintf("No route %s %s.", r.Method, r.URL.Path))
		return
	}
	h.mux.ServeHTTP(w, r)
}

// isCleanPath reports whether p has no empty, "." or ".." segments (the
// paths the mux would redirect).
func isCleanPath(p string) bool {
	c := path.Clean(p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c == p
}

// headerRecorder captures the status and headers of the mux's own 404/405
// handlers and drops their bodies.
type headerRecorder struct {
	header http.Header
	status int
}

func (rr *headerRecorder) Header() http.Header { return rr.header }
func (rr *headerRecorder) WriteHeader(code int) {
	if rr.status == 0 {
		rr.status = code
	}
}
func (rr *headerRecorder) Write(b []byte) (int, error) {
	if rr.status == 0 {
		rr.status = http.StatusOK
	}
	return len(b), nil
}

// authenticate resolves the request's project from its bearer secret.
func (h *handler) authenticate(r *http.Request, queryKey bool) (*auth.Project, error) {
	secret, err := bearerSecret(r, queryKey)
	if err != nil {
		return nil, err
	}
	p, err := h.svc.AuthenticateBearer(r.Context(), secret)
	if err != nil {
		if auth.ErrorCode(err) == auth.EUnauthorized {
			return nil, &auth.Error{Code: auth.EUnauthorized, Message: "The API key is invalid."}
		}
		return nil, err
	}
	return p, nil
}

func bearerSecret(r *http.Request, queryKey bool) (string, error) {
	hdr := strings.TrimSpace(r.Header.Get("Authorization"))
	if hdr == "" {
		if queryKey {
			if k := strings.TrimSpace(r.URL.Query().Get("api_key")); k != "" {
				return checkSecret(k)
			}
		}
		return "", &auth.Error{Code: auth.EUnauthorized, Message: "Missing API key: send the header Authorization: Bearer <secret key>."}
	}
	scheme, rest, _ := strings.Cut(hdr, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", &auth.Error{Code: auth.EUnauthorized, Message: "The Authorization header must use the Bearer scheme: Authorization: Bearer <secret key>."}
	}
	return checkSecret(strings.TrimSpace(rest))
}

func checkSecret(s string) (string, error) {
	if s == "" {
		return "", &auth.Error{Code: auth.EUnauthorized, Message: "Missing API key: send the header Authorization: Bearer <secret key>."}
	}
	if len(s) > maxSecretLen {
		return "", &auth.Error{Code: auth.EUnauthorized, Message: "The API key is invalid."}
	}
	return s, nil
}

// writeOK writes a 200 JSON success body.
func writeOK(w http.ResponseWriter, v any) { httpx.WriteJSON(w, http.StatusOK, v) }
