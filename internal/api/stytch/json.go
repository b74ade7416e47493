package stytch

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http"
	"time"

	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/jwt"
)

// none is a required array of a factor kind Sesame does not have
// (webauthn, OAuth, crypto wallets, biometrics): always [].
type none = []struct{}

// attributesJSON is Stytch's Attributes object.
type attributesJSON struct {
	IPAddress string `json:"ip_address"`
	UserAgent string `json:"user_agent"`
}

type emailJSON struct {
	EmailID  string `json:"email_id"`
	Email    string `json:"email"`
	Verified bool   `json:"verified"`
}

// totpJSON is a user's TOTP registration in the User object.
type totpJSON struct {
	TOTPID   string `json:"totp_id"`
	Verified bool   `json:"verified"`
}

type phoneJSON struct {
	PhoneID     string `json:"phone_id"`
	PhoneNumber string `json:"phone_number"`
	Verified    bool   `json:"verified"`
}

// userJSON is the User object (§B.3). Every required array is non-nil.
type userJSON struct {
	UserID                 string          `json:"user_id"`
	Emails                 []emailJSON     `json:"emails"`
	Status                 string          `json:"status"`
	PhoneNumbers           []phoneJSON     `json:"phone_numbers"`
	WebAuthnRegistrations  none            `json:"webauthn_registrations"`
	Providers              none            `json:"providers"`
	TOTPs                  []totpJSON      `json:"totps"`
	CryptoWallets          none            `json:"crypto_wallets"`
	BiometricRegistrations none            `json:"biometric_registrations"`
	Password               *struct{}       `json:"password"`
	IsLocked               bool            `json:"is_locked"`
	LockCreatedAt          *string         `json:"lock_created_at"`
	LockExpiresAt          *string         `json:"lock_expires_at"`
	Roles                  []string        `json:"roles"`
	Name                   auth.Name       `json:"name"`
	TrustedMetadata        json.RawMessage `json:"trusted_metadata"`
	UntrustedMetadata      json.RawMessage `json:"untrusted_metadata"`
	ExternalID             string          `json:"external_id"`
	CreatedAt              string          `json:"created_at,omitempty"`
}

func newUserJSON(u *auth.User) userJSON {
	out := userJSON{
		UserID:                 u.ID,
		Emails:                 make([]emailJSON, 0, len(u.Emails)),
		Status:                 string(u.Status),
		PhoneNumbers:           make([]phoneJSON, 0, len(u.Phones)),
		WebAuthnRegistrations:  none{},
		Providers:              none{},
		TOTPs:                  make([]totpJSON, 0, len(u.TOTPs)),
		CryptoWallets:          none{},
		BiometricRegistrations: none{},
		Roles:                  []string{jwt.StytchUserRole},
		Name:                   u.Name,
		TrustedMetadata:        jsonObject(u.TrustedMetadata),
		UntrustedMetadata:      jsonObject(u.UntrustedMetadata),
		ExternalID:             u.ExternalID,
		CreatedAt:              stytchTime(u.CreatedAt),
	}
	for _, e := range u.Emails {
		out.Emails = append(out.Emails, emailJSON{EmailID: e.ID, Email: e.Address, Verified: e.Verified})
	}
	for _, ph := range u.Phones {
		out.PhoneNumbers = append(out.PhoneNumbers, phoneJSON{PhoneID: ph.ID, PhoneNumber: ph.Number, Verified: ph.Verified})
	}
	for _, t := range u.TOTPs {
		out.TOTPs = append(out.TOTPs, totpJSON{TOTPID: t.ID, Verified: t.Verified})
	}
	return out
}

// sessionJSON is the Session object (§B.7).
type sessionJSON struct {
	SessionID             string           `json:"session_id"`
	UserID                string           `json:"user_id"`
	StartedAt             string           `json:"started_at,omitempty"`
	LastAccessedAt        string           `json:"last_accessed_at,omitempty"`
	ExpiresAt             string           `json:"expires_at,omitempty"`
	Attributes            attributesJSON   `json:"attributes"`
	AuthenticationFactors []map[string]any `json:"authentication_factors"`
	Roles                 []string         `json:"roles"`
	CustomClaims          map[string]any   `json:"custom_claims"`
}

func newSessionJSON(s *auth.Session) *sessionJSON {
	if s == nil {
		return nil
	}
	claims := s.CustomClaims
	if claims == nil {
		claims = map[string]any{}
	}
	return &sessionJSON{
		SessionID:             s.ID,
		UserID:                s.UserID,
		StartedAt:             stytchTime(s.StartedAt),
		LastAccessedAt:        stytchTime(s.LastAccessedAt),
		ExpiresAt:             stytchTime(s.ExpiresAt),
		Attributes:            attributesJSON{IPAddress: s.Attributes.IPAddress, UserAgent: s.Attributes.UserAgent},
		AuthenticationFactors: jwt.StytchFactors(s.Factors),
		Roles:                 []string{jwt.StytchUserRole},
		CustomClaims:          claims,
	}
}

// authResponse is the body of otps.authenticate and magicLinks.authenticate.
type authResponse struct {
	meta
	UserID        string       `json:"user_id"`
	MethodID      string       `json:"method_id"`
	SessionToken  string       `json:"session_token"`
	SessionJWT    string       `json:"session_jwt"`
	User          userJSON     `json:"user"`
	ResetSessions bool         `json:"reset_sessions"`
	Session       *sessionJSON `json:"session,omitempty"`
}

func newAuthResponse(res *auth.AuthResult) *authResponse {
	return &authResponse{
		UserID:       res.User.ID,
		MethodID:     res.MethodID,
		SessionToken: res.SessionToken,
		SessionJWT:   res.SessionJWT,
		User:         newUserJSON(res.User),
		Session:      newSessionJSON(res.Session),
	}
}

// emptyResponse is a body with nothing but request_id and status_code.
type emptyResponse struct{ meta }

// stytchTime formats t as RFC 3339 UTC, "" for the zero time.
func stytchTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return jwt.StytchTime(t)
}

// absent reports whether a raw JSON field was left out or sent as null.
func absent(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || bytes.Equal(t, []byte("null"))
}

// jsonObject returns raw, or {} when it is absent.
func jsonObject(raw json.RawMessage) json.RawMessage {
	if absent(raw) {
		return json.RawMessage(`{}`)
	}
	return raw
}

// sessionFields are the session parameters of the authenticate calls.
type sessionFields struct {
	SessionToken           string          `json:"session_token"`
	SessionJWT             string          `json:"session_jwt"`
	SessionDurationMinutes *int            `json:"session_duration_minutes"`
	SessionCustomClaims    map[string]any  `json:"session_custom_claims"`
	Attributes             *attributesJSON `json:"attributes"`
	Options                *struct {
		IPMatchRequired        bool `json:"ip_match_required"`
		UserAgentMatchRequired bool `json:"user_agent_match_required"`
	} `json:"options"`
}

// sessionRequest turns the session fields into the service's request. An
// absent (or zero) session_duration_minutes starts no session.
func (h *handler) sessionRequest(r *http.Request, f sessionFields) auth.SessionRequest {
	sr := auth.SessionRequest{
		Duration:     minutes(f.SessionDurationMinutes),
		Token:        f.SessionToken,
		JWT:          f.SessionJWT,
		CustomClaims: f.SessionCustomClaims,
		Attributes:   h.attributes(r, f.Attributes),
	}
	if f.Options != nil {
		sr.Options = auth.SessionOptions{IPMatchRequired: f.Options.IPMatchRequired, UserAgentMatchRequired: f.Options.UserAgentMatchRequired}
	}
	return sr
}

// maxMinutes bounds a minutes field before it becomes a time.Duration,
// so that no value overflows into the accepted range.
const maxMinutes = 100_000_000

// minutes converts an optional minutes field; absent means 0 (the
// service's default or "no session"). Out-of-range values stay out of range
// so the service rejects them.
func minutes(m *int) time.Duration {
	switch {
	case m == nil:
		return 0
	case *m > maxMinutes:
		return math.MaxInt64
	case *m < -maxMinutes:
		return math.MinInt64
	}
	return time.Duration(*m) * time.Minute
}
