package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// checkSessionRequest validates a SessionRequest before anything is consumed.
func checkSessionRequest(r *SessionRequest) error {
	if r.Token != "" && r.JWT != "" {
		return Errorf(ETooManySessionArgs, "Only one of session_token and session_jwt may be given.")
	}
	if r.Duration != 0 && (r.Duration < MinSessionDuration || r.Duration > MaxSessionDuration) {
		return &Error{Code: EInvalidDuration, Field: "session_duration_minutes", Message: "Session duration must be between 5 and 527040 minutes."}
	}
	if err := CheckAttributes(r.Attributes); err != nil {
		return err
	}
	return checkClaims(r.CustomClaims)
}

func checkClaims(claims map[string]any) error {
	if claims == nil {
		return nil
	}
	b, err := json.Marshal(claims)
	if err != nil {
		return &Error{Code: EInvalidClaims, Field: "session_custom_claims", Message: "session_custom_claims must be a JSON object."}
	}
	if len(b) > MaxCustomClaimsSize {
		return &Error{Code: EInvalidClaims, Field: "session_custom_claims", Message: "session_custom_claims must be at most 4 KB of JSON."}
	}
	if bytes.Contains(b, []byte(`\u0000`)) {
		return &Error{Code: EInvalidClaims, Field: "session_custom_claims", Message: "session_custom_claims must not contain NUL characters."}
	}
	return nil
}

// cleanAttributes drops what Postgres cannot store from client attributes.
func cleanAttributes(a Attributes) Attributes {
	clean := func(s string) string {
		s = strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "")
		if len(s) > 512 {
			s = s[:512]
		}
		return strings.ToValidUTF8(s, "")
	}
	return Attributes{IPAddress: clean(a.IPAddress), UserAgent: clean(a.UserAgent)}
}

// mergeClaims applies a claims update: reserved names are ignored, a nil
// value deletes the key. The merged set is re-checked for size.
func mergeClaims(dst map[string]any, upd map[string]any) (map[string]any, error) {
	if dst == nil {
		dst = map[string]any{}
	}
	for k, v := range upd {
		if slices.Contains(ReservedClaims, k) || k == "https://stytch.com/session" {
			continue
		}
		if v == nil {
			delete(dst, k)
			continue
		}
		dst[k] = v
	}
	return dst, checkClaims(dst)
}

// addFactor appends f to the session's factors or refreshes the same factor.
func addFactor(sess *Session, f Factor) {
	for i := range sess.Factors {
		g := &sess.Factors[i]
		if g.Type == f.Type && g.DeliveryMethod == f.DeliveryMethod && g.MethodID == f.MethodID {
			g.LastAuthenticatedAt = f.LastAuthenticatedAt
			g.UpdatedAt = f.UpdatedAt
			return
		}
	}
	sess.Factors = append(sess.Factors, f)
}

func checkOptions(sess *Session, o SessionOptions, attrs Attributes) error {
	if o.IPMatchRequired && sess.Attributes.IPAddress != attrs.IPAddress {
		return Errorf(EIPMismatch, "The IP address does not match the session's.")
	}
	if o.UserAgentMatchRequired && sess.Attributes.UserAgent != attrs.UserAgent {
		return Errorf(EUserAgentMismatch, "The user agent does not match the session's.")
	}
	return nil
}

// findSession resolves a token or a JWT to a live consumer (user) session
// and its plaintext token. A member session is not found here.
func (s *Service) findSession(ctx context.Context, p *Project, token, jwt string) (*Session, error) {
	sess, err := s.findAnySession(ctx, p, token, jwt)
	if err != nil {
		return nil, err
	}
	if sess.MemberID != "" {
		return nil, Errorf(ESessionNotFound, "Session could not be found.")
	}
	return sess, nil
}

// findMemberSession resolves a token or a JWT (exactly one) to a live B2B
// member session. A consumer session is not found here.
func (s *Service) findMemberSession(ctx context.Context, p *Project, token, jwt string) (*Session, error) {
	switch {
	case token != "" && jwt != "":
		return nil, Errorf(ETooManySessionArgs, "Only one of session_token and session_jwt may be given.")
	case token == "" && jwt == "":
		return nil, Errorf(ENoSessionArgs, "One of session_token or session_jwt is required.")
	}
	sess, err := s.findAnySession(ctx, p, token, jwt)
	if err != nil {
		return nil, err
	}
	if sess.MemberID == "" {
		return nil, Errorf(ESessionNotFound, "Session could not be found.")
	}
	return sess, nil
}

// findAnySession resolves a token or a JWT to a live session of either kind.
func (s *Service) findAnySession(ctx context.Context, p *Project, token, jwt string) (*Session, error) {
	var (
		sess *Session
		enc  []byte
		err  error
	)
	if token != "" {
		if len(token) > 512 {
			return nil, Errorf(ESessionNotFound, "Session could not be found.")
		}
		sess, enc, err = s.store.FindSessionByToken(ctx, p.ID, s.keys.TokenHashes(token))
	} else {
		if len(jwt) > 16*1024 {
			return nil, Errorf(EJWTInvalid, "The session JWT could not be parsed.")
		}
		var id string
		id, err = s.signer.ParseSessionJWT(ctx, p.ID, jwt)
		if err != nil {
			return nil, err
		}
		sess, enc, err = s.store.FindSession(ctx, p.ID, id)
	}
	if err != nil {
		return nil, err
	}
	if token != "" {
		sess.Token = token
	} else if pt, err := s.keys.Decrypt(enc, []byte(sess.ID)); err == nil {
		sess.Token = string(pt)
	}
	return sess, nil
}

// beginSession validates r and, when r names an existing session, loads
// and checks it before any code or link is consumed, so a bad session
// argument never burns a factor. It returns the existing session or nil.
func (s *Service) beginSession(ctx context.Context, p *Project, r *SessionRequest) (*Session, error) {
	if err := checkSessionRequest(r); err != nil {
		return nil, err
	}
	r.Attributes = cleanAttributes(r.Attributes)
	if r.Token == "" && r.JWT == "" {
		return nil, nil
	}
	sess, err := s.findSession(ctx, p, r.Token, r.JWT)
	if err != nil {
		return nil, err
	}
	if err := checkOptions(sess, r.Options, r.Attributes); err != nil {
		return nil, err
	}
	return sess, nil
}

// finishSession starts a session, extends existing (from beginSession) or
// does nothing, as r says, and fills the session fields of res.
func (s *Service) finishSession(ctx context.Context, p *Project, res *AuthResult, r SessionRequest, existing *Session) error {
	now := s.now().UTC()
	sess := existing
	switch {
	case existing != nil:
		if sess.UserID != res.User.ID {
			return Errorf(EUserMismatch, "The session belongs to another user.")
		}
		addFactor(sess, res.Factor)
		if r.Duration > 0 {
			sess.ExpiresAt = now.Add(r.Duration)
		}
		var err error
		if sess.CustomClaims, err = mergeClaims(sess.CustomClaims, r.CustomClaims); err != nil {
			return err
		}
		sess.LastAccessedAt = now
		if err := s.store.UpdateSession(ctx, sess); err != nil {
			return err
		}
	case r.Duration > 0:
		var tokenEnc []byte
		var err error
		if sess, tokenEnc, err = s.newSession(p, r, res.Factor, now); err != nil {
			return err
		}
		sess.UserID = res.User.ID
		if err := s.store.CreateSession(ctx, sess, tokenEnc); err != nil {
			return err
		}
	default:
		return nil
	}
	return s.signInto(ctx, res, sess)
}

// newSession returns the session r asks to start (nil when r.Duration is
// not positive) with factor f and its encrypted token, not yet stored and
// without its user, for a store that inserts it in a verify's round trip.
func (s *Service) newSession(p *Project, r SessionRequest, f Factor, now time.Time) (*Session, []byte, error) {
	if r.Duration <= 0 {
		return nil, nil, nil
	}
	claims, err := mergeClaims(nil, r.CustomClaims)
	if err != nil {
		return nil, nil, err
	}
	token := NewToken()
	sess := &Session{
		ID: NewID(PrefixSession, p), ProjectID: p.ID,
		TokenHash: s.keys.TokenHash(token), StartedAt: now, LastAccessedAt: now, ExpiresAt: now.Add(r.Duration),
		Attributes: r.Attributes, Factors: []Factor{f}, CustomClaims: claims, Token: token,
	}
	return sess, s.keys.Encrypt([]byte(token), []byte(sess.ID)), nil
}

// signInto signs a JWT for sess and fills the session fields of res.
func (s *Service) signInto(ctx context.Context, res *AuthResult, sess *Session) error {
	jwt, err := s.signer.SignSession(ctx, sess)
	if err != nil {
		return err
	}
	res.Session, res.SessionToken, res.SessionJWT = sess, sess.Token, jwt
	return nil
}

// AuthenticateSession checks a session token or JWT (exactly one), extends
// the session when Duration is positive, merges custom claims and returns
// the session with a fresh JWT. A JWT past its exp is accepted while its
// session lives. Returns ETooManySessionArgs, ENoSessionArgs,
// ESessionNotFound, EJWTInvalid, EIPMismatch, EUserAgentMismatch,
// EInvalidDuration, EInvalidClaims.
func (s *Service) AuthenticateSession(ctx context.Context, p *Project, in AuthenticateSessionInput) (*AuthResult, error) {
	if in.Token == "" && in.JWT == "" {
		return nil, Errorf(ENoSessionArgs, "One of session_token or session_jwt is required.")
	}
	r := SessionRequest{Duration: in.Duration, Token: in.Token, JWT: in.JWT, CustomClaims: in.CustomClaims, Attributes: in.Attributes}
	if err := checkSessionRequest(&r); err != nil {
		return nil, err
	}
	sess, err := s.findSession(ctx, p, in.Token, in.JWT)
	if err != nil {
		return nil, err
	}
	if err := checkOptions(sess, in.Options, cleanAttributes(in.Attributes)); err != nil {
		return nil, err
	}
	now := s.now().UTC()
	if in.Duration > 0 {
		sess.ExpiresAt = now.Add(in.Duration)
	}
	if sess.CustomClaims, err = mergeClaims(sess.CustomClaims, in.CustomClaims); err != nil {
		return nil, err
	}
	sess.LastAccessedAt = now
	if err := s.store.UpdateSession(ctx, sess); err != nil {
		return nil, err
	}
	u, err := s.store.FindUser(ctx, p.ID, sess.UserID)
	if err != nil {
		return nil, err
	}
	jwt, err := s.signer.SignSession(ctx, sess)
	if err != nil {
		return nil, err
	}
	return &AuthResult{User: u, Session: sess, SessionToken: sess.Token, SessionJWT: jwt}, nil
}

// ListSessions returns the user's live sessions with their tokens. EInvalidUserID.
func (s *Service) ListSessions(ctx context.Context, p *Project, userID string) ([]*Session, error) {
	if err := validID("user_id", userID, EInvalidUserID); err != nil {
		return nil, err
	}
	list, encs, err := s.store.ListSessions(ctx, p.ID, userID)
	if err != nil {
		return nil, err
	}
	for i, sess := range list {
		if i < len(encs) {
			if pt, err := s.keys.Decrypt(encs[i], []byte(sess.ID)); err == nil {
				sess.Token = string(pt)
			}
		}
	}
	return list, nil
}

// RevokeSession ends the session named by exactly one of id, token or JWT.
// Returns ENoSessionArgs, ETooManySessionArgs, ESessionNotFound, EJWTInvalid.
func (s *Service) RevokeSession(ctx context.Context, p *Project, in RevokeSessionInput) error {
	n := 0
	for _, v := range []string{in.SessionID, in.Token, in.JWT} {
		if v != "" {
			n++
		}
	}
	switch {
	case n == 0:
		return Errorf(ENoSessionArgs, "One of session_id, session_token or session_jwt is required.")
	case n > 1:
		return Errorf(ETooManySessionArgs, "Only one of session_id, session_token or session_jwt may be given.")
	}
	id := in.SessionID
	if id != "" {
		if err := validID("session_id", id, EInvalid); err != nil {
			return err
		}
	}
	if id == "" {
		sess, err := s.findSession(ctx, p, in.Token, in.JWT)
		if err != nil {
			return err
		}
		id = sess.ID
	} else if sess, _, err := s.store.FindSession(ctx, p.ID, id); err != nil {
		return err
	} else if sess.MemberID != "" {
		return Errorf(ESessionNotFound, "Session could not be found.") // member sessions are revoked by the B2B API
	}
	return s.store.RevokeSession(ctx, p.ID, id)
}

// JWKS returns the project's public signing keys as a JWKS document.
func (s *Service) JWKS(ctx context.Context, p *Project) ([]byte, error) {
	return s.signer.JWKS(ctx, p.ID)
}

// JWKSByProjectID serves the unauthenticated JWKS route. ENotFound for an
// unknown project.
func (s *Service) JWKSByProjectID(ctx context.Context, projectID string) ([]byte, error) {
	if err := validID("project_id", projectID, ENotFound); err != nil {
		return nil, err
	}
	if _, err := s.store.FindProject(ctx, projectID); err != nil {
		return nil, err
	}
	return s.signer.JWKS(ctx, projectID)
}
