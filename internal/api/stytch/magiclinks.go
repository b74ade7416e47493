package stytch

import (
	"encoding/json"
	"net/http"

	"github.com/sesame-auth/sesame/internal/api/httpx"
	"github.com/sesame-auth/sesame/internal/auth"
)

type sendMagicLinkRequest struct {
	Email                   string          `json:"email"`
	LoginMagicLinkURL       string          `json:"login_magic_link_url"`
	SignupMagicLinkURL      string          `json:"signup_magic_link_url"`
	LoginExpirationMinutes  *int            `json:"login_expiration_minutes"`
	SignupExpirationMinutes *int            `json:"signup_expiration_minutes"`
	CodeChallenge           string          `json:"code_challenge"`
	Attributes              *attributesJSON `json:"attributes"`
	Locale                  string          `json:"locale"`
	CreateUserAsPending     bool            `json:"create_user_as_pending"`
	UserID                  string          `json:"user_id"`
	SessionToken            string          `json:"session_token"`
	SessionJWT              string          `json:"session_jwt"`
}

// POST /v1/magic_links/email/{send,login_or_create}
//
// The emailed URL is {login|signup}_magic_link_url (or the project default)
// with ?stytch_token_type=magic_links&token=<token>. Expiry in minutes:
// login default 60, signup default 10080, each 5–10080.
func (h *handler) sendMagicLink(loginOrCreate bool) endpoint {
	return func(r *http.Request, p *auth.Project) (response, error) {
		var req sendMagicLinkRequest
		if err := httpx.DecodeJSON(r, &req); err != nil {
			return nil, err
		}
		in := auth.SendMagicLinkInput{
			Email:            req.Email,
			LoginOrCreate:    loginOrCreate,
			LoginURL:         req.LoginMagicLinkURL,
			SignupURL:        req.SignupMagicLinkURL,
			LoginExpiration:  minutes(req.LoginExpirationMinutes),
			SignupExpiration: minutes(req.SignupExpirationMinutes),
			CodeChallenge:    req.CodeChallenge,
			Locale:           req.Locale,
		}
		if loginOrCreate {
			in.CreatePending = req.CreateUserAsPending
		} else {
			in.UserID, in.SessionToken, in.SessionJWT = req.UserID, req.SessionToken, req.SessionJWT
		}
		res, err := h.svc.SendMagicLink(r.Context(), p, in)
		if err != nil {
			return nil, err
		}
		return newSendResponse(res, true, loginOrCreate), nil
	}
}

type inviteRequest struct {
	Email                   string          `json:"email"`
	Name                    *auth.Name      `json:"name"`
	InviteMagicLinkURL      string          `json:"invite_magic_link_url"`
	InviteExpirationMinutes *int            `json:"invite_expiration_minutes"`
	Attributes              *attributesJSON `json:"attributes"`
	Locale                  string          `json:"locale"`
	TrustedMetadata         json.RawMessage `json:"trusted_metadata"`
	UntrustedMetadata       json.RawMessage `json:"untrusted_metadata"`
}

// POST /v1/magic_links/email/invite: creates a pending user (if the email
// is new) and emails an invite link.
func (h *handler) inviteMagicLink(r *http.Request, p *auth.Project) (response, error) {
	var req inviteRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return nil, err
	}
	in := auth.InviteInput{
		Email:             req.Email,
		URL:               req.InviteMagicLinkURL,
		Expiration:        minutes(req.InviteExpirationMinutes),
		Locale:            req.Locale,
		TrustedMetadata:   metadata(req.TrustedMetadata),
		UntrustedMetadata: metadata(req.UntrustedMetadata),
	}
	if req.Name != nil {
		in.Name = *req.Name
	}
	res, err := h.svc.InviteMagicLink(r.Context(), p, in)
	if err != nil {
		return nil, err
	}
	return newSendResponse(res, true, false), nil
}

// POST /v1/magic_links/email/revoke_invite
func (h *handler) revokeInvite(r *http.Request, p *auth.Project) (response, error) {
	var req struct {
		Email string `json:"email"`
	}
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return nil, err
	}
	if err := h.svc.RevokeInvite(r.Context(), p, req.Email); err != nil {
		return nil, err
	}
	return &emptyResponse{}, nil
}

type createMagicLinkResponse struct {
	meta
	UserID string `json:"user_id"`
	Token  string `json:"token"`
}

// POST /v1/magic_links: an embeddable link token for an existing user;
// nothing is sent. expiration_minutes 5–10080, default 60.
func (h *handler) createMagicLink(r *http.Request, p *auth.Project) (response, error) {
	var req struct {
		UserID            string          `json:"user_id"`
		ExpirationMinutes *int            `json:"expiration_minutes"`
		Attributes        *attributesJSON `json:"attributes"`
	}
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return nil, err
	}
	token, err := h.svc.CreateEmbeddedMagicLink(r.Context(), p, req.UserID, minutes(req.ExpirationMinutes))
	if err != nil {
		return nil, err
	}
	return &createMagicLinkResponse{UserID: req.UserID, Token: token}, nil
}

type authenticateMagicLinkRequest struct {
	Token        string `json:"token"`
	CodeVerifier string `json:"code_verifier"`
	sessionFields
}

// POST /v1/magic_links/authenticate (PKCE: code_verifier answers the
// code_challenge the link was sent with).
func (h *handler) authenticateMagicLink(r *http.Request, p *auth.Project) (response, error) {
	var req authenticateMagicLinkRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return nil, err
	}
	res, err := h.svc.AuthenticateMagicLink(r.Context(), p, auth.AuthenticateMagicLinkInput{
		Token:        req.Token,
		CodeVerifier: req.CodeVerifier,
		Session:      h.sessionRequest(r, req.sessionFields),
	})
	if err != nil {
		return nil, err
	}
	return newAuthResponse(res), nil
}
