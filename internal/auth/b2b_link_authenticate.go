package auth

import (
	"context"
	"errors"
	"time"
)

// This file holds the common B2B magic-link authenticate, without a
// session or an IST passed: one round trip (B2BAuthStore.AuthenticateMemberLink)
// consumes the link, activates the member, verifies its email and inserts
// either the member session or the IST, as the SMS code with an IST does
// (CheckMemberSMS). A call that passes a session or an IST keeps the
// multi-round-trip path (B2BAuthenticateMagicLink).

// MemberLinkCheck is a B2B magic-link authenticate without a session or
// IST passed (AuthenticateMemberLink). In one statement the store finds
// the B2B member link (never a discovery or consumer link) whose token
// hash is any of Hashes, locks it, and reads its member (only while the
// member still has the address the link went to) and the member's
// organization. Only when the link is live, its code_challenge equals
// VerifierChallenge and the member is not deleted, it consumes the link,
// activates a pending or invited member and verifies its email (writing
// the member only when that changes something), and inserts Session when
// the organization accepts the magic link as the member's primary factor
// (primaryOK) and asks no MFA of it (mfaRequired), else IST. Nothing is
// written otherwise.
type MemberLinkCheck struct {
	ProjectID         string
	Hashes            [][]byte // the token's TokenHashes
	VerifierChallenge string   // PKCEChallenge of the code_verifier, "" without one
	// Session and IST carry one factor (Session.Factors[0], the magic-link
	// factor); the store sets its method id and value to the member's
	// email id and address, the owner (MemberID, OrganizationID) of the
	// one it inserts to the link's member and organization, and the IST's
	// EmailAddress to the member's.
	Session  *Session
	TokenEnc []byte
	IST      *IntermediateSession
}

// MemberLinkOutcome is what AuthenticateMemberLink found and did.
type MemberLinkOutcome struct {
	// Link, Member and Organization are nil when no B2B member link has
	// the token or its member no longer has the link's address. Member
	// is as the statement found it, before its own update.
	Link         *MagicLink
	Member       *Member
	Organization *Organization
	Live         bool // the link was unconsumed and unexpired (after the lock)
	PKCEMatched  bool // its code_challenge equals VerifierChallenge
	Consumed     bool // this statement consumed it
	// MemberUpdatedAt is the member's new updated_at when the statement
	// wrote the member (nil: nothing changed).
	MemberUpdatedAt              *time.Time
	SessionInserted, ISTInserted bool
}

// memberLinkRefusal is the error of a link that AuthenticateMemberLink did
// not consume, in the order of the multi-round-trip path: no such member
// link, used or expired, PKCE mismatch, deleted member.
func memberLinkRefusal(out *MemberLinkOutcome) error {
	switch {
	case out.Link == nil || out.Member == nil:
		return Errorf(EMagicLinkNotFound, "The magic link could not be authenticated, try sending another magic link.")
	case !out.Live:
		return &Error{Code: EMagicLinkUsed, Field: "token", Message: "The magic link has already been used or has expired."}
	case !out.PKCEMatched:
		return &Error{Code: EPKCEMismatch, Field: "code_verifier", Message: "The code_verifier does not match the code_challenge of the magic link."}
	case out.Member.Status == MemberDeleted:
		return Errorf(EMemberDeleted, "The member has been deleted.")
	}
	return nil
}

// newSessionOrIST makes, before a one-round-trip authenticate, both what
// it may insert: a member session with the primary factor f (r's
// duration, claims and attributes) and its encrypted token, and an IST
// with f, with its token. Only the statement knows which one is needed;
// the other costs a few microseconds of Go.
func (s *Service) newSessionOrIST(p *Project, f Factor, r B2BSessionRequest, now time.Time) (*Session, []byte, *IntermediateSession, string, error) {
	sess, enc, err := s.newMemberSession(p, "", "", []Factor{f}, r, now)
	if err != nil {
		return nil, nil, nil, "", err
	}
	token := NewToken()
	ist := &IntermediateSession{ID: NewID(PrefixIntermediate, p), ProjectID: p.ID, TokenHash: s.keys.TokenHash(token),
		Factors: []Factor{f}, ExpiresAt: now.Add(ISTLifetime), CreatedAt: now}
	return sess, enc, ist, token, nil
}

// oneTrip is what a one-round-trip primary-factor authenticate consumed
// and inserted.
type oneTrip struct {
	org             *Organization
	member          *Member    // as the statement found it
	factor          string     // FactorMagicLink or FactorOTP (email)
	memberUpdatedAt *time.Time // when the statement wrote the member
	session         *Session
	ist             *IntermediateSession
	istToken        string
	sessionInserted bool
	istInserted     bool
	locale          string
}

// completeOneTrip ends a one-round-trip primary-factor authenticate whose
// statement consumed the link or code: it applies the statement's member
// update (activated, email verified), checks that the statement inserted
// what completeMemberAuth would (a session, else an IST with
// primary_required or mfa_required; EInternal and logged otherwise), sends
// the automatic SMS code when MFA is pending for a verified phone (a send
// of its own) and signs the session.
func (s *Service) completeOneTrip(ctx context.Context, p *Project, t oneTrip) (*MemberAuthResult, error) {
	o, m := t.org, t.member
	applyMemberUpdate(m, MemberMFAUpdate{Activate: true, VerifyEmail: true})
	if t.memberUpdatedAt != nil {
		m.UpdatedAt = *t.memberUpdatedAt
	}
	f := memberEmailFactor(t.factor, m, t.session.StartedAt)
	primary := primaryOK(o, m, []Factor{f})
	if wantSession := primary && !mfaRequired(o, m); wantSession != t.sessionInserted || wantSession == t.istInserted {
		s.log.Error("B2B primary factor: the statement's choice of session or IST is not the service's", "factor", t.factor,
			"session", t.sessionInserted, "ist", t.istInserted, "want_session", wantSession)
		s.metrics.Authenticated(t.factor, string(EInternal))
		return nil, Internal(nil)
	}
	s.metrics.Authenticated(t.factor, "ok")
	res := &MemberAuthResult{Member: m, Organization: o, MethodID: m.EmailID}
	switch {
	case !primary:
		res.PrimaryRequired = &PrimaryRequired{AllowedAuthMethods: append([]string{}, o.AllowedAuthMethods...)}
		res.IST, res.ISTExpiresAt = t.istToken, t.ist.ExpiresAt
	case t.istInserted: // MFA required
		res.MFARequired = mfaOptionsIn(o, m)
		res.IST, res.ISTExpiresAt = t.istToken, t.ist.ExpiresAt
		if autoSendSMS(o, m) {
			if _, err := s.sendMemberSMS(ctx, p, m, t.locale); err != nil {
				s.log.Warn("automatic MFA code not sent", "member_id", m.ID, "err", err)
			} else {
				res.MFARequired.SecondaryAuthInitiated = MFAMethodSMS
			}
		}
	default:
		sess := t.session
		sess.MemberID, sess.OrganizationID, sess.Factors = m.ID, o.ID, []Factor{f}
		jwt, err := s.signMemberSession(ctx, o, m, sess)
		if err != nil {
			return nil, err
		}
		res.Authenticated = true
		res.Session, res.SessionToken, res.SessionJWT = sess, sess.Token, jwt
	}
	return res, nil
}

// authenticateMemberLink is B2BAuthenticateMagicLink without a session or
// IST passed: one round trip, then completeOneTrip. A refusal writes
// nothing, a deleted member's link included (it stays unused).
func (s *Service) authenticateMemberLink(ctx context.Context, p *Project, in B2BAuthenticateMagicLinkInput, challenge string) (*MemberAuthResult, error) {
	now := s.now().UTC()
	f := Factor{Type: FactorMagicLink, DeliveryMethod: DeliveryEmail, LastAuthenticatedAt: now, CreatedAt: now, UpdatedAt: now}
	chk := MemberLinkCheck{ProjectID: p.ID, Hashes: s.keys.TokenHashes(in.Token), VerifierChallenge: challenge}
	var (
		istToken string
		err      error
	)
	if chk.Session, chk.TokenEnc, chk.IST, istToken, err = s.newSessionOrIST(p, f, in.Session, now); err != nil {
		return nil, err
	}
	out, err := s.store.AuthenticateMemberLink(ctx, chk)
	if err == nil && !out.Consumed {
		err = memberLinkRefusal(out)
		if err == nil { // every check held, yet the locked link was not consumed
			err = Internal(errors.New("B2B magic link: the checks held but the link was not consumed"))
		}
	}
	if err != nil {
		s.metrics.Authenticated(FactorMagicLink, string(ErrorCode(err)))
		return nil, err
	}
	return s.completeOneTrip(ctx, p, oneTrip{org: out.Organization, member: out.Member, factor: FactorMagicLink,
		memberUpdatedAt: out.MemberUpdatedAt, session: chk.Session, ist: chk.IST, istToken: istToken,
		sessionInserted: out.SessionInserted, istInserted: out.ISTInserted, locale: in.Locale})
}
