package stytch

import (
	"net/http"

	"github.com/sesame-auth/sesame/internal/auth"
)

// routeB2B registers the B2B API (§C of the contract) under /v1/b2b.
// Organization and member management lives in b2b_organizations.go and
// b2b_members.go; magic links, codes, sessions and discovery in
// b2b_magiclinks.go, b2b_otps.go, b2b_sessions.go and b2b_discovery.go.
func (h *handler) routeB2B(route func(pattern string, fn http.HandlerFunc)) {
	route("POST /v1/b2b/organizations", h.api(h.createOrganization))
	route("POST /v1/b2b/organizations/search", h.api(h.searchOrganizations))
	route("GET /v1/b2b/organizations/{organization_id}", h.api(h.getOrganization))
	route("PUT /v1/b2b/organizations/{organization_id}", h.api(h.updateOrganization))
	// The seed (004) updates with POST; the SDK with PUT.
	route("POST /v1/b2b/organizations/{organization_id}", h.api(h.updateOrganization))
	route("DELETE /v1/b2b/organizations/{organization_id}", h.api(h.deleteOrganization))
	route("GET /v1/b2b/organizations/{organization_id}/metrics", h.api(h.organizationMetrics))

	route("POST /v1/b2b/organizations/{organization_id}/members", h.api(h.createMember))
	route("GET /v1/b2b/organizations/{organization_id}/member", h.api(h.getMember))
	route("PUT /v1/b2b/organizations/{organization_id}/members/{member_id}", h.api(h.updateMember))
	route("DELETE /v1/b2b/organizations/{organization_id}/members/{member_id}", h.api(h.deleteMember))
	route("PUT /v1/b2b/organizations/{organization_id}/members/{member_id}/reactivate", h.api(h.reactivateMember))
	// DELETE …/members/mfa_phone_numbers/{member_id} (deleteMemberMFAPhone)
	// is routed with …/members/{member_id}/totp in totp_routes.go.
	route("POST /v1/b2b/organizations/members/search", h.api(h.searchMembers))
	route("GET /v1/b2b/organizations/members/dangerously_get/{member_id}", h.api(h.dangerouslyGetMember))

	route("POST /v1/b2b/magic_links/email/login_or_signup", h.api(h.b2bLoginOrSignup))
	route("POST /v1/b2b/magic_links/email/invite", h.api(h.b2bInvite))
	route("POST /v1/b2b/magic_links/authenticate", h.api(h.b2bAuthenticateMagicLink))
	route("POST /v1/b2b/magic_links/email/discovery/send", h.api(h.discoverySend))
	route("POST /v1/b2b/magic_links/discovery/authenticate", h.api(h.discoveryAuthenticate))

	route("POST /v1/b2b/otps/sms/send", h.api(h.b2bSendSMS))
	route("POST /v1/b2b/otps/sms/authenticate", h.api(h.b2bAuthenticateSMS))
	route("POST /v1/b2b/otps/email/login_or_signup", h.api(h.b2bEmailOTPLoginOrSignup))
	route("POST /v1/b2b/otps/email/authenticate", h.api(h.b2bAuthenticateEmailOTP))

	route("GET /v1/b2b/sessions", h.api(h.listMemberSessions))
	route("POST /v1/b2b/sessions/authenticate", h.api(h.authenticateMemberSession))
	route("POST /v1/b2b/sessions/revoke", h.api(h.revokeMemberSession))
	route("POST /v1/b2b/sessions/exchange", h.api(h.exchangeMemberSession))
	route("GET /v1/b2b/sessions/jwks/{project_id}", h.jwks)

	route("POST /v1/b2b/discovery/organizations", h.api(h.discoveryListOrganizations))
	route("POST /v1/b2b/discovery/organizations/create", h.api(h.discoveryCreateOrganization))
	route("POST /v1/b2b/discovery/intermediate_sessions/exchange", h.api(h.discoveryExchange))
}

// Headers naming the member on whose behalf a B2B management call acts.
const (
	headerMemberSession    = "X-Stytch-Member-Session"
	headerMemberSessionJWT = "X-Stytch-Member-SessionJWT"
)

// callerOf returns the member session the request acts for, if any.
func callerOf(r *http.Request) auth.Caller {
	return auth.Caller{
		SessionToken: r.Header.Get(headerMemberSession),
		SessionJWT:   r.Header.Get(headerMemberSessionJWT),
	}
}
