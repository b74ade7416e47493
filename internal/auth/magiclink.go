package auth

import (
	"context"
	"net/url"
	"strings"
	"time"
	"unicode"
)

// Bounds and defaults of magic link lifetimes, as Stytch defines them.
const (
	MinMagicLinkExpiration    = 5 * time.Minute
	MaxMagicLinkExpiration    = 10080 * time.Minute // 7 days
	DefaultLoginExpiration    = 60 * time.Minute
	DefaultSignupExpiration   = 10080 * time.Minute
	DefaultInviteExpiration   = 60 * time.Minute // Stytch: "by default, it expires in 1 hour"
	DefaultEmbeddedExpiration = 60 * time.Minute
	maxRedirectURL            = 2048
)

func linkExpiration(field string, d, def time.Duration) (time.Duration, error) {
	if d == 0 {
		return def, nil
	}
	if d < MinMagicLinkExpiration || d > MaxMagicLinkExpiration {
		return 0, &Error{Code: EInvalidExpiration, Field: field, Message: field + " must be between 5 and 10080 minutes."}
	}
	return d, nil
}

// scriptSchemes are URL schemes that run code or read local data in a
// browser; a magic link never points at one.
var scriptSchemes = map[string]bool{"javascript": true, "data": true, "file": true, "vbscript": true, "blob": true, "about": true, "filesystem": true}

// checkRedirectURL accepts an absolute http or https URL with a host, or
// an app scheme (myapp://...). It refuses script and local schemes
// (javascript:, data:, file:, vbscript:, blob:, about:, in any case), URLs
// with control characters or credentials, and URLs over 2048 bytes.
func checkRedirectURL(field, raw string) error {
	if raw == "" {
		return nil
	}
	badURL := Invalid(field, "%s must be an absolute URL (http, https or an app scheme).", field)
	if len(raw) > maxRedirectURL || validText(field, raw) != nil {
		return badURL
	}
	for _, r := range raw {
		if r < 0x20 || r == 0x7f || unicode.Is(unicode.Cf, r) || unicode.IsSpace(r) {
			return badURL
		}
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Opaque != "" && (u.Scheme == "http" || u.Scheme == "https") {
		return badURL
	}
	scheme := strings.ToLower(u.Scheme)
	if scriptSchemes[scheme] {
		return Invalid(field, "%s must not use the %s: scheme.", field, scheme)
	}
	if (scheme == "http" || scheme == "https") && u.Host == "" {
		return badURL
	}
	if u.User != nil {
		return Invalid(field, "%s must not carry credentials.", field)
	}
	return nil
}

// checkPKCEChallenge accepts "" or a PKCE code challenge as RFC 7636
// defines it: 43 to 128 characters of A-Z a-z 0-9 - . _ ~ (an S256
// challenge is 43).
func checkPKCEChallenge(field, v string) error {
	if v == "" {
		return nil
	}
	if len(v) < 43 || len(v) > 128 {
		return Invalid(field, "%s must be 43 to 128 characters (RFC 7636).", field)
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return Invalid(field, "%s may only hold A-Z, a-z, 0-9, '-', '.', '_' and '~' (RFC 7636).", field)
		}
	}
	return nil
}

// linkURL appends stytch_token_type=magic_links&token=<token> to base.
func linkURL(base, token string) string {
	u, err := url.Parse(base)
	if err != nil {
		return base
	}
	q := u.Query()
	q.Set("stytch_token_type", "magic_links")
	q.Set("token", token)
	u.RawQuery = q.Encode()
	return u.String()
}

func (s *Service) landing(explicit, projectDefault string) string {
	switch {
	case explicit != "":
		return explicit
	case projectDefault != "":
		return projectDefault
	}
	return strings.TrimRight(s.cfg.PublicURL, "/") + "/v1/magic_links/redirect"
}

// SendMagicLink emails a login link (or a signup link when the user is
// created by this call). Returns EInvalid, EInvalidEmail,
// EInvalidExpiration, EEmailNotFound (send to an unknown email), ERateLimited.
func (s *Service) SendMagicLink(ctx context.Context, p *Project, in SendMagicLinkInput) (*SendResult, error) {
	return s.idempotent(ctx, p, "magiclink", in, func() (*SendResult, error) { return s.sendMagicLink(ctx, p, in) })
}

func (s *Service) sendMagicLink(ctx context.Context, p *Project, in SendMagicLinkInput) (*SendResult, error) {
	if err := CheckLocale(in.Locale); err != nil {
		return nil, err
	}
	email, err := NormalizeEmail(in.Email)
	if err != nil {
		return nil, err
	}
	loginExp, err := linkExpiration("login_expiration_minutes", in.LoginExpiration, s.linkDefault(ctx, p, DefaultLoginExpiration))
	if err != nil {
		return nil, err
	}
	signupExp, err := linkExpiration("signup_expiration_minutes", in.SignupExpiration, s.linkDefault(ctx, p, DefaultSignupExpiration))
	if err != nil {
		return nil, err
	}
	if err := s.checkProjectRedirect(ctx, p, RedirectLogin, "login_magic_link_url", in.LoginURL); err != nil {
		return nil, err
	}
	if err := s.checkProjectRedirect(ctx, p, RedirectSignup, "signup_magic_link_url", in.SignupURL); err != nil {
		return nil, err
	}
	if err := checkPKCEChallenge("code_challenge", in.CodeChallenge); err != nil {
		return nil, err
	}
	loginBase := s.landing(in.LoginURL, s.defaultRedirect(ctx, p, RedirectLogin))
	signupBase := s.landing(in.SignupURL, s.defaultRedirect(ctx, p, RedirectSignup))
	if in.UserID == "" && in.SessionToken == "" && in.SessionJWT == "" {
		return s.sendLinkOnce(ctx, p, in, email, loginExp, signupExp, loginBase, signupBase)
	}
	// A link to a given user: limits, recipient, link, one statement each.
	if err := s.checkSendLimit(ctx, p, email); err != nil {
		return nil, err
	}
	res, err := s.resolveRecipient(ctx, p, ChannelEmail, email, in.LoginOrCreate, in.CreatePending, in.UserID, in.SessionToken, in.SessionJWT)
	if err != nil {
		return nil, err
	}
	kind, exp, base := MagicLinkLogin, loginExp, loginBase
	if res.UserCreated {
		kind, exp, base = MagicLinkSignup, signupExp, signupBase
	}
	if res.MessageID, err = s.issueLink(ctx, p, res.UserID, res.MethodID, email, kind, exp, base, in.CodeChallenge, in.Locale); err != nil {
		return nil, err
	}
	return res, nil
}

// sendLinkOnce sends a login link, or a signup link when the user is
// created by the send, in one round trip (sendOnce): both events are
// built, the store keeps the one that applies.
func (s *Service) sendLinkOnce(ctx context.Context, p *Project, in SendMagicLinkInput, email string, loginExp, signupExp time.Duration, loginBase, signupBase string) (*SendResult, error) {
	token := NewToken()
	ml, ev, m, payload, err := s.newLink(ctx, p, "", "", email, MagicLinkLogin, loginExp, loginBase, in.CodeChallenge, in.Locale, token)
	if err != nil {
		return nil, err
	}
	signup := *ev
	signup.LinkKind, signup.ExpiresAt, signup.URL = MagicLinkSignup, ev.CreatedAt.Add(signupExp), linkURL(signupBase, token)
	_, signupPayload, err := s.outboxMessage(ctx, &signup)
	if err != nil {
		return nil, err
	}
	out, err := s.sendOnce(ctx, p, &SendRequest{Channel: ChannelEmail, Value: email, Create: in.LoginOrCreate, Pending: in.CreatePending,
		Link: ml, SignupKind: MagicLinkSignup, SignupExpires: signup.ExpiresAt, Message: m, Payload: payload, SignupPayload: signupPayload})
	if err != nil {
		return nil, err
	}
	if out.Created {
		ev = &signup
	}
	s.metrics.MagicLinkRequested()
	s.publishInline(ctx, ev)
	return &SendResult{UserID: out.UserID, MethodID: out.MethodID, UserStatus: out.Status, UserCreated: out.Created, MessageID: ev.MessageID}, nil
}

// issueLink stores a link token with its outbox message and publishes it.
func (s *Service) issueLink(ctx context.Context, p *Project, userID, emailID, email string, kind MagicLinkKind, exp time.Duration, base, challenge, locale string) (string, error) {
	ml, ev, m, payload, err := s.newLink(ctx, p, userID, emailID, email, kind, exp, base, challenge, locale, NewToken())
	if err != nil {
		return "", err
	}
	if err := s.store.CreateMagicLink(ctx, ml, m, payload); err != nil {
		return "", err
	}
	s.metrics.MagicLinkRequested()
	s.publishInline(ctx, ev)
	return ev.MessageID, nil
}

// newLink builds the link of token, its event and its outbox message.
func (s *Service) newLink(ctx context.Context, p *Project, userID, emailID, email string, kind MagicLinkKind, exp time.Duration, base, challenge, locale, token string) (*MagicLink, *Event, *Message, []byte, error) {
	now := s.now().UTC()
	ml := &MagicLink{ID: NewID(PrefixMagicLink, p), ProjectID: p.ID, UserID: userID, EmailID: emailID, Kind: kind,
		TokenHash: s.keys.TokenHash(token), CodeChallenge: challenge, ExpiresAt: now.Add(exp), CreatedAt: now}
	ev := &Event{
		MessageID: NewID(PrefixMessage, p), ProjectID: p.ID, Kind: KindMagicLink, Channel: ChannelEmail, To: email,
		URL: linkURL(base, token), LinkKind: kind, Locale: locale, ExpiresAt: ml.ExpiresAt, ChallengeID: ml.ID, CreatedAt: now,
	}
	m, payload, err := s.outboxMessage(ctx, ev)
	return ml, ev, m, payload, err
}

// InviteMagicLink creates a pending user for the email (if none exists) and
// emails an invite link. Inviting an active user returns EConflict.
func (s *Service) InviteMagicLink(ctx context.Context, p *Project, in InviteInput) (*SendResult, error) {
	return s.idempotent(ctx, p, "invite", in, func() (*SendResult, error) { return s.inviteMagicLink(ctx, p, in) })
}

func (s *Service) inviteMagicLink(ctx context.Context, p *Project, in InviteInput) (*SendResult, error) {
	if err := CheckLocale(in.Locale); err != nil {
		return nil, err
	}
	email, err := NormalizeEmail(in.Email)
	if err != nil {
		return nil, err
	}
	exp, err := linkExpiration("invite_expiration_minutes", in.Expiration, DefaultInviteExpiration)
	if err != nil {
		return nil, err
	}
	if err := s.checkProjectRedirect(ctx, p, RedirectInvite, "invite_magic_link_url", in.URL); err != nil {
		return nil, err
	}
	if err := validName(&in.Name); err != nil {
		return nil, err
	}
	if err := validMetadata("trusted_metadata", in.TrustedMetadata); err != nil {
		return nil, err
	}
	if err := validMetadata("untrusted_metadata", in.UntrustedMetadata); err != nil {
		return nil, err
	}
	if err := s.checkSendLimit(ctx, p, email); err != nil {
		return nil, err
	}
	userID, emailID, status, created, err := s.store.ResolveMethod(ctx, p, ChannelEmail, email, true, true)
	if err != nil {
		return nil, err
	}
	if created {
		upd := UserUpdate{TrustedMetadata: in.TrustedMetadata, UntrustedMetadata: in.UntrustedMetadata}
		if in.Name != (Name{}) {
			upd.Name = &in.Name
		}
		if _, err := s.store.UpdateUser(ctx, p.ID, userID, upd); err != nil {
			return nil, err
		}
	} else if status == UserActive {
		return nil, Errorf(EConflict, "The user is already active; send a login link instead.")
	}
	msgID, err := s.issueLink(ctx, p, userID, emailID, email, MagicLinkInvite, exp, s.landing(in.URL, s.defaultRedirect(ctx, p, RedirectInvite)), "", in.Locale)
	if err != nil {
		return nil, err
	}
	return &SendResult{UserID: userID, MethodID: emailID, UserCreated: created, UserStatus: UserPending, MessageID: msgID}, nil
}

// RevokeInvite invalidates the pending invite links of an email. EInviteNotFound.
func (s *Service) RevokeInvite(ctx context.Context, p *Project, email string) error {
	addr, err := NormalizeEmail(email)
	if err != nil {
		return err
	}
	n, err := s.store.RevokeInvites(ctx, p.ID, addr)
	if err != nil {
		return err
	}
	if n == 0 {
		return Errorf(EInviteNotFound, "No pending invite was found for this email.")
	}
	return nil
}

// CreateEmbeddedMagicLink returns a link token for an existing user without
// sending anything (the caller delivers it). Returns EUserNotFound, EInvalidExpiration.
func (s *Service) CreateEmbeddedMagicLink(ctx context.Context, p *Project, userID string, expiration time.Duration) (string, error) {
	exp, err := linkExpiration("expiration_minutes", expiration, DefaultEmbeddedExpiration)
	if err != nil {
		return "", err
	}
	if _, err := s.GetUser(ctx, p, userID); err != nil {
		return "", err
	}
	now := s.now().UTC()
	token := NewToken()
	ml := &MagicLink{ID: NewID(PrefixMagicLink, p), ProjectID: p.ID, UserID: userID, Kind: MagicLinkEmbedded,
		TokenHash: s.keys.TokenHash(token), ExpiresAt: now.Add(exp), CreatedAt: now}
	if err := s.store.CreateMagicLink(ctx, ml, nil, nil); err != nil {
		return "", err
	}
	return token, nil
}

// AuthenticateMagicLink consumes a link token (once), verifies the email,
// activates a pending user and starts or extends a session as
// in.Session says. Returns EInvalid, EMagicLinkNotFound, EMagicLinkUsed,
// EPKCEMismatch and the session errors.
func (s *Service) AuthenticateMagicLink(ctx context.Context, p *Project, in AuthenticateMagicLinkInput) (*AuthResult, error) {
	if in.Token == "" {
		return nil, Invalid("token", "token is required.")
	}
	if len(in.Token) > 512 {
		return nil, Errorf(EMagicLinkNotFound, "The magic link could not be found.")
	}
	existing, err := s.beginSession(ctx, p, &in.Session)
	if err != nil {
		return nil, err
	}
	challenge := ""
	if in.CodeVerifier != "" {
		challenge = PKCEChallenge(in.CodeVerifier)
	}
	now := s.now().UTC()
	f := Factor{Type: FactorMagicLink, DeliveryMethod: DeliveryEmail, LastAuthenticatedAt: now, CreatedAt: now, UpdatedAt: now}
	// Consuming, starting the session and reading the user are one round
	// trip; extending an existing session is its own.
	var sess *Session
	var tokenEnc []byte
	if existing == nil {
		if sess, tokenEnc, err = s.newSession(p, in.Session, f, now); err != nil {
			return nil, err
		}
	}
	ml, u, err := s.store.AuthenticateMagicLink(ctx, p.ID, s.keys.TokenHashes(in.Token), challenge, sess, tokenEnc)
	if err != nil {
		s.metrics.Authenticated(FactorMagicLink, string(ErrorCode(err)))
		return nil, err
	}
	s.metrics.Authenticated(FactorMagicLink, "ok")
	f.MethodID = ml.EmailID
	if ml.Kind == MagicLinkEmbedded {
		f.DeliveryMethod, f.MethodID = DeliveryEmbedded, ml.ID
	} else {
		f.Value, _ = methodValue(u, ml.EmailID)
	}
	res := &AuthResult{User: u, MethodID: f.MethodID, Factor: f}
	if sess != nil {
		sess.UserID, sess.Factors[0] = u.ID, f
		return res, s.signInto(ctx, res, sess)
	}
	if err := s.finishSession(ctx, p, res, in.Session, existing); err != nil {
		return nil, err
	}
	return res, nil
}
