// Package stytch serves Sesame's Stytch dialect: the consumer (B2C) API of
// Stytch under /v1/users, /v1/otps, /v1/magic_links and /v1/sessions, with
// the request and response shapes the official stytch npm SDK (14.2.0)
// expects. Requests authenticate with HTTP Basic base64(project_id:secret);
// only the JWKS route is public.
//
// Every response is JSON. Success bodies carry request_id and status_code
// 200; error bodies are {status_code, request_id, error_type,
// error_message, error_url} and never have a top-level "error" key (the SDK
// would read it as an OAuth2 error and lose error_type). Errors map from
// auth.Code through the one table in errors.go.
//
// The B2B API (/v1/b2b/...: organizations, members, email magic links,
// SMS and email codes, member sessions, discovery) is routed in
// b2b_routes.go on the same core services.
package stytch

import (
	"log/slog"
	"net/http"
	"strings"

	"github.com/sesame-auth/sesame/internal/api/httpx"
	"github.com/sesame-auth/sesame/internal/auth"
)

// Options configure the handler. The zero value is the default.
type Options struct {
	// TrustProxy takes the client IP address of a request from the first
	// X-Forwarded-For entry instead of the connection's remote address. Set
	// it only behind a proxy that overwrites that header. Default false.
	TrustProxy bool
	// Logger receives internal (5xx) errors with their request id. It never
	// receives codes, tokens or secrets. Default: discard.
	Logger *slog.Logger
}

type handler struct {
	svc  *auth.Service
	opts Options
	log  *slog.Logger
}

// endpoint serves one authenticated route and returns the success body.
// The wrapper fills its request_id and status_code.
type endpoint func(r *http.Request, p *auth.Project) (response, error)

// response is a success body; meta implements it.
type response interface{ setMeta(requestID string) }

// meta is embedded in every success body.
type meta struct {
	RequestID  string `json:"request_id"`
	StatusCode int    `json:"status_code"`
}

func (m *meta) setMeta(id string) { m.RequestID, m.StatusCode = id, http.StatusOK }

// NewHandler returns the Stytch dialect's routes. Unknown paths answer 404
// and known paths with another method 405, both as Stytch error bodies.
func NewHandler(svc *auth.Service, opts Options) http.Handler {
	h := &handler{svc: svc, opts: opts, log: opts.Logger}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	// rt answers requests no route took: 405 when the path exists under
	// another method, else 404.
	rt := httpx.NewRouter()
	route := rt.HandleFunc

	route("POST /v1/users", h.api(h.createUser))
	route("POST /v1/users/search", h.api(h.searchUsers))
	route("GET /v1/users/{user_id}", h.api(h.getUser))
	route("PUT /v1/users/{user_id}", h.api(h.updateUser))
	route("DELETE /v1/users/{user_id}", h.api(h.deleteUser))
	route("DELETE /v1/users/emails/{email_id}", h.api(h.deleteEmail))
	route("DELETE /v1/users/phone_numbers/{phone_id}", h.api(h.deletePhone))

	route("POST /v1/otps/sms/send", h.api(h.sendOTP(auth.ChannelSMS, false)))
	route("POST /v1/otps/sms/login_or_create", h.api(h.sendOTP(auth.ChannelSMS, true)))
	route("POST /v1/otps/whatsapp/send", h.api(h.sendOTP(auth.ChannelWhatsApp, false)))
	route("POST /v1/otps/whatsapp/login_or_create", h.api(h.sendOTP(auth.ChannelWhatsApp, true)))
	route("POST /v1/otps/email/send", h.api(h.sendOTP(auth.ChannelEmail, false)))
	route("POST /v1/otps/email/login_or_create", h.api(h.sendOTP(auth.ChannelEmail, true)))
	route("POST /v1/otps/authenticate", h.api(h.authenticateOTP))

	route("POST /v1/magic_links", h.api(h.createMagicLink))
	route("POST /v1/magic_links/email/send", h.api(h.sendMagicLink(false)))
	route("POST /v1/magic_links/email/login_or_create", h.api(h.sendMagicLink(true)))
	route("POST /v1/magic_links/email/invite", h.api(h.inviteMagicLink))
	route("POST /v1/magic_links/email/revoke_invite", h.api(h.revokeInvite))
	route("POST /v1/magic_links/authenticate", h.api(h.authenticateMagicLink))

	route("GET /v1/sessions", h.api(h.listSessions))
	route("POST /v1/sessions/authenticate", h.api(h.authenticateSession))
	route("POST /v1/sessions/revoke", h.api(h.revokeSession))
	route("GET /v1/sessions/jwks/{project_id}", h.jwks)

	h.routeB2B(route)
	h.routeTOTP(route)

	rt.RefuseBadURLs(func(w http.ResponseWriter, r *http.Request, err error) {
		h.writeError(w, r, requestIDFor(r, nil), err)
	})

	return rt.Handler(func(w http.ResponseWriter, r *http.Request, status int) {
		err := errRouteNotFound
		if status == http.StatusMethodNotAllowed {
			err = errMethodNotAllowed
		}
		h.writeError(w, r, requestIDFor(r, nil), err)
	})
}

// api wraps an endpoint with Basic authentication and the JSON envelope.
func (h *handler) api(fn endpoint) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := h.authenticate(r)
		if err != nil {
			h.writeError(w, r, requestIDFor(r, nil), err)
			return
		}
		rid := requestIDFor(r, p)
		resp, err := fn(r, p)
		if err != nil {
			h.writeError(w, r, rid, err)
			return
		}
		resp.setMeta(rid)
		httpx.WriteJSON(w, http.StatusOK, resp)
	}
}

// authenticate checks the Basic credentials project_id:secret.
func (h *handler) authenticate(r *http.Request) (*auth.Project, error) {
	id, secret, ok := r.BasicAuth()
	if !ok {
		return nil, auth.Errorf(auth.EUnauthorized, "Unauthorized credentials.")
	}
	return h.svc.AuthenticateBasic(r.Context(), id, secret)
}

// requestIDFor returns a request id in the environment of the project, or
// of the project id the Basic credentials name when there is no project
// (yet): "request-id-live-…" for live projects, "request-id-test-…" else.
func requestIDFor(r *http.Request, p *auth.Project) string {
	if p == nil {
		if id, _, ok := r.BasicAuth(); ok && strings.HasPrefix(id, "project-live-") {
			p = &auth.Project{ID: id}
		}
	}
	return httpx.RequestID(p)
}

// attributes returns the end user's attributes: the body's values, with
// the request's own IP address and user agent for any the body leaves out.
func (h *handler) attributes(r *http.Request, body *attributesJSON) auth.Attributes {
	a := httpx.Attributes(r, h.opts.TrustProxy)
	if body != nil {
		if body.IPAddress != "" {
			a.IPAddress = body.IPAddress
		}
		if body.UserAgent != "" {
			a.UserAgent = body.UserAgent
		}
	}
	return a
}
