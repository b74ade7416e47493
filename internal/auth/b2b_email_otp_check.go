package auth

import (
	"context"
	"strings"
	"time"
)

// This file holds the common B2B email OTP authenticate, without a session
// or an IST passed and off the sandbox: one round trip
// (B2BAuthStore.CheckMemberEmailOTP) for the verify limits, the attempt,
// the comparison, the consumption of the code, the member update and the
// session or IST insert, as the magic link (AuthenticateMemberLink) and the
// SMS code with an IST (CheckMemberSMS) do.

// MemberEmailLimitKey stands, in the Key of a MemberEmailOTPCheck limit,
// for the member's email id, which only the store's statement knows: the
// per-method verify limit is the same "verify:<project>:<email id>" key the
// multi-round-trip check counts against.
const MemberEmailLimitKey = "{member_email_id}"

// MemberEmailOTPCheck is a B2B email code check without a session or IST
// passed (CheckMemberEmailOTP). In one statement the store resolves the
// organization (id, slug or external id) and its member with Email, and
// only when the member is not deleted checks Limits (a refusal raises:
// nothing is written) and counts an attempt on the newest code of the
// member's email id if it is live (unconsumed, unexpired, fewer than
// MaxAttempts attempts), comparing its MAC with MACs in the same UPDATE;
// when they match and the code is the member's, it consumes the code,
// activates a pending or invited member and verifies its email (written
// only when that changes something), and inserts Session when the
// organization accepts email codes as the member's primary factor and asks
// no MFA of it, else IST. Nothing but the attempt is written otherwise.
type MemberEmailOTPCheck struct {
	ProjectID, OrgRef, Email string
	MACs                     [][]byte // emailCodeMACs of the code
	MaxAttempts              int
	Limits                   []LimitKey // MemberEmailLimitKey in a Key is replaced
	// Session and IST carry one factor (Session.Factors[0], the email
	// code factor), completed by the store as in MemberLinkCheck.
	Session  *Session
	TokenEnc []byte
	IST      *IntermediateSession
}

// MemberEmailOTPOutcome is what CheckMemberEmailOTP found and did.
type MemberEmailOTPOutcome struct {
	Organization *Organization
	// Member is nil when the organization has no member with the email;
	// it is as the statement found it, before its own update.
	Member *Member
	// Checked reports that the member was there and not deleted: the
	// limits were checked and the code looked at.
	Checked bool
	// Challenge is the newest code of the member's email id (its attempt
	// count after this check), nil when there is none or !Checked.
	Challenge                    *Challenge
	Attempted, Matched, Consumed bool
	MemberUpdatedAt              *time.Time // the member's new updated_at when the statement wrote it
	SessionInserted, ISTInserted bool
}

// EmailCodeBinding is what a member's email code is bound to, with its
// project (Keyring.MethodCodeMAC): its address, which the authenticate
// names (not the member or the challenge), so that CheckMemberEmailOTP can
// compare MACs in SQL. It never equals a method or member id (ids hold no
// "@"). The address is lower-cased as the members table stores it, so the
// send, the one-round-trip check and the check with a session agree.
func EmailCodeBinding(email string) string { return "member-email:" + strings.ToLower(email) }

// emailCodeMACs returns the MACs of a member's email code bound to its
// project and address, one per key, newest first.
func (s *Service) emailCodeMACs(projectID, email, code string) [][]byte {
	return s.keys.MethodCodeMACs(projectID, EmailCodeBinding(email), code)
}

// emailCodeMatches reports, in constant time per key, whether code is
// c's under either binding of an email code: the address (codes sent
// since CheckMemberEmailOTP) or the challenge (codes sent before).
func (s *Service) emailCodeMatches(projectID, email string, c *Challenge, code string) bool {
	return s.boundCodeMatches(projectID, EmailCodeBinding(email), c, code)
}

// emailOTPPreconditions is what the multi-round-trip path refuses before
// it looks at the code, in its order.
func emailOTPPreconditions(out *MemberEmailOTPOutcome) error {
	switch {
	case out.Member == nil:
		return &Error{Code: EMemberNotFound, Field: "member_id", Message: "Member not found."}
	case out.Member.Status == MemberDeleted:
		return deletedMember()
	}
	return nil
}

// authenticateEmailOTPOneTrip is B2BAuthenticateEmailOTP without a session
// or IST passed, off the sandbox. A code bound to its challenge (sent
// before address binding) is checked by the statement's attempt and, when
// right, consumed the multi-round-trip way.
func (s *Service) authenticateEmailOTPOneTrip(ctx context.Context, p *Project, in B2BAuthenticateEmailOTPInput, email string) (*MemberAuthResult, error) {
	now := s.now().UTC()
	f := Factor{Type: FactorOTP, DeliveryMethod: DeliveryEmail, LastAuthenticatedAt: now, CreatedAt: now, UpdatedAt: now}
	chk := MemberEmailOTPCheck{ProjectID: p.ID, OrgRef: in.OrganizationID, Email: email,
		MACs: s.emailCodeMACs(p.ID, email, in.Code), MaxAttempts: s.cfg.MaxOTPAttempts,
		Limits: s.verifyLimitKeys(ctx, p, MemberEmailLimitKey)}
	var (
		istToken string
		err      error
	)
	if chk.Session, chk.TokenEnc, chk.IST, istToken, err = s.newSessionOrIST(p, f, in.Session, now); err != nil {
		return nil, err
	}
	out, err := s.store.CheckMemberEmailOTP(ctx, chk)
	if err != nil {
		return nil, s.memberCheckFailed(err, chk.Limits)
	}
	if err := s.crossChecked("B2B email OTP check", emailOTPPreconditions(out), out.Checked); err != nil {
		return nil, err
	}
	o, m, c := out.Organization, out.Member, out.Challenge
	switch {
	case c == nil:
		err = &Error{Code: EOTPNotFound, Field: "method_id", Message: "No one-time passcode was sent to this method."}
	case !out.Attempted:
		err = &Error{Code: EOTPExpired, Field: "code", Message: "The one-time passcode has expired, was already used or had too many attempts. Request a new one."}
	case c.MemberID != m.ID:
		err = Errorf(EOTPNotFound, "No code was sent to this member.")
	case !out.Matched && s.emailCodeMatches(p.ID, email, c, in.Code):
		// Bound to the challenge (sent before address binding): the
		// attempt is counted, the code is consumed the multi-round-trip way.
		if m, err = s.store.ConsumeMemberChallenge(ctx, p.ID, c.ID, "", MemberMFAUpdate{Activate: true, VerifyEmail: true}); err != nil {
			s.metrics.Authenticated(FactorOTP, string(ErrorCode(err)))
			return nil, err
		}
		s.metrics.Authenticated(FactorOTP, "ok")
		s.otpCountry(ChannelEmail, email, "verified")
		return s.finishB2BPrimary(ctx, p, o, m, memberEmailFactor(FactorOTP, m, now), in.Session, nil, nil, "")
	case !out.Matched:
		err = Errorf(EOTPWrong, "The passcode was incorrect.")
	case !out.Consumed:
		err = Internal(nil) // matched a live code of this member: the statement consumed it
	}
	if err != nil {
		s.metrics.Authenticated(FactorOTP, string(ErrorCode(err)))
		return nil, err
	}
	s.otpCountry(ChannelEmail, email, "verified")
	return s.completeOneTrip(ctx, p, oneTrip{org: o, member: m, factor: FactorOTP, memberUpdatedAt: out.MemberUpdatedAt,
		session: chk.Session, ist: chk.IST, istToken: istToken, sessionInserted: out.SessionInserted, istInserted: out.ISTInserted})
}
