package streambird

import (
	"net/http"
	"strings"

	"github.com/sesame-auth/sesame/internal/auth"
)

type verifySessionRequest struct {
	SessionToken      string             `json:"session_token"`
	SessionJWT        string             `json:"session_jwt"`
	SessionExpiresIn  optInt             `json:"session_expires_in"`
	DeviceFingerprint *deviceFingerprint `json:"device_fingerprint"`
}

type verifySessionResponse struct {
	Session      *sessionJSON `json:"session"`
	SessionToken string       `json:"session_token"`
	SessionJWT   string       `json:"session_jwt"`
}

// verifySession checks a session by token or JWT (exactly one) and, with
// session_expires_in, extends it to now + that many minutes.
func (h *handler) verifySession(w http.ResponseWriter, r *http.Request, p *auth.Project) error {
	var req verifySessionRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	switch {
	case req.SessionToken == "" && req.SessionJWT == "":
		return &auth.Error{Code: auth.ENoSessionArgs, Message: "session_token or session_jwt is required."}
	case req.SessionToken != "" && req.SessionJWT != "":
		return &auth.Error{Code: auth.ETooManySessionArgs, Message: "Provide only one of session_token and session_jwt."}
	}
	d, err := sessionMinutes(req.SessionExpiresIn)
	if err != nil {
		return err
	}
	attrs, err := h.attributes(r, req.DeviceFingerprint)
	if err != nil {
		return err
	}
	res, err := h.svc.AuthenticateSession(r.Context(), p, auth.AuthenticateSessionInput{
		Token: req.SessionToken, JWT: req.SessionJWT, Duration: d, Attributes: attrs,
	})
	if err != nil {
		return err
	}
	token := res.SessionToken
	if token == "" && res.Session != nil {
		token = res.Session.Token
	}
	writeOK(w, verifySessionResponse{Session: renderSession(res.Session, token), SessionToken: token, SessionJWT: res.SessionJWT})
	return nil
}

type listSessionsResponse struct {
	Sessions []*sessionJSON `json:"sessions"`
}

// listSessions returns the live sessions of ?user_id=, each with its token.
// An unknown user (or another project's) is 404 user_not_found.
func (h *handler) listSessions(w http.ResponseWriter, r *http.Request, p *auth.Project) error {
	userID := strings.TrimSpace(r.URL.Query().Get("user_id"))
	if err := required("user_id", userID); err != nil {
		return err
	}
	if _, err := h.svc.GetUser(r.Context(), p, userID); err != nil {
		return err
	}
	ss, err := h.svc.ListSessions(r.Context(), p, userID)
	if err != nil {
		return err
	}
	out := listSessionsResponse{Sessions: make([]*sessionJSON, 0, len(ss))}
	for _, s := range ss {
		out.Sessions = append(out.Sessions, renderSession(s, ""))
	}
	writeOK(w, out)
	return nil
}

type deleteSessionRequest struct {
	SessionToken string `json:"session_token"`
	SessionJWT   string `json:"session_jwt"`
	SessionID    string `json:"session_id"`
}

type messageResponse struct {
	Message string `json:"message"`
}

// deleteSession revokes the session named by exactly one of session_token,
// session_jwt and session_id (a JSON body on DELETE).
func (h *handler) deleteSession(w http.ResponseWriter, r *http.Request, p *auth.Project) error {
	var req deleteSessionRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	n := 0
	for _, s := range []string{req.SessionToken, req.SessionJWT, req.SessionID} {
		if s != "" {
			n++
		}
	}
	switch n {
	case 0:
		return &auth.Error{Code: auth.ENoSessionArgs, Message: "One of session_token, session_jwt or session_id is required."}
	case 1:
	default:
		return &auth.Error{Code: auth.ETooManySessionArgs, Message: "Provide exactly one of session_token, session_jwt or session_id."}
	}
	if err := h.svc.RevokeSession(r.Context(), p, auth.RevokeSessionInput{SessionID: req.SessionID, Token: req.SessionToken, JWT: req.SessionJWT}); err != nil {
		return err
	}
	writeOK(w, messageResponse{Message: "Successfully deleted session"})
	return nil
}

// jwks serves the authenticated project's public keys ({"keys": [...]}).
func (h *handler) jwks(w http.ResponseWriter, r *http.Request, p *auth.Project) error {
	doc, err := h.svc.JWKS(r.Context(), p)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(doc)
	return nil
}
