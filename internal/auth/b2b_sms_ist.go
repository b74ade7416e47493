package auth

import (
	"context"
	"crypto/hmac"
)

// This file holds the hot step of the B2B MFA flow: an SMS code checked
// with an intermediate session token in one round trip
// (B2BAuthStore.CheckMemberSMS), as the consumer's code check is
// (ChallengeStore.VerifyCode).

// MFAPhoneLimitKey stands, in the Key of a MemberSMSCheck limit, for the
// member's MFA phone id, which only the store's statement knows: the
// per-method verify limit ("verify:<project>:<method>") is the same key
// as the other member code checks count against.
const MFAPhoneLimitKey = "{mfa_phone_id}"

// MemberSMSCheck is a B2B SMS code check with an IST (CheckMemberSMS). In
// one statement the store resolves the organization (id, slug or external
// id) and its member (id or external id) and the live IST of ISTHashes,
// and checks what the service would check first: the member is active,
// the organization allows SMS codes for it (smsAllowed), the IST is bound
// to this member and organization and holds a primary factor the
// organization accepts (primaryOK), the member has an MFA phone. Only when
// all hold, it checks Limits (a refusal raises: nothing is written) and
// counts an attempt on the newest code of the member's MFA phone if it is
// live (unconsumed, unexpired, fewer than MaxAttempts attempts), comparing
// its MAC with MACs in the same UPDATE; when they match and the code is
// the member's, it consumes the code and the IST, verifies the phone, sets
// mfa_enrolled (true under REQUIRED_FOR_ALL, else SetEnrolled if not nil)
// and default_mfa_method (sms_otp with SetDefault or when it is ""), and
// inserts Session. Nothing but the attempt is written otherwise.
type MemberSMSCheck struct {
	ProjectID, OrgRef, MemberRef string
	ISTHashes                    [][]byte // the IST's TokenHashes (nil: no IST matches)
	MACs                         [][]byte // memberCodeMACs of the code for MemberRef as a member id
	MaxAttempts                  int
	SetEnrolled                  *bool
	SetDefault                   bool
	// Session is inserted on success for the member and organization
	// found (the store sets its MemberID and OrganizationID), with the
	// IST's factors followed by Session.Factors[0], whose method id and
	// value the store sets to the member's MFA phone id and number.
	Session  *Session
	TokenEnc []byte
	Limits   []LimitKey // checked as VerifyCodeInput.Limits; MFAPhoneLimitKey in a Key is replaced
}

// MemberSMSOutcome is what CheckMemberSMS found and did.
type MemberSMSOutcome struct {
	Organization *Organization
	// Member is nil when the organization has no such member; after a
	// consume it carries the statement's update.
	Member *Member
	IST    *IntermediateSession // the live IST of the hashes, nil if none
	// Checked reports that the preconditions held in the statement: the
	// limits were checked and the code looked at.
	Checked bool
	// Challenge is the newest code of the member's MFA phone (its attempt
	// count after this check), nil when there is none or !Checked.
	Challenge                    *Challenge
	Attempted, Matched, Consumed bool
	SessionInserted              bool
}

// memberCodeMACs returns the MACs of a member's SMS code bound to its
// project and member (MethodCodeMACs with the member id in place of a
// method id: member ids never equal a method id), one per key, newest
// first. A B2B SMS check knows the member id (the request names it) but
// not the member's phone id, so the code is bound to the member.
func (s *Service) memberCodeMACs(projectID, memberID, code string) [][]byte {
	return s.keys.MethodCodeMACs(projectID, memberID, code)
}

// memberCodeMatches reports, in constant time per key, whether code is
// mac under either binding of a member code: the member (SMS codes sent
// since CheckMemberSMS) or the challenge (email codes, and SMS codes sent
// before).
func (s *Service) memberCodeMatches(projectID, memberID string, c *Challenge, code string) bool {
	return s.boundCodeMatches(projectID, memberID, c, code)
}

// boundCodeMatches reports, in constant time per key, whether code is c's
// under the challenge binding or under binding (memberCodeMACs and
// emailCodeMACs name theirs): every MAC is compared, none short-circuits.
func (s *Service) boundCodeMatches(projectID, binding string, c *Challenge, code string) bool {
	ok := s.keys.VerifyCode(c.ID, code, c.CodeHMAC)
	for _, mac := range s.keys.MethodCodeMACs(projectID, binding, code) {
		if hmac.Equal(mac, c.CodeHMAC) {
			ok = true
		}
	}
	return ok
}

// smsMFAUpdate is what a right SMS code changes on m in o: the phone
// verified, mfa_enrolled (true under REQUIRED_FOR_ALL, else as
// setEnrollment says) and default_mfa_method (sms_otp with setDefault or
// when none). CheckMemberSMS applies the same in SQL.
func smsMFAUpdate(o *Organization, m *Member, setEnrollment string, setDefault bool) MemberMFAUpdate {
	upd := MemberMFAUpdate{VerifyPhone: true}
	enroll := setEnrollment == "enroll"
	switch {
	case o.MFAPolicy == MFARequiredForAll:
		enroll = true
		upd.SetEnrolled = &enroll
	case setEnrollment != "":
		upd.SetEnrolled = &enroll
	}
	if setDefault || m.DefaultMFAMethod == "" {
		upd.DefaultMFAMethod = MFAMethodSMS
	}
	return upd
}

// checkSMSMember refuses a member whose SMS code B2BAuthenticateSMS may
// not check: deleted, not active, or SMS not allowed by o.
func checkSMSMember(o *Organization, m *Member) error {
	switch {
	case m.Status == MemberDeleted:
		return deletedMember()
	case m.Status != MemberActive:
		return Errorf(EInactiveMember, "You may not attach an MFA factor to a member that is not active.")
	case !smsAllowed(o, m):
		return Errorf(EMFAMethodNotAllowed, "The organization does not allow SMS codes as a second factor.")
	}
	return nil
}

// istBoundTo refuses an IST not bound to member m of o. EISTOrgMismatch.
func istBoundTo(is *IntermediateSession, o *Organization, m *Member) error {
	if is.MemberID == "" || is.OrganizationID != o.ID || is.MemberID != m.ID {
		return Errorf(EISTOrgMismatch, "The intermediate session token belongs to another organization or member.")
	}
	return nil
}

// checkSMSProof refuses an IST whose primary factor o does not accept for
// m, and a member without an MFA phone.
func checkSMSProof(o *Organization, m *Member, ist *IntermediateSession) error {
	if ist != nil && !primaryOK(o, m, ist.Factors) {
		return Errorf(EPrimaryRequired, "You must complete the primary authentication requirements for an organization before completing an MFA flow.")
	}
	if m.MFAPhoneID == "" {
		return &Error{Code: EMemberPhoneNotFound, Field: "member_id", Message: "The member has no MFA phone number."}
	}
	return nil
}

// smsISTPreconditions checks what CheckMemberSMS found as the
// multi-round-trip path checks it, in the same order, so that every
// refusal keeps its error.
func smsISTPreconditions(out *MemberSMSOutcome) error {
	o, m := out.Organization, out.Member
	if m == nil {
		return &Error{Code: EMemberNotFound, Field: "member_id", Message: "Member not found."}
	}
	if err := checkSMSMember(o, m); err != nil {
		return err
	}
	if out.IST == nil {
		return Errorf(EISTNotFound, "Intermediate session could not be found.")
	}
	if err := istBoundTo(out.IST, o, m); err != nil {
		return err
	}
	return checkSMSProof(o, m, out.IST)
}

// authenticateSMSWithIST is B2BAuthenticateSMS with an IST on a live code:
// one round trip (CheckMemberSMS) for the limits, the attempt, the
// comparison, the consumption of the code and the IST, the member update
// and the session insert; then the JWT is signed. A code bound to its
// challenge (sent before member binding) or a member named by external id
// is checked by the statement's attempt and, when right, consumed the
// multi-round-trip way.
func (s *Service) authenticateSMSWithIST(ctx context.Context, p *Project, in B2BAuthenticateSMSInput, r B2BSessionRequest) (*MemberAuthResult, error) {
	now := s.now().UTC()
	chk := MemberSMSCheck{ProjectID: p.ID, OrgRef: in.OrganizationID, MemberRef: in.MemberID,
		MACs: s.memberCodeMACs(p.ID, in.MemberID, in.Code), MaxAttempts: s.cfg.MaxOTPAttempts,
		SetDefault: in.SetDefaultMFA, Limits: s.verifyLimitKeys(ctx, p, MFAPhoneLimitKey)}
	if r.IST != "" && len(r.IST) <= maxISTLen {
		chk.ISTHashes = s.keys.TokenHashes(r.IST)
	}
	if in.SetMFAEnrollment != "" {
		enroll := in.SetMFAEnrollment == "enroll"
		chk.SetEnrolled = &enroll
	}
	sms := Factor{Type: FactorOTP, DeliveryMethod: DeliverySMS, LastAuthenticatedAt: now, CreatedAt: now, UpdatedAt: now}
	var err error
	if chk.Session, chk.TokenEnc, err = s.newMemberSession(p, "", "", []Factor{sms}, r, now); err != nil {
		return nil, err
	}
	out, err := s.store.CheckMemberSMS(ctx, chk)
	if err != nil {
		return nil, s.memberCheckFailed(err, chk.Limits)
	}
	if err := s.crossChecked("B2B SMS check", smsISTPreconditions(out), out.Checked); err != nil {
		return nil, err
	}
	o, m, ist, c := out.Organization, out.Member, out.IST, out.Challenge
	var fail Code
	switch {
	case c == nil:
		fail = EOTPNotFound
		err = &Error{Code: EOTPNotFound, Field: "method_id", Message: "No one-time passcode was sent to this method."}
	case !out.Attempted:
		fail = EOTPExpired
		err = &Error{Code: EOTPExpired, Field: "code", Message: "The one-time passcode has expired, was already used or had too many attempts. Request a new one."}
	case c.MemberID != m.ID:
		fail = EOTPNotFound
		err = Errorf(EOTPNotFound, "No code was sent to this member.")
	case !out.Matched && s.memberCodeMatches(p.ID, m.ID, c, in.Code):
		// Bound to the challenge (sent before member binding) or to the
		// member id while the request named the external id: the attempt
		// is counted, the code is consumed the multi-round-trip way.
		return s.finishMemberSMS(ctx, p, o, m, ist, nil, r, c, smsMFAUpdate(o, m, in.SetMFAEnrollment, in.SetDefaultMFA))
	case !out.Matched:
		fail = EOTPWrong
		err = Errorf(EOTPWrong, "The passcode was incorrect.")
	case !out.Consumed || !out.SessionInserted:
		return nil, Internal(nil) // matched a live code of this member: the statement consumed it
	}
	if err != nil {
		s.metrics.Authenticated(FactorOTP, string(fail))
		return nil, err
	}
	s.metrics.Authenticated(FactorOTP, "ok")
	s.otpCountry(ChannelSMS, m.MFAPhoneNumber, "verified")
	sess := chk.Session
	sess.MemberID, sess.OrganizationID = m.ID, o.ID
	sess.Factors = append(append([]Factor{}, ist.Factors...), memberSMSFactor(m, now))
	jwt, err := s.signMemberSession(ctx, o, m, sess)
	if err != nil {
		return nil, err
	}
	return &MemberAuthResult{Member: m, Organization: o, MethodID: m.MFAPhoneID, Authenticated: true,
		Session: sess, SessionToken: sess.Token, SessionJWT: jwt}, nil
}

// memberCheckFailed is what a failed one-statement member code check
// (CheckMemberSMS, CheckMemberEmailOTP) answers: a refusal by one of its
// verify limits as the 429 with Retry-After, counted as a rate-limited
// authentication; any other error as it is.
func (s *Service) memberCheckFailed(err error, limits []LimitKey) error {
	err = s.limitRefused(err, limits)
	if ErrorCode(err) == ERateLimited {
		s.metrics.Authenticated(FactorOTP, string(ERateLimited))
	}
	return err
}

// crossChecked holds a one-statement check's own preconditions (checked:
// the statement found what it needed and checked the code) against the
// service's reading of what the statement returned (pre, nil when they
// hold). When both agree it returns pre; a disagreement is logged for
// what ("B2B SMS check") and is an internal error.
func (s *Service) crossChecked(what string, pre error, checked bool) error {
	switch {
	case pre != nil && checked:
		s.log.Error(what+": the statement's preconditions passed, the service's did not", "err", pre)
		return Internal(pre)
	case pre == nil && !checked:
		s.log.Error(what + ": the service's preconditions passed, the statement's did not")
		return Internal(nil)
	}
	return pre
}
