package auth

import (
	"context"
	"encoding/json"
	"time"
)

// Bounds of a code's lifetime.
const (
	MinOTPExpiration     = time.Minute
	MaxOTPExpiration     = 10 * time.Minute
	DefaultOTPExpiration = 2 * time.Minute
)

func isSandbox(p *Project, value string) bool {
	return !p.Live() && (value == SandboxPhone || value == SandboxEmail)
}

// normalizeTo normalizes a recipient for the channel.
func normalizeTo(ch Channel, to string) (string, error) {
	if ch == ChannelEmail {
		return NormalizeEmail(to)
	}
	return NormalizePhone(to)
}

type clientIPKey struct{}

// WithClientIP records the requesting client's IP for per-IP limits.
func WithClientIP(ctx context.Context, ip string) context.Context {
	return context.WithValue(ctx, clientIPKey{}, ip)
}

func clientIP(ctx context.Context) string {
	ip, _ := ctx.Value(clientIPKey{}).(string)
	return ip
}

// resolveRecipient finds or creates the user and method a send goes to.
func (s *Service) resolveRecipient(ctx context.Context, p *Project, ch Channel, value string, loginOrCreate, pending bool, userID, token, jwt string) (*SendResult, error) {
	if token != "" && jwt != "" {
		return nil, Errorf(ETooManySessionArgs, "Only one of session_token and session_jwt may be given.")
	}
	if token != "" || jwt != "" {
		sess, err := s.findSession(ctx, p, token, jwt)
		if err != nil {
			return nil, err
		}
		if userID != "" && userID != sess.UserID {
			return nil, Errorf(EUserMismatch, "The session belongs to another user.")
		}
		userID = sess.UserID
	}
	if userID != "" {
		if err := validID("user_id", userID, EInvalidUserID); err != nil {
			return nil, err
		}
		methodID, err := s.store.AttachMethod(ctx, p, userID, ch, value)
		if err != nil {
			return nil, err
		}
		return &SendResult{UserID: userID, MethodID: methodID}, nil
	}
	uid, methodID, status, created, err := s.store.ResolveMethod(ctx, p, ch, value, loginOrCreate, pending)
	if err != nil {
		return nil, err
	}
	return &SendResult{UserID: uid, MethodID: methodID, UserStatus: status, UserCreated: created}, nil
}

// SendOTP issues a one-time code to a phone (sms, whatsapp) or email and
// queues its delivery. The newest code of a method supersedes older ones.
// Returns EInvalid, EInvalidPhone, EInvalidEmail, EInvalidExpiration,
// EPhoneNotFound/EEmailNotFound (send to an unknown recipient),
// EUserNotFound, EDuplicatePhone/EDuplicateEmail (attach to a user when
// another user holds it), ERateLimited.
func (s *Service) SendOTP(ctx context.Context, p *Project, in SendOTPInput) (*SendResult, error) {
	return s.idempotent(ctx, p, "otp", in, func() (*SendResult, error) { return s.sendOTP(ctx, p, in) })
}

func (s *Service) sendOTP(ctx context.Context, p *Project, in SendOTPInput) (*SendResult, error) {
	if err := CheckLocale(in.Locale); err != nil {
		return nil, err
	}
	if !in.Channel.Valid() {
		return nil, Invalid("channel", "Unknown delivery channel.")
	}
	exp := in.Expiration
	if exp == 0 {
		exp = s.otpExpiration(ctx, p)
	}
	if exp < MinOTPExpiration || exp > MaxOTPExpiration {
		return nil, &Error{Code: EInvalidExpiration, Field: "expiration_minutes", Message: "Expiration must be between 1 and 10 minutes."}
	}
	to, err := normalizeTo(in.Channel, in.To)
	if err != nil {
		return nil, err
	}
	sandbox := isSandbox(p, to)
	if !sandbox && in.Channel.IsPhone() {
		if err := s.checkCountry(p, to); err != nil {
			return nil, err
		}
	}
	if sandbox {
		// Sandbox values never send and authenticate with SandboxCode.
		return s.resolveRecipient(ctx, p, in.Channel, to, in.LoginOrCreate, in.CreatePending, in.UserID, in.SessionToken, in.SessionJWT)
	}
	c, ev, m, payload, err := s.newCode(ctx, p, in.Channel, to, in.Locale, exp)
	if err != nil {
		return nil, err
	}
	code := ev.Code
	var res *SendResult
	if in.UserID == "" && in.SessionToken == "" && in.SessionJWT == "" {
		// The hot path: one round trip (sendOnce). The code is bound to
		// its method (MethodCodeMAC): the MACs for a new method and for
		// the method this process last saw for the recipient go along; on
		// a miss the code follows in a second statement.
		newMethod := NewID(methodPrefix(in.Channel), p)
		known := s.knownMethod(p.ID, to)
		req := &SendRequest{Channel: in.Channel, Value: to, Create: in.LoginOrCreate, Pending: in.CreatePending,
			Challenge: c, Message: m, Payload: payload,
			NewMethodID: newMethod, NewMethodMAC: s.keys.MethodCodeMAC(p.ID, newMethod, code)}
		if known != "" {
			req.KnownMethodID, req.KnownMethodMAC = known, s.keys.MethodCodeMAC(p.ID, known, code)
		}
		out, err := s.sendOnce(ctx, p, req)
		if err != nil {
			return nil, err
		}
		s.rememberMethod(p.ID, to, out.MethodID)
		res = &SendResult{UserID: out.UserID, MethodID: out.MethodID, UserStatus: out.Status, UserCreated: out.Created}
		if !out.Issued {
			c.UserID, c.MethodID, c.CodeHMAC = out.UserID, out.MethodID, s.keys.MethodCodeMAC(p.ID, out.MethodID, code)
			if err := s.store.CreateChallenge(ctx, c, m, payload); err != nil {
				return nil, err
			}
		}
	} else {
		// A send to a given user: limits, recipient, code, one statement each.
		if err := s.checkSendLimit(ctx, p, to); err != nil {
			return nil, err
		}
		if res, err = s.resolveRecipient(ctx, p, in.Channel, to, in.LoginOrCreate, in.CreatePending, in.UserID, in.SessionToken, in.SessionJWT); err != nil {
			return nil, err
		}
		c.UserID, c.MethodID, c.CodeHMAC = res.UserID, res.MethodID, s.keys.MethodCodeMAC(p.ID, res.MethodID, code)
		if err := s.store.CreateChallenge(ctx, c, m, payload); err != nil {
			return nil, err
		}
	}
	s.metrics.OTPRequested(in.Channel)
	s.otpCountry(in.Channel, to, "sent")
	s.publishInline(ctx, ev)
	res.MessageID = ev.MessageID
	return res, nil
}

// newCode draws a code for a send to a recipient and builds its challenge
// (UserID, MethodID and CodeHMAC still to be filled: a consumer code is
// bound to its method, a member's to its challenge), event and outbox
// message.
func (s *Service) newCode(ctx context.Context, p *Project, ch Channel, to, locale string, exp time.Duration) (*Challenge, *Event, *Message, []byte, error) {
	now := s.now().UTC()
	c := &Challenge{ID: NewID(PrefixChallenge, p), ProjectID: p.ID, Channel: ch, ExpiresAt: now.Add(exp), CreatedAt: now}
	ev := &Event{
		MessageID: NewID(PrefixMessage, p), ProjectID: p.ID, Kind: KindOTP, Channel: ch, To: to, Code: NewCode(),
		Locale: locale, ExpiresAt: c.ExpiresAt, ChallengeID: c.ID, CreatedAt: now,
	}
	m, payload, err := s.outboxMessage(ctx, ev)
	return c, ev, m, payload, err
}

// outboxMessage builds the message row and the encrypted payload of ev,
// which it also sets as ev.Sealed (published with the event).
func (s *Service) outboxMessage(ctx context.Context, ev *Event) (*Message, []byte, error) {
	s.brandEvent(ev)
	if s.traceParent != nil {
		ev.TraceParent = s.traceParent(ctx)
	}
	// Sealed without its own ciphertext (a copy of another event, like
	// the signup variant of a link, carries the original's).
	ev.Sealed = nil
	b, err := json.Marshal(ev)
	if err != nil {
		return nil, nil, Internal(err)
	}
	m := &Message{
		ID: ev.MessageID, ProjectID: ev.ProjectID, Kind: ev.Kind, Channel: ev.Channel, Recipient: ev.To,
		Status: MessageQueued, ChallengeID: ev.ChallengeID, ExpiresAt: ev.ExpiresAt, CreatedAt: ev.CreatedAt, UpdatedAt: ev.CreatedAt,
	}
	ev.Sealed = s.keys.Encrypt(b, []byte(ev.MessageID))
	return m, ev.Sealed, nil
}

// AuthenticateOTP checks a code for a method (phone id or email id). The
// attempt is counted before the comparison; after MaxOTPAttempts wrong
// codes, or once used, expired or superseded, the challenge is dead. On
// success the code is consumed, the method verified, a pending user
// activated, and a session started or extended as in.Session says.
// Counting, comparing, consuming, starting the session and reading the user
// are one round trip (ChallengeStore.VerifyCode): the code's MACs are
// computed first, bound to the project and method. The project's verify
// limits (per method, per client IP) are checked in that same round trip;
// a refused check is ERateLimited and counts no attempt.
// Returns EInvalid, ERateLimited, EOTPNotFound, EOTPWrong, EOTPExpired and the session errors.
func (s *Service) AuthenticateOTP(ctx context.Context, p *Project, in AuthenticateOTPInput) (*AuthResult, error) {
	if err := validID("method_id", in.MethodID, EInvalidMethodID); err != nil {
		return nil, err
	}
	if len(in.Code) != CodeLength || !allDigits(in.Code) {
		return nil, Invalid("code", "The code must be %d digits.", CodeLength)
	}
	existing, err := s.beginSession(ctx, p, &in.Session)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	f := Factor{Type: FactorOTP, MethodID: in.MethodID, LastAuthenticatedAt: now, CreatedAt: now, UpdatedAt: now}
	if !p.Live() && in.Code == SandboxCode {
		uid, class, value, err := s.store.FindMethod(ctx, p.ID, in.MethodID)
		if err == nil && (value == SandboxPhone || value == SandboxEmail) {
			if existing != nil && existing.UserID != uid {
				return nil, Errorf(EUserMismatch, "The session belongs to another user.")
			}
			f.DeliveryMethod = string(ChannelEmail)
			if class != "email" {
				f.DeliveryMethod = string(ChannelSMS)
			}
			return s.otpAuthenticated(ctx, p, in, uid, f, existing)
		}
	}
	v := VerifyCodeInput{ProjectID: p.ID, MethodID: in.MethodID, MACs: s.keys.MethodCodeMACs(p.ID, in.MethodID, in.Code),
		MaxAttempts: s.cfg.MaxOTPAttempts, Limits: s.verifyLimitKeys(ctx, p, in.MethodID)}
	if existing != nil {
		v.UserID = existing.UserID
	} else if v.Session, v.TokenEnc, err = s.newSession(p, in.Session, f, now); err != nil {
		return nil, err
	}
	r, err := s.store.VerifyCode(ctx, v)
	if err != nil {
		err = s.limitRefused(err, v.Limits)
		s.metrics.Authenticated(FactorOTP, string(ErrorCode(err)))
		return nil, err
	}
	c := r.Challenge
	f.DeliveryMethod = string(c.Channel)
	switch {
	case !r.Matched && s.keys.VerifyCode(c.ID, in.Code, c.CodeHMAC):
		// A code issued before codes were bound to their method (it lives
		// no longer than the OTP expiration): its attempt is counted, it
		// is consumed the old way.
		if existing != nil && existing.UserID != c.UserID {
			return nil, Errorf(EUserMismatch, "The session belongs to another user.")
		}
		if err := s.store.ConsumeChallenge(ctx, p.ID, c.ID); err != nil {
			s.metrics.Authenticated(FactorOTP, string(ErrorCode(err)))
			return nil, err
		}
		return s.otpAuthenticated(ctx, p, in, c.UserID, f, existing)
	case !r.Matched:
		s.metrics.Authenticated(FactorOTP, string(EOTPWrong))
		return nil, Errorf(EOTPWrong, "The code is incorrect.")
	case !r.Consumed || r.User == nil:
		// Matched, but for another user than the session's: the code stays usable.
		return nil, Errorf(EUserMismatch, "The session belongs to another user.")
	}
	s.metrics.Authenticated(FactorOTP, "ok")
	f.Value, _ = methodValue(r.User, in.MethodID)
	s.otpCountry(c.Channel, f.Value, "verified")
	res := &AuthResult{User: r.User, MethodID: in.MethodID, Factor: f}
	if v.Session == nil {
		return res, s.finishSession(ctx, p, res, in.Session, existing)
	}
	v.Session.UserID, v.Session.Factors[0] = r.User.ID, f
	return res, s.signInto(ctx, res, v.Session)
}

// otpAuthenticated finishes a code authenticated outside VerifyCode (a
// sandbox code, a code issued before method binding): it reads the user and
// starts or extends the session in their own round trips.
func (s *Service) otpAuthenticated(ctx context.Context, p *Project, in AuthenticateOTPInput, userID string, f Factor, existing *Session) (*AuthResult, error) {
	s.metrics.Authenticated(FactorOTP, "ok")
	u, err := s.store.FindUser(ctx, p.ID, userID)
	if err != nil {
		return nil, err
	}
	f.Value, _ = methodValue(u, in.MethodID)
	s.otpCountry(Channel(f.DeliveryMethod), f.Value, "verified")
	res := &AuthResult{User: u, MethodID: in.MethodID, Factor: f}
	if err := s.finishSession(ctx, p, res, in.Session, existing); err != nil {
		return nil, err
	}
	return res, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
