package stytch

import (
	"encoding/json"
	"net/http"

	"github.com/sesame-auth/sesame/internal/api/httpx"
	"github.com/sesame-auth/sesame/internal/auth"
)

type listSessionsResponse struct {
	meta
	Sessions []*sessionJSON `json:"sessions"`
}

// GET /v1/sessions?user_id=…: the user's active sessions.
func (h *handler) listSessions(r *http.Request, p *auth.Project) (response, error) {
	list, err := h.svc.ListSessions(r.Context(), p, r.URL.Query().Get("user_id"))
	if err != nil {
		return nil, err
	}
	resp := &listSessionsResponse{Sessions: make([]*sessionJSON, 0, len(list))}
	for _, s := range list {
		resp.Sessions = append(resp.Sessions, newSessionJSON(s))
	}
	return resp, nil
}

type authenticateSessionRequest struct {
	sessionFields
	AuthorizationCheck json.RawMessage `json:"authorization_check"`
}

type authenticateSessionResponse struct {
	meta
	Session      *sessionJSON `json:"session"`
	SessionToken string       `json:"session_token"`
	SessionJWT   string       `json:"session_jwt"`
	User         userJSON     `json:"user"`
}

// POST /v1/sessions/authenticate: exactly one of session_token and
// session_jwt (a JWT past its exp is accepted while the session lives);
// session_duration_minutes extends the session from now; a fresh JWT is
// always returned.
func (h *handler) authenticateSession(r *http.Request, p *auth.Project) (response, error) {
	var req authenticateSessionRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return nil, err
	}
	if !absent(req.AuthorizationCheck) {
		return nil, auth.Invalid("authorization_check", "authorization_check is not supported: Sesame has no RBAC policy.")
	}
	sr := h.sessionRequest(r, req.sessionFields)
	res, err := h.svc.AuthenticateSession(r.Context(), p, auth.AuthenticateSessionInput{
		Token: sr.Token, JWT: sr.JWT, Duration: sr.Duration, CustomClaims: sr.CustomClaims,
		Attributes: sr.Attributes, Options: sr.Options,
	})
	if err != nil {
		return nil, err
	}
	return &authenticateSessionResponse{
		Session:      newSessionJSON(res.Session),
		SessionToken: res.SessionToken,
		SessionJWT:   res.SessionJWT,
		User:         newUserJSON(res.User),
	}, nil
}

// POST /v1/sessions/revoke: exactly one of session_id, session_token and
// session_jwt.
func (h *handler) revokeSession(r *http.Request, p *auth.Project) (response, error) {
	var req struct {
		SessionID    string `json:"session_id"`
		SessionToken string `json:"session_token"`
		SessionJWT   string `json:"session_jwt"`
	}
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return nil, err
	}
	n := 0
	for _, v := range []string{req.SessionID, req.SessionToken, req.SessionJWT} {
		if v != "" {
			n++
		}
	}
	switch {
	case n == 0:
		return nil, auth.Errorf(codeNoRevokeArgs, "One of session_id, session_token or session_jwt is required.")
	case n > 1:
		return nil, auth.Errorf(codeTooManyRevokeArgs, "Only one of session_id, session_token or session_jwt may be given.")
	}
	err := h.svc.RevokeSession(r.Context(), p, auth.RevokeSessionInput{SessionID: req.SessionID, Token: req.SessionToken, JWT: req.SessionJWT})
	if err != nil {
		return nil, err
	}
	return &emptyResponse{}, nil
}

type jwksResponse struct {
	meta
	Keys []json.RawMessage `json:"keys"`
}

// GET /v1/sessions/jwks/{project_id}: public, no credentials (jose's
// remote key set fetches it without an Authorization header).
func (h *handler) jwks(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("project_id")
	rid := httpx.RequestID(&auth.Project{ID: id})
	doc, err := h.svc.JWKSByProjectID(r.Context(), id)
	if err != nil {
		h.writeError(w, r, rid, err)
		return
	}
	resp := &jwksResponse{}
	if err := json.Unmarshal(doc, resp); err != nil {
		h.writeError(w, r, rid, auth.Internal(err))
		return
	}
	if resp.Keys == nil {
		resp.Keys = []json.RawMessage{}
	}
	resp.setMeta(rid)
	httpx.WriteJSON(w, http.StatusOK, resp)
}
