package stytch

import (
	"encoding/json"
	"net/http"

	"github.com/sesame-auth/sesame/internal/api/httpx"
	"github.com/sesame-auth/sesame/internal/auth"
)

// b2bSendResponse is the body of the B2B sends: login_or_signup (with
// member_created), invite and otps/sms/send.
type b2bSendResponse struct {
	meta
	MemberID      string           `json:"member_id"`
	MemberCreated *bool            `json:"member_created,omitempty"`
	Member        memberJSON       `json:"member"`
	Organization  organizationJSON `json:"organization"`
}

func newB2BSendResponse(res *auth.B2BSendResult, loginOrSignup bool) *b2bSendResponse {
	out := &b2bSendResponse{
		MemberID:     res.Member.ID,
		Member:       newMemberJSON(res.Member, res.Organization),
		Organization: newOrganizationJSON(res.Organization),
	}
	if loginOrSignup {
		created := res.MemberCreated
		out.MemberCreated = &created
	}
	return out
}

type b2bLoginOrSignupRequest struct {
	OrganizationID          string `json:"organization_id"`
	EmailAddress            string `json:"email_address"`
	LoginRedirectURL        string `json:"login_redirect_url"`
	SignupRedirectURL       string `json:"signup_redirect_url"`
	PKCECodeChallenge       string `json:"pkce_code_challenge"`
	LoginTemplateID         string `json:"login_template_id"`  // accepted, ignored
	SignupTemplateID        string `json:"signup_template_id"` // accepted, ignored
	Locale                  string `json:"locale"`
	LoginExpirationMinutes  *int   `json:"login_expiration_minutes"`
	SignupExpirationMinutes *int   `json:"signup_expiration_minutes"`
}

// input checks the request and turns it into the service's input.
func (req *b2bLoginOrSignupRequest) input() (auth.B2BEmailLoginInput, error) {
	if err := checkBounds(
		bounded{"organization_id", req.OrganizationID, maxRefLen},
		bounded{"email_address", req.EmailAddress, maxEmailLen},
		bounded{"login_redirect_url", req.LoginRedirectURL, maxURLLen},
		bounded{"signup_redirect_url", req.SignupRedirectURL, maxURLLen},
		bounded{"pkce_code_challenge", req.PKCECodeChallenge, maxTokenLen},
		bounded{"login_template_id", req.LoginTemplateID, maxExtraLen},
		bounded{"signup_template_id", req.SignupTemplateID, maxExtraLen},
		bounded{"locale", req.Locale, maxLocaleLen},
	); err != nil {
		return auth.B2BEmailLoginInput{}, err
	}
	return auth.B2BEmailLoginInput{
		OrganizationID:   req.OrganizationID,
		EmailAddress:     req.EmailAddress,
		LoginURL:         req.LoginRedirectURL,
		SignupURL:        req.SignupRedirectURL,
		CodeChallenge:    req.PKCECodeChallenge,
		Locale:           req.Locale,
		LoginExpiration:  minutes(req.LoginExpirationMinutes),
		SignupExpiration: minutes(req.SignupExpirationMinutes),
	}, nil
}

// POST /v1/b2b/magic_links/email/login_or_signup: emails a login link to
// the organization's member with that email, or signs one up (JIT by
// allowed domain; pending and invited members get a signup link).
// organization_id takes an id, slug or external id. Link expiry in
// minutes: login and signup default 60, each 5–10080.
func (h *handler) b2bLoginOrSignup(r *http.Request, p *auth.Project) (response, error) {
	var req b2bLoginOrSignupRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return nil, err
	}
	in, err := req.input()
	if err != nil {
		return nil, err
	}
	res, err := h.svc.B2BLoginOrSignup(r.Context(), p, in)
	if err != nil {
		return nil, err
	}
	return newB2BSendResponse(res, true), nil
}

type b2bInviteRequest struct {
	OrganizationID          string          `json:"organization_id"`
	EmailAddress            string          `json:"email_address"`
	InviteRedirectURL       string          `json:"invite_redirect_url"`
	InvitedByMemberID       string          `json:"invited_by_member_id"`
	Name                    *string         `json:"name"`
	TrustedMetadata         json.RawMessage `json:"trusted_metadata"`
	UntrustedMetadata       json.RawMessage `json:"untrusted_metadata"`
	InviteTemplateID        string          `json:"invite_template_id"` // accepted, ignored
	Locale                  string          `json:"locale"`
	Roles                   []string        `json:"roles"`
	InviteExpirationMinutes *int            `json:"invite_expiration_minutes"`
}

// POST /v1/b2b/magic_links/email/invite: creates (or re-invites) the member
// as invited and emails an invite link (default 10080 minutes, 5–10080).
// With X-Stytch-Member-Session(JWT), the caller must be allowed to invite.
func (h *handler) b2bInvite(r *http.Request, p *auth.Project) (response, error) {
	var req b2bInviteRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return nil, err
	}
	fields := []bounded{
		{"organization_id", req.OrganizationID, maxRefLen},
		{"email_address", req.EmailAddress, maxEmailLen},
		{"invite_redirect_url", req.InviteRedirectURL, maxURLLen},
		{"invited_by_member_id", req.InvitedByMemberID, maxRefLen},
		{"invite_template_id", req.InviteTemplateID, maxExtraLen},
		{"locale", req.Locale, maxLocaleLen},
	}
	if req.Name != nil {
		fields = append(fields, bounded{"name", *req.Name, maxNameLen})
	}
	if len(req.Roles) > 100 {
		return nil, auth.Invalid("roles", "roles may name at most 100 roles.")
	}
	for _, role := range req.Roles {
		fields = append(fields, bounded{"roles", role, maxRefLen})
	}
	if err := checkBounds(fields...); err != nil {
		return nil, err
	}
	res, err := h.svc.B2BInvite(r.Context(), p, auth.B2BInviteInput{
		OrganizationID:    req.OrganizationID,
		EmailAddress:      req.EmailAddress,
		URL:               req.InviteRedirectURL,
		InvitedByMemberID: req.InvitedByMemberID,
		Name:              req.Name,
		TrustedMetadata:   metadata(req.TrustedMetadata),
		UntrustedMetadata: metadata(req.UntrustedMetadata),
		RoleIDs:           req.Roles,
		Locale:            req.Locale,
		Expiration:        minutes(req.InviteExpirationMinutes),
		Caller:            callerOf(r),
	})
	if err != nil {
		return nil, err
	}
	return newB2BSendResponse(res, false), nil
}

type b2bAuthenticateMagicLinkRequest struct {
	MagicLinksToken  string `json:"magic_links_token"`
	PKCECodeVerifier string `json:"pkce_code_verifier"`
	Locale           string `json:"locale"`
	b2bSessionFields
}

// POST /v1/b2b/magic_links/authenticate: the primary factor. With MFA
// required (the organization's REQUIRED_FOR_ALL or an enrolled member) the
// answer is member_authenticated false with an intermediate session token
// and mfa_required; otherwise a member session (default 60 minutes).
// session_token or session_jwt of a live member session adds the factor
// to that session instead.
func (h *handler) b2bAuthenticateMagicLink(r *http.Request, p *auth.Project) (response, error) {
	var req b2bAuthenticateMagicLinkRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return nil, err
	}
	if err := checkBounds(
		bounded{"magic_links_token", req.MagicLinksToken, maxTokenLen},
		bounded{"pkce_code_verifier", req.PKCECodeVerifier, maxTokenLen},
		bounded{"locale", req.Locale, maxLocaleLen},
	); err != nil {
		return nil, err
	}
	sr, err := h.b2bSessionRequest(r, req.b2bSessionFields)
	if err != nil {
		return nil, err
	}
	res, err := h.svc.B2BAuthenticateMagicLink(r.Context(), p, auth.B2BAuthenticateMagicLinkInput{
		Token:        req.MagicLinksToken,
		CodeVerifier: req.PKCECodeVerifier,
		Session:      sr,
		Locale:       req.Locale,
	})
	if err != nil {
		return nil, err
	}
	return newMemberAuthResponse(res, true), nil
}
