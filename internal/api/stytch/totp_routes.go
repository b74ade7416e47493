package stytch

import (
	"net/http"

	"github.com/sesame-auth/sesame/internal/auth"
)

// routeTOTP registers the TOTP and recovery-code routes of both the
// consumer and the B2B API (totps.go, b2b_totps.go). Paths are the SDK's
// (stytch 14.2.0 dist/b2c/totps.js, dist/b2b/totps.js,
// dist/b2b/recovery_codes.js, users.deleteTOTP,
// organizations.members.deleteTOTP).
func (h *handler) routeTOTP(route func(pattern string, fn http.HandlerFunc)) {
	route("POST /v1/totps", h.api(h.createTOTP))
	route("POST /v1/totps/authenticate", h.api(h.authenticateTOTP))
	route("POST /v1/totps/recovery_codes", h.api(h.totpRecoveryCodes))
	route("POST /v1/totps/recover", h.api(h.recoverTOTP))
	route("DELETE /v1/users/totps/{totp_id}", h.api(h.deleteTOTP))

	route("POST /v1/b2b/totp", h.api(h.b2bCreateTOTP))
	route("POST /v1/b2b/totp/authenticate", h.api(h.b2bAuthenticateTOTP))
	route("POST /v1/b2b/totp/migrate", h.api(h.b2bMigrateTOTP))
	route("POST /v1/b2b/recovery_codes/recover", h.api(h.b2bRecover))
	route("GET /v1/b2b/recovery_codes/{organization_id}/{member_id}", h.api(h.b2bGetRecoveryCodes))
	route("POST /v1/b2b/recovery_codes/rotate", h.api(h.b2bRotateRecoveryCodes))

	// organizations.members.deleteTOTP is
	//   DELETE …/members/{member_id}/totp
	// and deleteMFAPhoneNumber is
	//   DELETE …/members/mfa_phone_numbers/{member_id}.
	// Go's ServeMux refuses both patterns at once (…/members/mfa_phone_numbers/totp
	// matches both and neither is more specific), so one pattern serves
	// both: "mfa_phone_numbers" in the first place names the phone route
	// (member ids are "member-…"), "totp" in the second the TOTP route.
	route("DELETE /v1/b2b/organizations/{organization_id}/members/{first}/{second}", h.api(h.deleteMemberFactor))
}

// deleteMemberFactor dispatches DELETE
// /v1/b2b/organizations/{organization_id}/members/{first}/{second} to the
// MFA phone or the TOTP deletion; any other path is not a route.
func (h *handler) deleteMemberFactor(r *http.Request, p *auth.Project) (response, error) {
	first, second := r.PathValue("first"), r.PathValue("second")
	switch {
	case first == "mfa_phone_numbers":
		r.SetPathValue("member_id", second)
		return h.deleteMemberMFAPhone(r, p)
	case second == "totp":
		r.SetPathValue("member_id", first)
		return h.deleteMemberTOTP(r, p)
	}
	// Any other DELETE …/members/{x}/{y} (…/reactivate included, whose
	// GET therefore lists DELETE in Allow) names no resource.
	return nil, errRouteNotFound
}
