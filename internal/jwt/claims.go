package jwt

import (
	"time"

	"github.com/sesame-auth/sesame/internal/auth"
)

// SessionClaim is the JWT claim that carries the session, as Stytch's.
const SessionClaim = "https://stytch.com/session"

// StytchUserRole is the only role of a B2C session.
const StytchUserRole = "stytch_user"

// reservedClaims are the top-level claims a session's custom claims can
// never set or override.
var reservedClaims = map[string]bool{
	"iss": true, "sub": true, "aud": true, "exp": true, "nbf": true, "iat": true, "jti": true,
	SessionClaim: true,
}

// IsReservedClaim reports whether name is a registered JWT claim or the
// session claim, which custom claims cannot set.
func IsReservedClaim(name string) bool { return reservedClaims[name] }

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
// embeddable_magic_link_factor{embedded_id}. Unknown delivery methods get no
// detail object. The result is freshly allocated and may be modified.
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
// ["stytch_user"]. The result is freshly allocated and may be modified.
func StytchSessionClaim(s *auth.Session) map[string]any {
	m := map[string]any{
		"id": s.ID,
		"attributes": map[string]any{
			"ip_address": s.Attributes.IPAddress,
			"user_agent": s.Attributes.UserAgent,
		},
		"authentication_factors": StytchFactors(s.Factors),
		"roles":                  []string{StytchUserRole},
	}
	putTime(m, "started_at", s.StartedAt)
	putTime(m, "last_accessed_at", s.LastAccessedAt)
	putTime(m, "expires_at", s.ExpiresAt)
	return m
}
