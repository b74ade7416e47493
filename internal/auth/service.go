package auth

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"
)

// Config holds the service's tunables. The zero value of every field means
// its documented default.
type Config struct {
	// MaxOTPAttempts is how many wrong codes kill a challenge. Default 5.
	MaxOTPAttempts int
	// PublicURL is the api's external base URL. Magic links without a
	// redirect URL point at PublicURL + "/v1/magic_links/redirect". Default
	// "http://localhost:8080".
	PublicURL string
	// DefaultLoginURL and DefaultSignupURL are the project-wide magic link
	// landing URLs used when a request names none. Default: the PublicURL
	// landing page.
	DefaultLoginURL  string
	DefaultSignupURL string
	// SendLimit is how many codes or links one recipient (phone or email)
	// may be sent per SendWindow in a project. Default 5 per 10 minutes.
	SendLimit  int
	SendWindow time.Duration
	// IPSendLimit is how many codes or links one client IP may request per
	// SendWindow in a project (the IP comes from WithClientIP). Default 0:
	// no per-IP limit.
	IPSendLimit int
	// VerifyLimit is how many codes one method (email, phone or a member's
	// MFA phone) may be checked against per VerifyWindow in a project,
	// across all its challenges (MaxOTPAttempts caps each challenge on its
	// own). Default 10 per 10 minutes; negative: no limit.
	VerifyLimit  int
	VerifyWindow time.Duration
	// IPVerifyLimit is how many code checks one client IP may make per
	// VerifyWindow in a project. Default 0: no per-IP limit.
	IPVerifyLimit int
	// OTPExpiration is the lifetime of a code (consumer OTP, B2B SMS)
	// whose send names none, in projects whose settings name no
	// otp_expiration_minutes: MinOTPExpiration..MaxOTPExpiration. Default
	// DefaultOTPExpiration (2 minutes).
	OTPExpiration time.Duration
	// MagicLinkExpiration is the lifetime of a login or signup link
	// (consumer and B2B) whose send names none, in projects whose settings
	// name no magic_link_expiration_minutes:
	// MinMagicLinkExpiration..MaxMagicLinkExpiration. Default 0: the
	// dialect defaults (login 60 minutes, signup 7 days, B2B 60 minutes).
	MagicLinkExpiration time.Duration
	// JWTAlgorithm signs the session JWTs of projects whose settings name
	// no jwt_algorithm: JWTRS256 (default), JWTES256 or JWTEdDSA.
	JWTAlgorithm string
	// JWTLifetime is the session JWT lifetime of projects whose settings
	// name no jwt_lifetime_seconds, MinJWTLifetime..MaxJWTLifetime.
	// Default JWTLifetime (5 minutes).
	JWTLifetime time.Duration
	// AllowedCountries lists the ISO 3166 regions (e.g. "US", "CA") that
	// SMS and WhatsApp codes may go to. Default empty: every country. A
	// short list is the simplest defence against SMS pumping.
	AllowedCountries []string
	// Abuse configures the SMS velocity limits per country calling code and
	// per number prefix, and the SMS-pumping guard (limits.go, pumping.go).
	// Default DefaultAbuseConfig().
	Abuse AbuseConfig
	// PublishTimeout bounds the inline publish after the commit; on timeout
	// the outbox relay publishes later. Default 3s.
	PublishTimeout time.Duration
}

func (c Config) withDefaults() Config {
	if c.MaxOTPAttempts <= 0 {
		c.MaxOTPAttempts = 5
	}
	if c.PublicURL == "" {
		c.PublicURL = "http://localhost:8080"
	}
	if c.SendLimit <= 0 {
		c.SendLimit = 5
	}
	if c.SendWindow <= 0 {
		c.SendWindow = 10 * time.Minute
	}
	if c.VerifyLimit == 0 {
		c.VerifyLimit = DefaultVerifyLimit
	}
	if c.OTPExpiration <= 0 {
		c.OTPExpiration = DefaultOTPExpiration
	}
	c.OTPExpiration = min(max(c.OTPExpiration, MinOTPExpiration), MaxOTPExpiration)
	if c.MagicLinkExpiration > 0 {
		c.MagicLinkExpiration = min(max(c.MagicLinkExpiration, MinMagicLinkExpiration), MaxMagicLinkExpiration)
	}
	if c.JWTAlgorithm, _ = ParseJWTAlgorithm(c.JWTAlgorithm); c.JWTAlgorithm == "" {
		c.JWTAlgorithm = JWTRS256
	}
	if c.JWTLifetime <= 0 {
		c.JWTLifetime = JWTLifetime
	}
	c.JWTLifetime = min(max(c.JWTLifetime, MinJWTLifetime), MaxJWTLifetime)
	if c.VerifyWindow <= 0 {
		c.VerifyWindow = DefaultVerifyWindow
	}
	c.Abuse = c.Abuse.withDefaults()
	if c.PublishTimeout <= 0 {
		c.PublishTimeout = 3 * time.Second
	}
	return c
}

// Service holds the business rules of users, codes, links and sessions. It
// is shared by both HTTP dialects; they translate requests into these
// inputs and results into their own response shapes.
type Service struct {
	store     Store
	publisher Publisher
	keys      *Keyring
	signer    SessionSigner
	metrics   Metrics
	log       *slog.Logger
	cfg       Config
	now       func() time.Time
	projects  projectCache
	marks     publishMarks
	methods   methodCache
	// traceParent returns the W3C traceparent of a request's context
	// (SetTraceParent); nil when tracing is not wired.
	traceParent func(context.Context) string
}

// NewService wires a Service. metrics and log may be nil.
func NewService(store Store, pub Publisher, keys *Keyring, signer SessionSigner, metrics Metrics, log *slog.Logger, cfg Config) *Service {
	if metrics == nil {
		metrics = NopMetrics{}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{store: store, publisher: pub, keys: keys, signer: signer, metrics: metrics, log: log, cfg: cfg.withDefaults(), now: time.Now,
		marks: publishMarks{wake: make(chan struct{}, 1)}}
}

// SetClock replaces the service's clock (tests).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// SetTraceParent makes every event carry the W3C traceparent fn returns
// for the request that built it (Event.TraceParent), so a send the outbox
// relay publishes later continues the request's trace. The api passes
// tracing.TraceParent; nil (the default) leaves events without one.
func (s *Service) SetTraceParent(fn func(context.Context) string) { s.traceParent = fn }

// Config returns the effective configuration.
func (s *Service) Config() Config { return s.cfg }

// ---- Inputs and results ----

// SessionOptions are checks a caller can require when authenticating.
type SessionOptions struct {
	IPMatchRequired        bool
	UserAgentMatchRequired bool
}

// SessionRequest says what an authenticate call should do with sessions.
// With neither Token nor JWT, a positive Duration starts a new session and
// zero starts none. With Token or JWT (not both), that session is extended
// by Duration (if positive) and gains the new factor.
type SessionRequest struct {
	Duration     time.Duration
	Token        string
	JWT          string
	CustomClaims map[string]any // merged into the session; a nil value deletes a key
	Attributes   Attributes
	Options      SessionOptions
}

// AuthResult is the outcome of a successful authentication.
type AuthResult struct {
	User         *User
	MethodID     string
	Factor       Factor
	Session      *Session // nil when no session was requested
	SessionToken string   // "" when no session
	SessionJWT   string   // "" when no session
}

// CreateUserInput creates a user. At least one of Email and Phone is required.
type CreateUserInput struct {
	Email             string
	Phone             string
	Name              Name
	Pending           bool
	ExternalID        string
	TrustedMetadata   json.RawMessage
	UntrustedMetadata json.RawMessage
}

// UpdateUserInput changes a user; nil fields stay as they are. AddEmails
// and AddPhones attach new, unverified methods.
type UpdateUserInput struct {
	Name              *Name
	ExternalID        *string
	TrustedMetadata   json.RawMessage
	UntrustedMetadata json.RawMessage
	AddEmails         []string
	AddPhones         []string
}

// SendOTPInput asks for a one-time code.
type SendOTPInput struct {
	Channel Channel
	// To is the phone number (sms, whatsapp) or email address, as the client wrote it.
	To string
	// LoginOrCreate creates the user when To is unknown (CreatePending makes it pending).
	LoginOrCreate bool
	CreatePending bool
	// UserID, SessionToken or SessionJWT attach To to that existing user.
	UserID       string
	SessionToken string
	SessionJWT   string
	// Expiration is the code's lifetime (the dialect applies its default and range).
	Expiration time.Duration
	Locale     string
}

// SendResult is the outcome of a code or link send.
type SendResult struct {
	UserID      string
	MethodID    string // phone id or email id
	UserCreated bool
	// UserStatus is the user's status when the send resolved it ("" when
	// the recipient was attached to a user named by id or session).
	UserStatus UserStatus
	MessageID  string
}

// AuthenticateOTPInput checks a code.
type AuthenticateOTPInput struct {
	MethodID string
	Code     string
	Session  SessionRequest
}

// SendMagicLinkInput asks for a magic link email.
type SendMagicLinkInput struct {
	Email         string
	LoginOrCreate bool
	CreatePending bool
	UserID        string // attach to this user (send only)
	SessionToken  string
	SessionJWT    string
	// LoginURL / SignupURL are the landing pages; "" means the project default.
	LoginURL         string
	SignupURL        string
	LoginExpiration  time.Duration
	SignupExpiration time.Duration
	// CodeChallenge is a PKCE S256 challenge the authenticate call must answer.
	CodeChallenge string
	Locale        string
}

// InviteInput invites a new or pending user by magic link.
type InviteInput struct {
	Email             string
	Name              Name
	URL               string
	Expiration        time.Duration
	Locale            string
	TrustedMetadata   json.RawMessage
	UntrustedMetadata json.RawMessage
}

// AuthenticateMagicLinkInput checks a magic link token.
type AuthenticateMagicLinkInput struct {
	Token        string
	CodeVerifier string
	Session      SessionRequest
}

// AuthenticateSessionInput checks a session by token or JWT (exactly one).
type AuthenticateSessionInput struct {
	Token        string
	JWT          string
	Duration     time.Duration // > 0 extends the session to now+Duration
	CustomClaims map[string]any
	Attributes   Attributes
	Options      SessionOptions
}

// RevokeSessionInput names the session to end (exactly one field).
type RevokeSessionInput struct {
	SessionID string
	Token     string
	JWT       string
}

// Limits of session durations and custom claims, as Stytch defines them.
const (
	MinSessionDuration  = 5 * time.Minute
	MaxSessionDuration  = 527040 * time.Minute // 366 days
	MaxCustomClaimsSize = 4096                 // bytes of JSON
)

// ReservedClaims may not be set as custom claims.
var ReservedClaims = []string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti"}
