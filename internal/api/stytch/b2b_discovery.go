package stytch

import (
	"net/http"

	"github.com/sesame-auth/sesame/internal/api/httpx"
	"github.com/sesame-auth/sesame/internal/auth"
)

// membershipJSON is DiscoveredOrganization.membership: type is
// active_member, pending_member, invited_member or
// eligible_to_join_by_email_domain; member is null for the last.
type membershipJSON struct {
	Type    string      `json:"type"`
	Details *struct{}   `json:"details"` // always null
	Member  *memberJSON `json:"member"`
}

// discoveredOrganizationJSON is the DiscoveredOrganization object (§C.7).
type discoveredOrganizationJSON struct {
	MemberAuthenticated bool                 `json:"member_authenticated"`
	Organization        *organizationJSON    `json:"organization"`
	Membership          membershipJSON       `json:"membership"`
	PrimaryRequired     *primaryRequiredJSON `json:"primary_required"`
	MFARequired         *mfaRequiredJSON     `json:"mfa_required"`
}

// newDiscoveredOrganizationsJSON shapes the list; it is [] (never null)
// when there are none.
func newDiscoveredOrganizationsJSON(list []auth.DiscoveredOrganization) []discoveredOrganizationJSON {
	out := make([]discoveredOrganizationJSON, 0, len(list))
	for _, d := range list {
		item := discoveredOrganizationJSON{
			MemberAuthenticated: d.MemberAuthenticated,
			Membership:          membershipJSON{Type: d.MembershipType},
			PrimaryRequired:     newPrimaryRequiredJSON(d.PrimaryRequired),
			MFARequired:         newMFARequiredJSON(d.MFARequired),
		}
		if d.Organization != nil {
			o := newOrganizationJSON(d.Organization)
			item.Organization = &o
		}
		if d.Member != nil && d.Organization != nil {
			m := newMemberJSON(d.Member, d.Organization)
			item.Membership.Member = &m
		}
		out = append(out, item)
	}
	return out
}

type discoverySendRequest struct {
	EmailAddress               string `json:"email_address"`
	DiscoveryRedirectURL       string `json:"discovery_redirect_url"`
	PKCECodeChallenge          string `json:"pkce_code_challenge"`
	LoginTemplateID            string `json:"login_template_id"` // accepted, ignored
	Locale                     string `json:"locale"`
	DiscoveryExpirationMinutes *int   `json:"discovery_expiration_minutes"`
}

// POST /v1/b2b/magic_links/email/discovery/send: emails a discovery link,
// which proves the email without naming an organization.
func (h *handler) discoverySend(r *http.Request, p *auth.Project) (response, error) {
	var req discoverySendRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return nil, err
	}
	if err := checkBounds(
		bounded{"email_address", req.EmailAddress, maxEmailLen},
		bounded{"discovery_redirect_url", req.DiscoveryRedirectURL, maxURLLen},
		bounded{"pkce_code_challenge", req.PKCECodeChallenge, maxTokenLen},
		bounded{"login_template_id", req.LoginTemplateID, maxExtraLen},
		bounded{"locale", req.Locale, maxLocaleLen},
	); err != nil {
		return nil, err
	}
	err := h.svc.SendDiscoveryMagicLink(r.Context(), p, auth.DiscoverySendInput{
		EmailAddress:  req.EmailAddress,
		RedirectURL:   req.DiscoveryRedirectURL,
		CodeChallenge: req.PKCECodeChallenge,
		Locale:        req.Locale,
		Expiration:    minutes(req.DiscoveryExpirationMinutes),
	})
	if err != nil {
		return nil, err
	}
	return &emptyResponse{}, nil
}

type discoveryAuthenticateResponse struct {
	meta
	IntermediateSessionToken          string                       `json:"intermediate_session_token"`
	EmailAddress                      string                       `json:"email_address"`
	DiscoveredOrganizations           []discoveredOrganizationJSON `json:"discovered_organizations"`
	IntermediateSessionTokenExpiresAt string                       `json:"intermediate_session_token_expires_at,omitempty"`
}

// POST /v1/b2b/magic_links/discovery/authenticate: consumes a discovery
// link and answers with an email-bound IST and the organizations the
// email may enter.
func (h *handler) discoveryAuthenticate(r *http.Request, p *auth.Project) (response, error) {
	var req struct {
		Token        string `json:"discovery_magic_links_token"`
		CodeVerifier string `json:"pkce_code_verifier"`
	}
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return nil, err
	}
	if err := checkBounds(
		bounded{"discovery_magic_links_token", req.Token, maxTokenLen},
		bounded{"pkce_code_verifier", req.CodeVerifier, maxTokenLen},
	); err != nil {
		return nil, err
	}
	res, err := h.svc.AuthenticateDiscoveryMagicLink(r.Context(), p, req.Token, req.CodeVerifier)
	if err != nil {
		return nil, err
	}
	return &discoveryAuthenticateResponse{
		IntermediateSessionToken:          res.IST,
		EmailAddress:                      res.EmailAddress,
		DiscoveredOrganizations:           newDiscoveredOrganizationsJSON(res.Organizations),
		IntermediateSessionTokenExpiresAt: stytchTime(res.ISTExpiresAt),
	}, nil
}

type discoveryListResponse struct {
	meta
	EmailAddress            string                       `json:"email_address"`
	DiscoveredOrganizations []discoveredOrganizationJSON `json:"discovered_organizations"`
	OrganizationIDHint      *string                      `json:"organization_id_hint"` // always null
}

// POST /v1/b2b/discovery/organizations: the organizations the email of
// an IST, a session token or a session JWT (exactly one) may enter. The
// IST is not consumed.
func (h *handler) discoveryListOrganizations(r *http.Request, p *auth.Project) (response, error) {
	var req struct {
		IST          string `json:"intermediate_session_token"`
		SessionToken string `json:"session_token"`
		SessionJWT   string `json:"session_jwt"`
	}
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return nil, err
	}
	if err := checkBounds(
		bounded{"intermediate_session_token", req.IST, maxTokenLen},
		bounded{"session_token", req.SessionToken, maxTokenLen},
		bounded{"session_jwt", req.SessionJWT, maxJWTLen},
	); err != nil {
		return nil, err
	}
	if err := oneSessionArgument(true, req.IST, req.SessionToken, req.SessionJWT); err != nil {
		return nil, err
	}
	res, err := h.svc.ListDiscoveredOrganizations(r.Context(), p, auth.DiscoveryListInput{
		IST: req.IST, SessionToken: req.SessionToken, SessionJWT: req.SessionJWT,
	})
	if err != nil {
		return nil, err
	}
	return &discoveryListResponse{
		EmailAddress:            res.EmailAddress,
		DiscoveredOrganizations: newDiscoveredOrganizationsJSON(res.Organizations),
	}, nil
}

type discoveryExchangeRequest struct {
	IST                    string         `json:"intermediate_session_token"`
	OrganizationID         string         `json:"organization_id"`
	SessionDurationMinutes *int           `json:"session_duration_minutes"`
	SessionCustomClaims    map[string]any `json:"session_custom_claims"`
	Locale                 string         `json:"locale"`
	TelemetryID            string         `json:"telemetry_id"` // accepted, ignored
}

// POST /v1/b2b/discovery/intermediate_sessions/exchange: trades an IST for
// a member session in one organization (or a new IST bound to it, when it
// demands MFA); answers like sessions/exchange.
func (h *handler) discoveryExchange(r *http.Request, p *auth.Project) (response, error) {
	var req discoveryExchangeRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return nil, err
	}
	if err := checkBounds(
		bounded{"organization_id", req.OrganizationID, maxRefLen},
		bounded{"locale", req.Locale, maxLocaleLen},
	); err != nil {
		return nil, err
	}
	sr, err := h.b2bSessionRequest(r, b2bSessionFields{
		IST:                    req.IST,
		SessionDurationMinutes: req.SessionDurationMinutes,
		SessionCustomClaims:    req.SessionCustomClaims,
		TelemetryID:            req.TelemetryID,
	})
	if err != nil {
		return nil, err
	}
	res, err := h.svc.ExchangeIntermediateSession(r.Context(), p, auth.IntermediateExchangeInput{
		IST:            req.IST,
		OrganizationID: req.OrganizationID,
		Session:        sr,
		Locale:         req.Locale,
	})
	if err != nil {
		return nil, err
	}
	return newMemberAuthResponse(res, false), nil
}

// discoveryCreateRequest is every organization setting of
// organizations.create plus the IST and session fields.
type discoveryCreateRequest struct {
	organizationBody
	IST                    string         `json:"intermediate_session_token"`
	SessionDurationMinutes *int           `json:"session_duration_minutes"`
	SessionCustomClaims    map[string]any `json:"session_custom_claims"`
	TelemetryID            string         `json:"telemetry_id"` // accepted, ignored
}

// POST /v1/b2b/discovery/organizations/create: creates an organization
// with the IST's email as its first member, a stytch_admin, and answers
// like sessions/exchange (a session, or an IST when the new organization
// requires MFA).
func (h *handler) discoveryCreateOrganization(r *http.Request, p *auth.Project) (response, error) {
	var req discoveryCreateRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return nil, err
	}
	sr, err := h.b2bSessionRequest(r, b2bSessionFields{
		IST:                    req.IST,
		SessionDurationMinutes: req.SessionDurationMinutes,
		SessionCustomClaims:    req.SessionCustomClaims,
		TelemetryID:            req.TelemetryID,
	})
	if err != nil {
		return nil, err
	}
	res, err := h.svc.CreateOrganizationViaDiscovery(r.Context(), p, auth.DiscoveryCreateInput{
		IST:          req.IST,
		Organization: req.toInput(),
		Session:      sr,
	})
	if err != nil {
		return nil, err
	}
	return newMemberAuthResponse(res, false), nil
}
