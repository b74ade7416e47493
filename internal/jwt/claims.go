package jwt

import (
	"time"

	"github.com/sesame-auth/sesame/internal/auth"
)

// SessionClaim is the JWT claim that carries the session, as Stytch's.
const SessionClaim = "https://stytch.com/session"

// OrganizationClaim is the JWT claim that carries a B2B member session's
// organization ({"organization_id", "slug"}), as Stytch's. Stytch's B2B
// SDK cannot validate a member JWT locally without it.
const OrganizationClaim = "https://stytch.com/organization"

// StytchUserRole is the only role of a B2C session.
const StytchUserRole = "stytch_user"

// StytchMemberRole is the role every B2B member holds.
const StytchMemberRole = "stytch_member"

// reservedClaims are the top-level claims a session's custom claims can
// never set or override.
var reservedClaims = map[string]bool{
	"iss": true, "sub": true, "aud": true, "exp": true, "nbf": true, "iat": true, "jti": true,
	SessionClaim: true, OrganizationClaim: true,
}

// IsReservedClaim reports whether name is a registered JWT claim, the
// session claim or the organization claim, which custom claims cannot set.
func IsReservedClaim(name string) bool { return reservedClaims[name] }

// IsMemberSession reports whether s is a B2B member session.
func IsMemberSession(s *auth.Session) bool { return s.MemberID != "" }

// Subject returns the sub claim of s: its member id for a member session,
// its user id otherwise.
func Subject(s *auth.Session) string {
	if IsMemberSession(s) {
		return s.MemberID
	}
	return s.UserID
}

// SessionRoles returns the roles of s: ["stytch_user"] for a consumer
// session; for a member session s.Roles, or ["stytch_member"] when the
// service filled none. The result is freshly allocated.
func SessionRoles(s *auth.Session) []string {
	switch {
	case !IsMemberSession(s):
		return []string{StytchUserRole}
	case len(s.Roles) == 0:
		return []string{StytchMemberRole}
	}
	return append([]string(nil), s.Roles...)
}

// Sequence orders of a member session's factors: the first is the primary
// factor, every later one a secondary factor.
const (
	SequencePrimary   = "PRIMARY"
	SequenceSecondary = "SECONDARY"
)

// StytchMemberFactors is StytchFactors for a member session: each factor
// also carries "sequence_order", PRIMARY for the first and SECONDARY for
// the others, as Stytch's B2B sessions do.
func StytchMemberFactors(fs []auth.Factor) []map[string]any {
	out := StytchFactors(fs)
	for i, f := range out {
		f["sequence_order"] = SequenceSecondary
		if i == 0 {
			f["sequence_order"] = SequencePrimary
		}
	}
	return out
}

// sessionFactors returns the session claim's factors: with sequence_order
// for a member session.
func sessionFactors(s *auth.Session) []map[string]any {
	if IsMemberSession(s) {
		return StytchMemberFactors(s.Factors)
	}
	return StytchFactors(s.Factors)
}

// StytchOrganizationClaim returns the value of the
// "https://stytch.com/organization" claim of a member session:
// {"organization_id": s.OrganizationID, "slug": s.OrganizationSlug}.
func StytchOrganizationClaim(s *auth.Session) map[string]any {
	return map[string]any{"organization_id": s.OrganizationID, "slug": s.OrganizationSlug}
}

// Issuer returns the iss claim of a project's session JWTs.
func Issuer(projectID string) string { return "stytch.com/" + projectID }

// StytchTime formats t as Stytch does: RFC 3339 in UTC, whole seconds
// ("2023-11-14T22:13:20Z").
func StytchTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// putTime sets m[key] to t in Stytch format unless t is zero.
func putTime(m map[string]any, key string, t time.Time) {
	if !t.IsZero() {
		m[key] = StytchTime(t)
	}
}

// StytchFactor returns f as a Stytch AuthenticationFactor object: type,
// delivery_method, last_authenticated_at, created_at, updated_at (RFC 3339
// UTC, omitted when zero) and exactly one detail object chosen by the
// delivery method: email → email_factor{email_id, email_address},
// sms/whatsapp → phone_number_factor{phone_id, phone_number}, embedded →
// embeddable_magic_link_factor{embedded_id}, authenticator_app →
// authenticator_app_factor{totp_id}, recovery_code →
// recovery_code_factor{totp_recovery_code_id}. Unknown delivery methods get
// no detail object. The result is freshly allocated and may be modified.
func StytchFactor(f auth.Factor) map[string]any {
	m := map[string]any{
		"type":            f.Type,
		"delivery_method": f.DeliveryMethod,
	}
	putTime(m, "last_authenticated_at", f.LastAuthenticatedAt)
	putTime(m, "created_at", f.CreatedAt)
	putTime(m, "updated_at", f.UpdatedAt)
	switch f.DeliveryMethod {
	case auth.DeliveryEmail:
		m["email_factor"] = map[string]any{"email_id": f.MethodID, "email_address": f.Value}
	case auth.DeliverySMS, auth.DeliveryWhatsApp:
		m["phone_number_factor"] = map[string]any{"phone_id": f.MethodID, "phone_number": f.Value}
	case auth.DeliveryEmbedded:
		m["embeddable_magic_link_factor"] = map[string]any{"embedded_id": f.MethodID}
	case auth.DeliveryAuthenticatorApp:
		m["authenticator_app_factor"] = map[string]any{"totp_id": f.MethodID}
	case auth.DeliveryRecoveryCode:
		m["recovery_code_factor"] = map[string]any{"totp_recovery_code_id": f.MethodID}
	}
	return m
}

// StytchFactors converts every factor with StytchFactor. It returns an
// empty (not nil) slice when there are none, so it marshals as [].
func StytchFactors(fs []auth.Factor) []map[string]any {
	out := make([]map[string]any, 0, len(fs))
	for _, f := range fs {
		out = append(out, StytchFactor(f))
	}
	return out
}

// StytchSessionClaim returns the value of the "https://stytch.com/session"
// claim for s: id, started_at, last_accessed_at, expires_at (RFC 3339 UTC),
// attributes{ip_address, user_agent}, authentication_factors and roles
// (SessionRoles: ["stytch_user"] for a consumer session, the member's
// roles for a member session). The result is freshly allocated and may be
// modified.
func StytchSessionClaim(s *auth.Session) map[string]any {
	m := map[string]any{
		"id": s.ID,
		"attributes": map[string]any{
			"ip_address": s.Attributes.IPAddress,
			"user_agent": s.Attributes.UserAgent,
		},
		"authentication_factors": sessionFactors(s),
		"roles":                  SessionRoles(s),
	}
	putTime(m, "started_at", s.StartedAt)
	putTime(m, "last_accessed_at", s.LastAccessedAt)
	putTime(m, "expires_at", s.ExpiresAt)
	return m
}
