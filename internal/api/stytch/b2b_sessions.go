package stytch

import (
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/sesame-auth/sesame/internal/api/httpx"
	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/jwt"
)

// This file holds the member-session routes (§C.6) and the shapes every
// B2B authentication answer shares: MemberSession, MfaRequired,
// PrimaryRequired (§C.4) and the authenticate body of magic links, email
// codes, session exchange and discovery exchange/create.

// Bounds of B2B request strings. A longer value (or one with invalid
// UTF-8 or a NUL) is refused with 400 naming the field, before any lookup.
const (
	maxRefLen    = 128      // organization and member ids, slugs, external ids
	maxTokenLen  = 512      // magic-link tokens, ISTs, session tokens, PKCE values, codes
	maxJWTLen    = 16 << 10 // session JWTs (custom claims make them long)
	maxEmailLen  = 320
	maxURLLen    = 2048
	maxLocaleLen = 35  // RFC 5646's minimum buffer for a language tag
	maxExtraLen  = 256 // accepted and ignored: template ids, telemetry id
	maxNameLen   = 256
)

// bounded is one request string and its bound.
type bounded struct {
	name  string
	value string
	max   int
}

// checkBounds refuses the first field that is too long or not clean text.
func checkBounds(fs ...bounded) error {
	for _, f := range fs {
		if len(f.value) > f.max {
			return auth.Invalid(f.name, "%s must be at most %d characters.", f.name, f.max)
		}
		if !utf8.ValidString(f.value) || strings.ContainsRune(f.value, 0) {
			return auth.Invalid(f.name, "%s must be valid UTF-8 without NUL characters.", f.name)
		}
	}
	return nil
}

// b2bSessionFields are the session parameters of the B2B authenticate
// calls. session_duration_minutes absent means the B2B default (60); B2B
// authenticate always starts a session once MFA is satisfied.
type b2bSessionFields struct {
	SessionToken           string         `json:"session_token"`
	SessionJWT             string         `json:"session_jwt"`
	IST                    string         `json:"intermediate_session_token"`
	SessionDurationMinutes *int           `json:"session_duration_minutes"`
	SessionCustomClaims    map[string]any `json:"session_custom_claims"`
	TelemetryID            string         `json:"telemetry_id"` // accepted, ignored
}

// b2bSessionRequest checks the session fields and turns them into the
// service's request.
func (h *handler) b2bSessionRequest(r *http.Request, f b2bSessionFields) (auth.B2BSessionRequest, error) {
	if err := checkBounds(
		bounded{"session_token", f.SessionToken, maxTokenLen},
		bounded{"session_jwt", f.SessionJWT, maxJWTLen},
		bounded{"intermediate_session_token", f.IST, maxTokenLen},
		bounded{"telemetry_id", f.TelemetryID, maxExtraLen},
	); err != nil {
		return auth.B2BSessionRequest{}, err
	}
	return auth.B2BSessionRequest{
		Duration:     minutes(f.SessionDurationMinutes),
		Token:        f.SessionToken,
		JWT:          f.SessionJWT,
		IST:          f.IST,
		CustomClaims: f.SessionCustomClaims,
		Attributes:   h.attributes(r, nil),
	}, nil
}

// oneSessionArgument refuses a request naming more than one of an IST, a
// session token and a session JWT, or (when required) none of them.
func oneSessionArgument(required bool, ist, token, jwt string) error {
	n := 0
	for _, v := range []string{ist, token, jwt} {
		if v != "" {
			n++
		}
	}
	switch {
	case n > 1:
		return auth.Errorf(auth.ETooManySessionArgs, "Only one of intermediate_session_token, session_token and session_jwt may be given.")
	case n == 0 && required:
		return auth.Errorf(auth.ENoSessionArgs, "One of intermediate_session_token, session_token or session_jwt is required.")
	}
	return nil
}

// memberSessionJSON is the MemberSession object (§C.4).
type memberSessionJSON struct {
	MemberSessionID       string           `json:"member_session_id"`
	MemberID              string           `json:"member_id"`
	OrganizationID        string           `json:"organization_id"`
	OrganizationSlug      string           `json:"organization_slug"`
	StartedAt             string           `json:"started_at"`
	LastAccessedAt        string           `json:"last_accessed_at"`
	ExpiresAt             string           `json:"expires_at"`
	AuthenticationFactors []map[string]any `json:"authentication_factors"`
	Roles                 []string         `json:"roles"`
	CustomClaims          map[string]any   `json:"custom_claims"`
}

// newMemberSessionJSON shapes a member session; nil gives nil (null).
func newMemberSessionJSON(s *auth.Session) *memberSessionJSON {
	if s == nil {
		return nil
	}
	fs := jwt.StytchMemberFactors(s.Factors)
	roles := s.Roles
	if len(roles) == 0 {
		roles = []string{auth.RoleMember} // every member holds it
	}
	claims := s.CustomClaims
	if claims == nil {
		claims = map[string]any{}
	}
	return &memberSessionJSON{
		MemberSessionID:       s.ID,
		MemberID:              s.MemberID,
		OrganizationID:        s.OrganizationID,
		OrganizationSlug:      s.OrganizationSlug,
		StartedAt:             stytchTime(s.StartedAt),
		LastAccessedAt:        stytchTime(s.LastAccessedAt),
		ExpiresAt:             stytchTime(s.ExpiresAt),
		AuthenticationFactors: fs,
		Roles:                 roles,
		CustomClaims:          claims,
	}
}

// memberOptionsJSON is MfaRequired.member_options.
type memberOptionsJSON struct {
	MFAPhoneNumber     string `json:"mfa_phone_number"`
	TOTPRegistrationID string `json:"totp_registration_id"`
}

// mfaRequiredJSON is the MfaRequired object: member_options is null when
// the member has no second factor yet, secondary_auth_initiated is
// "sms_otp" when a code was sent at once and null otherwise.
type mfaRequiredJSON struct {
	MemberOptions          *memberOptionsJSON `json:"member_options"`
	SecondaryAuthInitiated *string            `json:"secondary_auth_initiated"`
}

func newMFARequiredJSON(m *auth.MFARequired) *mfaRequiredJSON {
	if m == nil {
		return nil
	}
	out := &mfaRequiredJSON{}
	if m.MFAPhoneNumber != "" || m.TOTPRegistrationID != "" {
		out.MemberOptions = &memberOptionsJSON{MFAPhoneNumber: m.MFAPhoneNumber, TOTPRegistrationID: m.TOTPRegistrationID}
	}
	if m.SecondaryAuthInitiated != "" {
		s := m.SecondaryAuthInitiated
		out.SecondaryAuthInitiated = &s
	}
	return out
}

// primaryRequiredJSON is the PrimaryRequired object.
type primaryRequiredJSON struct {
	AllowedAuthMethods []string `json:"allowed_auth_methods"`
}

func newPrimaryRequiredJSON(p *auth.PrimaryRequired) *primaryRequiredJSON {
	if p == nil {
		return nil
	}
	methods := p.AllowedAuthMethods
	if methods == nil {
		methods = []string{}
	}
	return &primaryRequiredJSON{AllowedAuthMethods: methods}
}

// memberAuthResponse is the body of magic_links/authenticate,
// otps/email/authenticate, sessions/exchange and the discovery exchange and
// create calls. While MFA (or another primary factor) is pending,
// member_authenticated is false, session_token and session_jwt are present
// and empty, member_session is null and intermediate_session_token is set.
type memberAuthResponse struct {
	meta
	MemberID       string  `json:"member_id"`
	MethodID       *string `json:"method_id,omitempty"`      // primary factors only
	ResetSessions  *bool   `json:"reset_sessions,omitempty"` // primary factors only (deprecated, false)
	OrganizationID string  `json:"organization_id"`

	Member       memberJSON       `json:"member"`
	Organization organizationJSON `json:"organization"`

	SessionToken string `json:"session_token"`
	SessionJWT   string `json:"session_jwt"`

	IntermediateSessionToken          string `json:"intermediate_session_token"`
	IntermediateSessionTokenExpiresAt string `json:"intermediate_session_token_expires_at,omitempty"`

	MemberAuthenticated bool                 `json:"member_authenticated"`
	MemberSession       *memberSessionJSON   `json:"member_session"`
	MFARequired         *mfaRequiredJSON     `json:"mfa_required"`
	PrimaryRequired     *primaryRequiredJSON `json:"primary_required"`
	MemberDevice        *struct{}            `json:"member_device"` // always null: no device fingerprinting
}

// newMemberAuthResponse shapes a B2B authentication result; withMethod
// adds method_id and reset_sessions (the primary-factor calls).
func newMemberAuthResponse(res *auth.MemberAuthResult, withMethod bool) *memberAuthResponse {
	out := &memberAuthResponse{
		MemberID:            res.Member.ID,
		OrganizationID:      res.Organization.ID,
		Member:              newMemberJSON(res.Member, res.Organization),
		Organization:        newOrganizationJSON(res.Organization),
		MemberAuthenticated: res.Authenticated,
		MFARequired:         newMFARequiredJSON(res.MFARequired),
		PrimaryRequired:     newPrimaryRequiredJSON(res.PrimaryRequired),
	}
	if withMethod {
		method, reset := res.MethodID, false
		out.MethodID, out.ResetSessions = &method, &reset
	}
	if res.Authenticated {
		out.SessionToken, out.SessionJWT = res.SessionToken, res.SessionJWT
		out.MemberSession = newMemberSessionJSON(res.Session)
	} else {
		out.IntermediateSessionToken = res.IST
		out.IntermediateSessionTokenExpiresAt = stytchTime(res.ISTExpiresAt)
	}
	return out
}

type listMemberSessionsResponse struct {
	meta
	MemberSessions []*memberSessionJSON `json:"member_sessions"`
}

// GET /v1/b2b/sessions?organization_id=…&member_id=…: the member's live
// sessions.
func (h *handler) listMemberSessions(r *http.Request, p *auth.Project) (response, error) {
	q := r.URL.Query()
	orgRef, memberRef := q.Get("organization_id"), q.Get("member_id")
	if err := checkBounds(bounded{"organization_id", orgRef, maxRefLen}, bounded{"member_id", memberRef, maxRefLen}); err != nil {
		return nil, err
	}
	list, err := h.svc.ListMemberSessions(r.Context(), p, orgRef, memberRef)
	if err != nil {
		return nil, err
	}
	resp := &listMemberSessionsResponse{MemberSessions: make([]*memberSessionJSON, 0, len(list))}
	for _, s := range list {
		resp.MemberSessions = append(resp.MemberSessions, newMemberSessionJSON(s))
	}
	return resp, nil
}

type authorizationCheckJSON struct {
	OrganizationID string `json:"organization_id"`
	ResourceID     string `json:"resource_id"`
	Action         string `json:"action"`
}

type authenticateMemberSessionRequest struct {
	SessionToken           string                  `json:"session_token"`
	SessionJWT             string                  `json:"session_jwt"`
	SessionDurationMinutes *int                    `json:"session_duration_minutes"`
	SessionCustomClaims    map[string]any          `json:"session_custom_claims"`
	AuthorizationCheck     *authorizationCheckJSON `json:"authorization_check"`
}

type verdictJSON struct {
	Authorized    bool     `json:"authorized"`
	GrantingRoles []string `json:"granting_roles"`
}

type authenticateMemberSessionResponse struct {
	meta
	MemberSession *memberSessionJSON `json:"member_session"`
	SessionToken  string             `json:"session_token"`
	SessionJWT    string             `json:"session_jwt"`
	Member        memberJSON         `json:"member"`
	Organization  organizationJSON   `json:"organization"`
	Verdict       *verdictJSON       `json:"verdict"` // null without authorization_check
}

// POST /v1/b2b/sessions/authenticate: exactly one of session_token and
// session_jwt of a member session (a consumer session is not found);
// session_duration_minutes extends it from now. With authorization_check,
// the verdict for the member's roles, and 403 when it is not authorized or
// names another organization.
func (h *handler) authenticateMemberSession(r *http.Request, p *auth.Project) (response, error) {
	var req authenticateMemberSessionRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return nil, err
	}
	if err := checkBounds(
		bounded{"session_token", req.SessionToken, maxTokenLen},
		bounded{"session_jwt", req.SessionJWT, maxJWTLen},
	); err != nil {
		return nil, err
	}
	in := auth.MemberSessionInput{
		Token:        req.SessionToken,
		JWT:          req.SessionJWT,
		Duration:     minutes(req.SessionDurationMinutes),
		CustomClaims: req.SessionCustomClaims,
	}
	if c := req.AuthorizationCheck; c != nil {
		if err := checkBounds(
			bounded{"authorization_check.organization_id", c.OrganizationID, maxRefLen},
			bounded{"authorization_check.resource_id", c.ResourceID, maxExtraLen},
			bounded{"authorization_check.action", c.Action, maxExtraLen},
		); err != nil {
			return nil, err
		}
		in.Authorization = &auth.AuthorizationCheck{OrganizationID: c.OrganizationID, ResourceID: c.ResourceID, Action: c.Action}
	}
	res, err := h.svc.AuthenticateMemberSession(r.Context(), p, in)
	if err != nil {
		return nil, err
	}
	resp := &authenticateMemberSessionResponse{
		MemberSession: newMemberSessionJSON(res.Session),
		SessionToken:  res.SessionToken,
		SessionJWT:    res.SessionJWT,
		Member:        newMemberJSON(res.Member, res.Organization),
		Organization:  newOrganizationJSON(res.Organization),
	}
	if v := res.Verdict; v != nil {
		roles := v.GrantingRoles
		if roles == nil {
			roles = []string{}
		}
		resp.Verdict = &verdictJSON{Authorized: v.Authorized, GrantingRoles: roles}
	}
	return resp, nil
}

// POST /v1/b2b/sessions/revoke: exactly one of member_session_id,
// session_token, session_jwt and member_id (every session of that member).
// With X-Stytch-Member-Session(JWT), the caller must be allowed to act.
func (h *handler) revokeMemberSession(r *http.Request, p *auth.Project) (response, error) {
	var req struct {
		MemberSessionID string `json:"member_session_id"`
		SessionToken    string `json:"session_token"`
		SessionJWT      string `json:"session_jwt"`
		MemberID        string `json:"member_id"`
	}
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return nil, err
	}
	if err := checkBounds(
		bounded{"member_session_id", req.MemberSessionID, maxRefLen},
		bounded{"session_token", req.SessionToken, maxTokenLen},
		bounded{"session_jwt", req.SessionJWT, maxJWTLen},
		bounded{"member_id", req.MemberID, maxRefLen},
	); err != nil {
		return nil, err
	}
	n := 0
	for _, v := range []string{req.MemberSessionID, req.SessionToken, req.SessionJWT, req.MemberID} {
		if v != "" {
			n++
		}
	}
	switch {
	case n == 0:
		return nil, auth.Errorf(codeNoRevokeArgs, "One of member_session_id, session_token, session_jwt or member_id is required.")
	case n > 1:
		return nil, auth.Errorf(codeTooManyRevokeArgs, "Only one of member_session_id, session_token, session_jwt or member_id may be given.")
	}
	err := h.svc.RevokeMemberSession(r.Context(), p, auth.RevokeMemberSessionInput{
		MemberSessionID: req.MemberSessionID,
		Token:           req.SessionToken,
		JWT:             req.SessionJWT,
		MemberID:        req.MemberID,
		Caller:          callerOf(r),
	})
	if err != nil {
		return nil, err
	}
	return &emptyResponse{}, nil
}

type exchangeMemberSessionRequest struct {
	OrganizationID         string         `json:"organization_id"`
	SessionToken           string         `json:"session_token"`
	SessionJWT             string         `json:"session_jwt"`
	SessionDurationMinutes *int           `json:"session_duration_minutes"`
	SessionCustomClaims    map[string]any `json:"session_custom_claims"`
	Locale                 string         `json:"locale"`
	TelemetryID            string         `json:"telemetry_id"` // accepted, ignored
}

// POST /v1/b2b/sessions/exchange: a member session of one organization
// for a session (or, when that organization demands MFA, an IST) in
// another organization of the same email.
func (h *handler) exchangeMemberSession(r *http.Request, p *auth.Project) (response, error) {
	var req exchangeMemberSessionRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return nil, err
	}
	if err := checkBounds(
		bounded{"organization_id", req.OrganizationID, maxRefLen},
		bounded{"session_token", req.SessionToken, maxTokenLen},
		bounded{"session_jwt", req.SessionJWT, maxJWTLen},
		bounded{"locale", req.Locale, maxLocaleLen},
		bounded{"telemetry_id", req.TelemetryID, maxExtraLen},
	); err != nil {
		return nil, err
	}
	res, err := h.svc.ExchangeMemberSession(r.Context(), p, auth.ExchangeSessionInput{
		OrganizationID: req.OrganizationID,
		Token:          req.SessionToken,
		JWT:            req.SessionJWT,
		Duration:       minutes(req.SessionDurationMinutes),
		CustomClaims:   req.SessionCustomClaims,
		Locale:         req.Locale,
	})
	if err != nil {
		return nil, err
	}
	return newMemberAuthResponse(res, false), nil
}
