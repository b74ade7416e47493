package auth

import (
	"context"
	"time"
)

// This file holds the B2B one-time codes: SMS codes as the second factor
// and email codes as a primary factor. Member codes are rows of the
// consumer challenge table (MemberID set; MethodID = Member.MFAPhoneID or
// Member.EmailID) and go out through the same outbox, stream and workers.

// issueMemberCode stores an email code for m on methodID with its outbox
// message, publishes it and returns the message id. The newest code of a
// method supersedes older ones. The code is bound to the project and the
// address (emailCodeMACs), which the authenticate names, so that
// CheckMemberEmailOTP can compare it in SQL.
func (s *Service) issueMemberCode(ctx context.Context, p *Project, m *Member, ch Channel, methodID, to string, exp time.Duration, locale string) (string, error) {
	now := s.now().UTC()
	code := NewCode()
	c := &Challenge{ID: NewID(PrefixChallenge, p), ProjectID: p.ID, MemberID: m.ID, MethodID: methodID, Channel: ch, ExpiresAt: now.Add(exp), CreatedAt: now}
	c.CodeHMAC = s.emailCodeMACs(p.ID, to, code)[0]
	ev := &Event{
		MessageID: NewID(PrefixMessage, p), ProjectID: p.ID, Kind: KindOTP, Channel: ch, To: to, Code: code,
		Locale: locale, ExpiresAt: c.ExpiresAt, ChallengeID: c.ID, CreatedAt: now,
	}
	msg, payload, err := s.outboxMessage(ctx, ev)
	if err != nil {
		return "", err
	}
	if err := s.store.CreateChallenge(ctx, c, msg, payload); err != nil {
		return "", err
	}
	s.metrics.OTPRequested(ch)
	s.otpCountry(ch, to, "sent")
	s.publishInline(ctx, ev)
	return ev.MessageID, nil
}

// sendMemberSMS sends an SMS code to m's MFA phone (nothing for the
// sandbox phone of a test project) and returns the message id.
func (s *Service) sendMemberSMS(ctx context.Context, p *Project, m *Member, locale string) (string, error) {
	return s.sendMemberCode(ctx, p, m, locale, false)
}

// sendMemberCode sends an SMS code to m's MFA phone after the project's
// SMS country allow-list, in one round trip (sendOnce: limits, pumping
// guard, code and outbox row); with update, m (a new MFA phone) is stored
// in the same round trip, only when the send is allowed. The sandbox phone
// of a test project gets no code. The code is bound to the member
// (memberCodeMACs), so that CheckMemberSMS can compare it in SQL.
func (s *Service) sendMemberCode(ctx context.Context, p *Project, m *Member, locale string, update bool) (string, error) {
	phone := m.MFAPhoneNumber
	if isSandbox(p, phone) {
		if update {
			return "", s.store.UpdateMember(ctx, m)
		}
		return "", nil
	}
	if err := s.checkCountry(p, phone); err != nil {
		return "", &Error{Code: ECountryNotAllowed, Field: "mfa_phone_number", Message: ErrorMessage(err)}
	}
	c, ev, msg, payload, err := s.newCode(ctx, p, ChannelSMS, phone, locale, s.otpExpiration(ctx, p))
	if err != nil {
		return "", err
	}
	c.MemberID, c.MethodID, c.CodeHMAC = m.ID, m.MFAPhoneID, s.memberCodeMACs(p.ID, m.ID, ev.Code)[0]
	if _, err := s.sendOnce(ctx, p, &SendRequest{Channel: ChannelSMS, Value: phone, Member: m, UpdateMember: update,
		Challenge: c, Message: msg, Payload: payload}); err != nil {
		return "", err
	}
	s.metrics.OTPRequested(ChannelSMS)
	s.otpCountry(ChannelSMS, phone, "sent")
	s.publishInline(ctx, ev)
	return ev.MessageID, nil
}

// countArgs counts the non-empty values.
func countArgs(vs ...string) int {
	n := 0
	for _, v := range vs {
		if v != "" {
			n++
		}
	}
	return n
}

// proveMember checks an IST or member session (at most one) offered for
// m of o: it must be live and belong to m. It returns the IST (nil for a
// session) and whether anything was offered. EISTNotFound,
// EISTOrgMismatch, ESessionNotFound, EJWTInvalid, EForbidden,
// ETooManySessionArgs.
func (s *Service) proveMember(ctx context.Context, p *Project, o *Organization, m *Member, ist, token, jwt string) (*IntermediateSession, *Session, error) {
	if countArgs(ist, token, jwt) > 1 {
		return nil, nil, Errorf(ETooManySessionArgs, "Only one of intermediate_session_token, session_token and session_jwt may be given.")
	}
	switch {
	case ist != "":
		is, err := s.findIST(ctx, p, ist)
		if err != nil {
			return nil, nil, err
		}
		if err := istBoundTo(is, o, m); err != nil {
			return nil, nil, err
		}
		return is, nil, nil
	case token != "" || jwt != "":
		sess, err := s.findMemberSession(ctx, p, token, jwt)
		if err != nil {
			return nil, nil, err
		}
		if sess.MemberID != m.ID || sess.OrganizationID != o.ID {
			return nil, nil, Errorf(EForbidden, "The session belongs to another member.")
		}
		return nil, sess, nil
	}
	return nil, nil, nil
}

// B2BSendSMS sends an SMS code (2 minutes; a new send supersedes the
// previous code) to the MFA phone of an active member of an organization
// (by id, slug or external id). A member without a phone needs
// MFAPhoneNumber, which becomes its (unverified) MFA phone; an unverified
// phone may be replaced the same way. A member whose phone is verified (or
// who is mfa_enrolled) cannot switch to another number here: without a
// valid IST or session of the member proving its factor that is
// EMFABypass, with one EMFAPhoneMismatch (remove the phone first). An
// IST, session token or session JWT (at most one) must be live and belong
// to the member. Returns EInvalid, EInvalidPhone, EOrganizationNotFound,
// EMemberNotFound, EMemberDeleted, EInactiveMember, EMFAMethodNotAllowed,
// EMemberPhoneNotFound, EMFAPhoneMismatch, EMFABypass, EISTNotFound,
// EISTOrgMismatch, ESessionNotFound, EJWTInvalid, EForbidden,
// ETooManySessionArgs, ECountryNotAllowed, ERateLimited.
func (s *Service) B2BSendSMS(ctx context.Context, p *Project, in B2BSendSMSInput) (*B2BSendResult, error) {
	if err := CheckLocale(in.Locale); err != nil {
		return nil, err
	}
	if err := validOrgRef(in.OrganizationID); err != nil {
		return nil, err
	}
	if err := validMemberRef(in.MemberID); err != nil {
		return nil, err
	}
	if countArgs(in.IST, in.SessionToken, in.SessionJWT) > 1 {
		return nil, Errorf(ETooManySessionArgs, "Only one of intermediate_session_token, session_token and session_jwt may be given.")
	}
	phone := ""
	if in.MFAPhoneNumber != "" {
		n, err := NormalizePhone(in.MFAPhoneNumber)
		if err != nil {
			return nil, &Error{Code: EInvalidPhone, Field: "mfa_phone_number", Message: ErrorMessage(err)}
		}
		phone = n
	}
	o, m, err := s.store.FindOrgMember(ctx, p.ID, in.OrganizationID, in.MemberID)
	if err != nil {
		return nil, err
	}
	switch {
	case m.Status == MemberDeleted:
		return nil, deletedMember()
	case m.Status != MemberActive:
		return nil, Errorf(EInactiveMember, "You may not attach an MFA factor to a member that is not active.")
	case !smsAllowed(o, m):
		return nil, Errorf(EMFAMethodNotAllowed, "The organization does not allow SMS codes as a second factor.")
	}
	ist, sess, err := s.proveMember(ctx, p, o, m, in.IST, in.SessionToken, in.SessionJWT)
	if err != nil {
		return nil, err
	}
	proven := ist != nil || sess != nil
	change := false
	switch {
	case m.MFAPhoneNumber == "" && phone == "":
		return nil, &Error{Code: EMemberPhoneNotFound, Field: "mfa_phone_number", Message: "The member has no MFA phone number; mfa_phone_number is required."}
	case m.MFAPhoneNumber == "" && m.TOTPRegistrationID != "" && !proven:
		return nil, &Error{Code: EMFABypass, Field: "mfa_phone_number", Message: "The member already has an MFA factor; prove it with an intermediate session or a session before adding a phone number."}
	case m.MFAPhoneNumber == "":
		change = true
	case phone == "" || phone == m.MFAPhoneNumber:
	case hasMFAFactor(m) && !proven:
		return nil, &Error{Code: EMFABypass, Field: "mfa_phone_number", Message: "The member already has an MFA factor; prove it with an intermediate session or a session before using another phone number."}
	case hasMFAFactor(m):
		return nil, &Error{Code: EMFAPhoneMismatch, Field: "mfa_phone_number", Message: "mfa_phone_number does not match the member's MFA phone number; delete it first to use another one."}
	default:
		change = true // an unverified phone is replaced
	}
	if change {
		m.MFAPhoneNumber, m.MFAPhoneID, m.MFAPhoneVerified = phone, NewID(PrefixMemberPhone, p), false
	}
	msgID, err := s.sendMemberCode(ctx, p, m, in.Locale, change)
	if err != nil {
		return nil, err
	}
	return &B2BSendResult{Member: m, Organization: o, MessageID: msgID}, nil
}

// applyMemberUpdate applies upd to m in memory (the sandbox paths, which
// have no challenge to consume).
func applyMemberUpdate(m *Member, upd MemberMFAUpdate) {
	if upd.Activate && (m.Status == MemberPending || m.Status == MemberInvited) {
		m.Status = MemberActive
	}
	if upd.VerifyEmail {
		m.EmailVerified = true
	}
	if upd.VerifyPhone {
		m.MFAPhoneVerified = true
	}
	if upd.SetEnrolled != nil {
		m.MFAEnrolled = *upd.SetEnrolled
	}
	if upd.DefaultMFAMethod != "" {
		m.DefaultMFAMethod = upd.DefaultMFAMethod
	}
}

// checkCode checks the shape of a 6-digit code.
func checkCode(code string) error {
	if len(code) != CodeLength || !allDigits(code) {
		return Invalid("code", "The code must be %d digits.", CodeLength)
	}
	return nil
}

// attemptMemberCode counts an attempt on the newest code of methodID
// (before comparing), compares in constant time (either binding,
// memberCodeMatches) and returns the live challenge of m. The project's verify limits are checked in the same
// round trip as the attempt. ERateLimited, EOTPNotFound, EOTPWrong,
// EOTPExpired.
func (s *Service) attemptMemberCode(ctx context.Context, p *Project, m *Member, methodID, code string) (*Challenge, error) {
	limits := s.verifyLimitKeys(ctx, p, methodID)
	c, err := s.store.AttemptChallenge(ctx, p.ID, methodID, s.cfg.MaxOTPAttempts, limits...)
	err = s.limitRefused(err, limits)
	if err == nil && c.MemberID != m.ID {
		err = Errorf(EOTPNotFound, "No code was sent to this member.")
	}
	if err != nil {
		s.metrics.Authenticated(FactorOTP, string(ErrorCode(err)))
		return nil, err
	}
	if !s.memberCodeMatches(p.ID, m.ID, c, code) && !s.emailCodeMatches(p.ID, m.EmailAddress, c, code) {
		s.metrics.Authenticated(FactorOTP, string(EOTPWrong))
		return nil, Errorf(EOTPWrong, "The passcode was incorrect.")
	}
	return c, nil
}

// B2BAuthenticateSMS checks an SMS code of a member (second factor).
// Exactly one of an IST, session token or session JWT proves the primary
// factor: the IST must be live and bound to this member and organization
// (it is consumed in the same statement as the code), the session a live
// session of this member (it gains the factor). The attempt is counted
// before the comparison (MaxOTPAttempts). On success the phone is
// verified, mfa_enrolled set (true under REQUIRED_FOR_ALL, else as
// SetMFAEnrollment says), default_mfa_method becomes sms_otp with
// SetDefaultMFA or when none, and a member session starts with the IST's
// factors then the SMS factor. With an IST this is one round trip
// (authenticateSMSWithIST). Test projects accept 000000 for the sandbox
// phone. Returns EInvalid, EPrimaryRequired (no IST or session, or
// an IST whose primary factor the organization does not accept),
// ETooManySessionArgs, EOrganizationNotFound, EMemberNotFound,
// EMemberDeleted, EInactiveMember, EMFAMethodNotAllowed,
// EMemberPhoneNotFound, EISTNotFound, EISTOrgMismatch, ESessionNotFound,
// EJWTInvalid, EForbidden, ERateLimited, EOTPNotFound, EOTPWrong,
// EOTPExpired, EInvalidDuration, EInvalidClaims.
func (s *Service) B2BAuthenticateSMS(ctx context.Context, p *Project, in B2BAuthenticateSMSInput) (*MemberAuthResult, error) {
	if err := validOrgRef(in.OrganizationID); err != nil {
		return nil, err
	}
	if err := validMemberRef(in.MemberID); err != nil {
		return nil, err
	}
	if err := checkCode(in.Code); err != nil {
		return nil, err
	}
	r := in.Session
	switch countArgs(r.IST, r.Token, r.JWT) {
	case 0:
		return nil, Errorf(EPrimaryRequired, "You must complete the primary authentication requirements for an organization before completing an MFA flow: one of intermediate_session_token, session_token or session_jwt is required.")
	case 1:
	default:
		return nil, Errorf(ETooManySessionArgs, "Only one of intermediate_session_token, session_token and session_jwt may be given.")
	}
	if err := checkB2BSession(&r); err != nil {
		return nil, err
	}
	if in.SetMFAEnrollment != "" && in.SetMFAEnrollment != "enroll" && in.SetMFAEnrollment != "unenroll" {
		return nil, Invalid("set_mfa_enrollment", `set_mfa_enrollment must be "enroll" or "unenroll".`)
	}
	sandbox := !p.Live() && in.Code == SandboxCode
	if r.IST != "" && !sandbox {
		return s.authenticateSMSWithIST(ctx, p, in, r)
	}
	o, m, err := s.store.FindOrgMember(ctx, p.ID, in.OrganizationID, in.MemberID)
	if err != nil {
		return nil, err
	}
	if err := checkSMSMember(o, m); err != nil {
		return nil, err
	}
	ist, sess, err := s.proveMember(ctx, p, o, m, r.IST, r.Token, r.JWT)
	if err != nil {
		return nil, err
	}
	if err := checkSMSProof(o, m, ist); err != nil {
		return nil, err
	}
	upd := smsMFAUpdate(o, m, in.SetMFAEnrollment, in.SetDefaultMFA)
	if sandbox && m.MFAPhoneNumber == SandboxPhone {
		if ist != nil {
			if err := s.store.ConsumeIntermediateSession(ctx, p.ID, ist.ID); err != nil {
				return nil, err
			}
		}
		applyMemberUpdate(m, upd)
		if err := s.store.UpdateMember(ctx, m); err != nil {
			return nil, err
		}
		s.metrics.Authenticated(FactorOTP, "ok")
		return s.completeMemberSMS(ctx, p, o, m, ist, sess, r)
	}
	c, err := s.attemptMemberCode(ctx, p, m, m.MFAPhoneID, in.Code)
	if err != nil {
		return nil, err
	}
	return s.finishMemberSMS(ctx, p, o, m, ist, sess, r, c, upd)
}

// finishMemberSMS consumes c, a right code of m, with the IST (if any) and
// applies upd to m in one statement, then completes the authentication
// (completeMemberSMS).
func (s *Service) finishMemberSMS(ctx context.Context, p *Project, o *Organization, m *Member, ist *IntermediateSession,
	sess *Session, r B2BSessionRequest, c *Challenge, upd MemberMFAUpdate) (*MemberAuthResult, error) {
	istID := ""
	if ist != nil {
		istID = ist.ID
	}
	phone := m.MFAPhoneNumber
	m, err := s.store.ConsumeMemberChallenge(ctx, p.ID, c.ID, istID, upd)
	if err != nil {
		s.metrics.Authenticated(FactorOTP, string(ErrorCode(err)))
		return nil, err
	}
	s.otpCountry(ChannelSMS, phone, "verified")
	s.metrics.Authenticated(FactorOTP, "ok")
	return s.completeMemberSMS(ctx, p, o, m, ist, sess, r)
}

// completeMemberSMS starts a member session with the IST's factors then
// the SMS factor, or adds the SMS factor to sess.
func (s *Service) completeMemberSMS(ctx context.Context, p *Project, o *Organization, m *Member, ist *IntermediateSession,
	sess *Session, r B2BSessionRequest) (*MemberAuthResult, error) {
	var factors []Factor
	if ist != nil {
		factors = append(factors, ist.Factors...)
	}
	factors = append(factors, memberSMSFactor(m, s.now().UTC()))
	return s.completeMemberAuth(ctx, p, memberCompletion{org: o, member: m, factors: factors, req: r, existing: sess})
}

// B2BEmailOTPLoginOrSignup emails a code (10 minutes unless
// LoginExpiration or SignupExpiration say otherwise, 1 to 10 minutes) to
// the member of an organization with the email as a primary factor; like
// B2BLoginOrSignup, an unknown email joins as a pending member by JIT
// when allowed. Returns EInvalid, EInvalidEmail, EInvalidExpiration,
// EOrganizationNotFound, EMemberDeleted, EJITNotAllowed,
// EAuthMethodNotAllowed (auth_methods RESTRICTED without email_otp),
// ERateLimited.
func (s *Service) B2BEmailOTPLoginOrSignup(ctx context.Context, p *Project, in B2BEmailLoginInput) (*B2BSendResult, error) {
	if err := CheckLocale(in.Locale); err != nil {
		return nil, err
	}
	if err := validOrgRef(in.OrganizationID); err != nil {
		return nil, err
	}
	email, err := b2bEmail(in.EmailAddress)
	if err != nil {
		return nil, err
	}
	expOf := func(field string, d time.Duration) (time.Duration, error) {
		if d == 0 {
			return B2BEmailOTPExpiration, nil
		}
		if d < MinOTPExpiration || d > MaxOTPExpiration {
			return 0, &Error{Code: EInvalidExpiration, Field: field, Message: field + " must be between 1 and 10 minutes."}
		}
		return d, nil
	}
	loginExp, err := expOf("login_expiration_minutes", in.LoginExpiration)
	if err != nil {
		return nil, err
	}
	signupExp, err := expOf("signup_expiration_minutes", in.SignupExpiration)
	if err != nil {
		return nil, err
	}
	o, err := s.store.FindOrganization(ctx, p.ID, in.OrganizationID)
	if err != nil {
		return nil, err
	}
	sandbox := isSandbox(p, email)
	if !sandbox {
		if err := s.checkSendLimit(ctx, p, email); err != nil {
			return nil, err
		}
	}
	m, created, err := s.loginMember(ctx, p, o, email, AuthMethodEmailOTP)
	if err != nil {
		return nil, err
	}
	res := &B2BSendResult{Member: m, Organization: o, MemberCreated: created}
	if sandbox {
		return res, nil
	}
	exp := loginExp
	if created || m.Status != MemberActive {
		exp = signupExp
	}
	if res.MessageID, err = s.issueMemberCode(ctx, p, m, ChannelEmail, m.EmailID, email, exp, in.Locale); err != nil {
		return nil, err
	}
	return res, nil
}

// B2BAuthenticateEmailOTP checks an email code of the member of an
// organization with the email (primary factor): the attempt is counted
// before the comparison; on success the code is consumed, the member
// activated and its email verified in one statement, and the primary
// factor completed as in B2BAuthenticateMagicLink (session, or IST with
// MFARequired or PrimaryRequired). Test projects accept 000000 for the
// sandbox email. Without a session or IST passed (and off the sandbox) it
// is one round trip (authenticateEmailOTPOneTrip), and a deleted member
// or an unknown one writes nothing. Returns EInvalid, EInvalidEmail, EOrganizationNotFound,
// EMemberNotFound, EMemberDeleted, EOTPNotFound, EOTPWrong, EOTPExpired,
// EISTNotFound, EISTOrgMismatch, EForbidden, ESessionNotFound,
// EJWTInvalid, ETooManySessionArgs, EInvalidDuration, EInvalidClaims.
func (s *Service) B2BAuthenticateEmailOTP(ctx context.Context, p *Project, in B2BAuthenticateEmailOTPInput) (*MemberAuthResult, error) {
	if err := validOrgRef(in.OrganizationID); err != nil {
		return nil, err
	}
	email, err := b2bEmail(in.EmailAddress)
	if err != nil {
		return nil, err
	}
	if err := checkCode(in.Code); err != nil {
		return nil, err
	}
	sess, ist, err := s.beginB2BPrimary(ctx, p, &in.Session)
	if err != nil {
		return nil, err
	}
	if sess == nil && ist == nil && !isSandbox(p, email) { // the common call: one round trip
		return s.authenticateEmailOTPOneTrip(ctx, p, in, email)
	}
	o, err := s.store.FindOrganization(ctx, p.ID, in.OrganizationID)
	if err != nil {
		return nil, err
	}
	m, err := s.store.FindMemberByEmail(ctx, p.ID, o.ID, email)
	if err != nil {
		return nil, err
	}
	if m.Status == MemberDeleted {
		return nil, deletedMember()
	}
	if err := checkB2BPrimary(o, m, sess, ist); err != nil {
		return nil, err
	}
	upd := MemberMFAUpdate{Activate: true, VerifyEmail: true}
	if !p.Live() && in.Code == SandboxCode && email == SandboxEmail {
		applyMemberUpdate(m, upd)
		if err := s.store.UpdateMember(ctx, m); err != nil {
			return nil, err
		}
	} else {
		c, err := s.attemptMemberCode(ctx, p, m, m.EmailID, in.Code)
		if err != nil {
			return nil, err
		}
		if m, err = s.store.ConsumeMemberChallenge(ctx, p.ID, c.ID, "", upd); err != nil {
			s.metrics.Authenticated(FactorOTP, string(ErrorCode(err)))
			return nil, err
		}
		s.otpCountry(ChannelEmail, email, "verified")
	}
	s.metrics.Authenticated(FactorOTP, "ok")
	f := memberEmailFactor(FactorOTP, m, s.now().UTC())
	return s.finishB2BPrimary(ctx, p, o, m, f, in.Session, sess, ist, "")
}
