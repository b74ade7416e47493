package auth

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// JWTLifetime is how long a session JWT is valid by default: 5 minutes,
// as Stytch's. Settings.JWTLifetimeSeconds changes it per project, between
// MinJWTLifetime and MaxJWTLifetime.
const (
	JWTLifetime    = 5 * time.Minute
	MinJWTLifetime = time.Minute
	MaxJWTLifetime = time.Hour
)

// Session JWT algorithms a project may choose (Settings.JWTAlgorithm).
const (
	JWTRS256 = "RS256" // RSA 2048 PKCS#1 v1.5 with SHA-256, the default
	JWTES256 = "ES256" // ECDSA P-256 with SHA-256
	JWTEdDSA = "EdDSA" // Ed25519
)

// JWTSettings are the session JWT settings of a project as a signer uses
// them: never zero (the defaults filled in).
type JWTSettings struct {
	Algorithm string
	Lifetime  time.Duration
}

// ParseJWTAlgorithm returns the JWT algorithm a name stands for, case
// aside ("es256" is JWTES256); "" for "", an error for any other name.
func ParseJWTAlgorithm(name string) (string, error) {
	for _, a := range []string{JWTRS256, JWTES256, JWTEdDSA} {
		if strings.EqualFold(strings.TrimSpace(name), a) {
			return a, nil
		}
	}
	if strings.TrimSpace(name) == "" {
		return "", nil
	}
	return "", fmt.Errorf("unknown JWT algorithm %q: want RS256, ES256 or EdDSA", name)
}

// normalizeJWT checks the JWT settings of st.
func (st Settings) normalizeJWT() (Settings, error) {
	switch st.JWTAlgorithm {
	case "", JWTRS256, JWTES256, JWTEdDSA:
	default:
		return st, Invalid("jwt_algorithm", "jwt_algorithm must be RS256, ES256 or EdDSA.")
	}
	if l := st.JWTLifetimeSeconds; l != 0 && (l < int(MinJWTLifetime/time.Second) || l > int(MaxJWTLifetime/time.Second)) {
		return st, Invalid("jwt_lifetime_seconds", "jwt_lifetime_seconds must be between %d and %d (0 follows the default, %d).",
			int(MinJWTLifetime/time.Second), int(MaxJWTLifetime/time.Second), int(JWTLifetime/time.Second))
	}
	return st, nil
}

// JWTSettings returns project projectID's session JWT settings, each
// unset one following the service-wide Config.JWTAlgorithm and
// Config.JWTLifetime (JWT_ALGORITHM, JWT_LIFETIME; RS256 and JWTLifetime
// by default), from the in-process settings cache. The api gives it to
// internal/jwt's Signer (jwt.Options.Project).
func (s *Service) JWTSettings(ctx context.Context, projectID string) JWTSettings {
	st := s.projectState(ctx, projectID).settings
	js := JWTSettings{Algorithm: st.JWTAlgorithm, Lifetime: time.Duration(st.JWTLifetimeSeconds) * time.Second}
	if js.Algorithm == "" {
		js.Algorithm = s.cfg.JWTAlgorithm
	}
	if js.Lifetime == 0 {
		js.Lifetime = s.cfg.JWTLifetime
	}
	return js
}

// SessionSigner issues and checks session JWTs (RS256, ES256 or EdDSA as
// the project's settings say, one key set per project) and serves the project's JWKS. internal/jwt implements it.
//
// The JWT format is Sesame's, shared by both dialects, and is the one
// Stytch's SDKs verify locally: iss "stytch.com/{project_id}", aud
// [project_id], sub user id, the session under "https://stytch.com/session"
// and custom claims at the top level.
type SessionSigner interface {
	// SignSession returns a JWT for s, issued now and valid for the
	// project's JWT lifetime (JWTLifetime by default).
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
