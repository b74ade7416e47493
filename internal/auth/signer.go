package auth

import (
	"context"
	"time"
)

// JWTLifetime is how long a session JWT is valid: 5 minutes, as Stytch's.
const JWTLifetime = 5 * time.Minute

// SessionSigner issues and checks session JWTs (RS256, one key set per
// project) and serves the project's JWKS. internal/jwt implements it.
//
// The JWT format is Sesame's, shared by both dialects, and is the one
// Stytch's SDKs verify locally: iss "stytch.com/{project_id}", aud
// [project_id], sub user id, the session under "https://stytch.com/session"
// and custom claims at the top level.
type SessionSigner interface {
	// SignSession returns a JWT for s, issued now and valid for JWTLifetime.
	SignSession(ctx context.Context, s *Session) (string, error)
	// ParseSessionJWT checks the JWT's signature against the project's keys
	// and its issuer and audience, and returns the session id it names. An
	// expired but otherwise valid JWT is accepted (the caller checks the
	// session itself). Returns EJWTInvalid for anything else.
	ParseSessionJWT(ctx context.Context, projectID, token string) (sessionID string, err error)
	// JWKS returns the project's public keys as a JSON Web Key Set document
	// ({"keys":[...]}), creating the project's first keys if needed.
	JWKS(ctx context.Context, projectID string) ([]byte, error)
}

// Metrics receives the business events operators graph. internal/metrics
// implements it with Prometheus; NopMetrics discards them.
type Metrics interface {
	// OTPRequested counts an accepted code send on a channel.
	OTPRequested(ch Channel)
	// MagicLinkRequested counts an accepted magic link send.
	MagicLinkRequested()
	// Authenticated counts a code or link verification by factor
	// ("otp" or "magic_link") and result ("ok", or an error Code).
	Authenticated(factor string, result string)
	// Published counts an outbox publish by path ("inline" or "relay") and
	// result ("ok" or "error").
	Published(path, result string)
	// RateLimited counts a request refused by a limit, by limit name.
	RateLimited(limit string)
	// DeliveryStatus counts a provider delivery report by provider
	// ("twilio", "sendgrid") and reported status ("delivered",
	// "undelivered", ...), or "unknown" when no message matched.
	DeliveryStatus(provider, status string)
	// OTPCountry counts a code by channel, the recipient's phone region
	// (PhoneRegion; "" for email) and stage ("sent" or "verified"), for
	// conversion by country. The implementation bounds the region label.
	OTPCountry(ch Channel, region, stage string)
}

// NopMetrics is a Metrics that does nothing.
type NopMetrics struct{}

func (NopMetrics) OTPRequested(Channel)               {}
func (NopMetrics) MagicLinkRequested()                {}
func (NopMetrics) Authenticated(string, string)       {}
func (NopMetrics) Published(string, string)           {}
func (NopMetrics) RateLimited(string)                 {}
func (NopMetrics) DeliveryStatus(string, string)      {}
func (NopMetrics) OTPCountry(Channel, string, string) {}

// otpCountry reports a code's stage to Metrics.OTPCountry with the phone
// region of to (none for email). Sandbox values never send, so they are
// not counted as verified either.
func (s *Service) otpCountry(ch Channel, to, stage string) {
	if to == SandboxPhone || to == SandboxEmail {
		return
	}
	region := ""
	if ch.IsPhone() {
		region = PhoneRegion(to)
	}
	s.metrics.OTPCountry(ch, region, stage)
}
