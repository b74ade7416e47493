package auth

import (
	"context"
	"encoding/base32"
	"slices"
	"strings"
)

// This file holds the B2B side of TOTP: members' registrations, TOTP codes
// and recovery codes as the second factor completing an IST (exactly like
// SMS codes), and recovery-code management.

// totpAllowed reports whether o accepts TOTP as m's second factor.
func totpAllowed(o *Organization, m *Member) bool {
	return o.MFAMethods != Restricted || m.IsBreakglass || slices.Contains(o.AllowedMFAMethods, MFAMethodTOTP)
}

// hasMFAFactor reports whether m already has a second factor a new one
// must not bypass: a verified phone or TOTP, or mfa_enrolled.
func hasMFAFactor(m *Member) bool {
	return m.MFAPhoneVerified || m.TOTPRegistrationID != "" || m.MFAEnrolled
}

// activeMember refuses deleted and inactive members for MFA calls.
func activeMember(m *Member) error {
	switch {
	case m.Status == MemberDeleted:
		return deletedMember()
	case m.Status != MemberActive:
		return Errorf(EInactiveMember, "You may not attach an MFA factor to a member that is not active.")
	}
	return nil
}

// validMemberRefs checks an organization and a member reference.
func validMemberRefs(orgRef, memberRef string) error {
	if err := validOrgRef(orgRef); err != nil {
		return err
	}
	return validMemberRef(memberRef)
}

// totpMember finds an active member of an organization that allows TOTP
// as m's second factor. EOrganizationNotFound, EMemberNotFound,
// EMemberDeleted, EInactiveMember, EMFAMethodNotAllowed.
func (s *Service) totpMember(ctx context.Context, p *Project, orgRef, memberRef string) (*Organization, *Member, error) {
	o, m, err := s.store.FindOrgMember(ctx, p.ID, orgRef, memberRef)
	if err != nil {
		return nil, nil, err
	}
	if err := activeMember(m); err != nil {
		return nil, nil, err
	}
	if !totpAllowed(o, m) {
		return nil, nil, Errorf(EMFAMethodNotAllowed, "The organization does not allow TOTP as a second factor.")
	}
	return o, m, nil
}

// B2BCreateTOTP registers an authenticator app for an active member (the
// organization must allow totp). Like B2BSendSMS, a member who already has
// an MFA factor (verified phone or TOTP, or mfa_enrolled) must prove it
// with an IST or session of its own (EMFABypass otherwise); anything given
// must belong to the member. A verified registration must be deleted
// first (ETOTPExists); an unverified one is replaced. Unverified, it dies
// after Expiration (default 60 minutes, 5 to 1440). Returns EInvalid,
// EInvalidExpiration, EOrganizationNotFound, EMemberNotFound,
// EMemberDeleted, EInactiveMember, EMFAMethodNotAllowed, EMFABypass,
// ETOTPExists, EISTNotFound, EISTOrgMismatch, ESessionNotFound,
// EJWTInvalid, EForbidden, ETooManySessionArgs.
func (s *Service) B2BCreateTOTP(ctx context.Context, p *Project, in B2BCreateTOTPInput) (*TOTPCreateResult, error) {
	if err := validMemberRefs(in.OrganizationID, in.MemberID); err != nil {
		return nil, err
	}
	if countArgs(in.IST, in.SessionToken, in.SessionJWT) > 1 {
		return nil, Errorf(ETooManySessionArgs, "Only one of intermediate_session_token, session_token and session_jwt may be given.")
	}
	exp, err := checkTOTPExpiration(in.Expiration, B2BDefaultTOTPExpiration)
	if err != nil {
		return nil, err
	}
	o, m, err := s.totpMember(ctx, p, in.OrganizationID, in.MemberID)
	if err != nil {
		return nil, err
	}
	ist, sess, err := s.proveMember(ctx, p, o, m, in.IST, in.SessionToken, in.SessionJWT)
	if err != nil {
		return nil, err
	}
	if hasMFAFactor(m) && ist == nil && sess == nil {
		return nil, &Error{Code: EMFABypass, Field: "intermediate_session_token", Message: "The member already has an MFA factor; prove it with an intermediate session or a session before creating a TOTP registration."}
	}
	if m.TOTPRegistrationID != "" {
		return nil, Errorf(ETOTPExists, "The member already has a verified TOTP registration; delete it first.")
	}
	t, codes, res, err := s.newRegistration(p, m.EmailAddress, exp)
	if err != nil {
		return nil, err
	}
	t.MemberID, t.OrganizationID = m.ID, o.ID
	if err := s.store.CreateTOTP(ctx, t, codes); err != nil {
		return nil, err
	}
	res.Member, res.Organization = m, o
	return res, nil
}

// Bounds of an imported (migrated) TOTP registration.
const (
	// MinMigratedSecretBytes is the shortest secret totps.migrate takes:
	// 80 bits, what most authenticator enrolments of other services use
	// (RFC 4226 §4 asks for at least 128 bits, and Sesame mints 160).
	MinMigratedSecretBytes = 10
	// MaxMigratedSecretBytes is the longest (512 bits).
	MaxMigratedSecretBytes = 64
	// MaxMigratedRecoveryCodes caps the recovery codes one migrate imports.
	MaxMigratedRecoveryCodes = 50
)

// B2BMigrateTOTPInput is b2b totps.migrate: an authenticator-app
// registration a member already has elsewhere, with its recovery codes.
type B2BMigrateTOTPInput struct {
	OrganizationID string // id, slug or external id
	MemberID       string // id or external id
	Secret         string // base32 (case, spaces and "=" padding ignored)
	// RecoveryCodes are imported as they are (normalized like the codes a
	// member types: lower case, no spaces); none means RecoveryCodeCount
	// new ones.
	RecoveryCodes []string
}

// B2BMigrateTOTPResult is a migrated registration.
type B2BMigrateTOTPResult struct {
	TOTPID        string
	RecoveryCodes []string
	Member        *Member
	Organization  *Organization
}

// normalizeTOTPSecret returns secret as unpadded upper-case base32, or
// EInvalid when it is not base32 of MinMigratedSecretBytes to
// MaxMigratedSecretBytes bytes.
func normalizeTOTPSecret(secret string) (string, error) {
	s := strings.TrimRight(strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(secret), " ", "")), "=")
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(s)
	switch {
	case secret == "":
		return "", Invalid("secret", "secret is required.")
	case err != nil:
		return "", Invalid("secret", "secret must be a base32 TOTP secret (RFC 4648).")
	case len(raw) < MinMigratedSecretBytes || len(raw) > MaxMigratedSecretBytes:
		return "", Invalid("secret", "secret must hold %d to %d bytes (base32).", MinMigratedSecretBytes, MaxMigratedSecretBytes)
	}
	return s, nil
}

// migratedRecoveryCodes checks and normalizes imported recovery codes.
func migratedRecoveryCodes(codes []string) ([]string, error) {
	if len(codes) > MaxMigratedRecoveryCodes {
		return nil, Invalid("recovery_codes", "recovery_codes may have at most %d entries.", MaxMigratedRecoveryCodes)
	}
	out := make([]string, 0, len(codes))
	for _, c := range codes {
		if err := checkRecoveryCode(c); err != nil {
			return nil, &Error{Code: EInvalid, Field: "recovery_codes", Message: "recovery_codes: " + ErrorMessage(err)}
		}
		n := normalizeRecoveryCode(c)
		if n == "" || slices.Contains(out, n) {
			return nil, Invalid("recovery_codes", "recovery_codes must be distinct and not blank.")
		}
		out = append(out, n)
	}
	return out, nil
}

// B2BMigrateTOTP imports a member's existing authenticator-app
// registration (totps.migrate): the secret is stored encrypted as for
// B2BCreateTOTP, and the registration is verified at once (the member
// proved it elsewhere), so codes from the member's app work immediately;
// the recovery codes given are imported (keyed hash plus ciphertext),
// or RecoveryCodeCount new ones minted when none are given. The member
// must be active in an organization that allows totp and have no
// verified registration (ETOTPExists; an unverified one is replaced).
// mfa_enrolled and default_mfa_method are left as they are. Returns
// EInvalid, EOrganizationNotFound, EMemberNotFound, EMemberDeleted,
// EInactiveMember, EMFAMethodNotAllowed, ETOTPExists.
func (s *Service) B2BMigrateTOTP(ctx context.Context, p *Project, in B2BMigrateTOTPInput) (*B2BMigrateTOTPResult, error) {
	if err := validMemberRefs(in.OrganizationID, in.MemberID); err != nil {
		return nil, err
	}
	secret, err := normalizeTOTPSecret(in.Secret)
	if err != nil {
		return nil, err
	}
	plain, err := migratedRecoveryCodes(in.RecoveryCodes)
	if err != nil {
		return nil, err
	}
	o, m, err := s.totpMember(ctx, p, in.OrganizationID, in.MemberID)
	if err != nil {
		return nil, err
	}
	if m.TOTPRegistrationID != "" {
		return nil, Errorf(ETOTPExists, "The member already has a verified TOTP registration; delete it first.")
	}
	now := s.now().UTC()
	t := &TOTPRegistration{ID: NewID(PrefixTOTP, p), ProjectID: p.ID, MemberID: m.ID, OrganizationID: o.ID,
		Verified: true, ExpiresAt: now, CreatedAt: now}
	t.SecretEnc = s.keys.Encrypt([]byte(secret), []byte(t.ID))
	var rows []RecoveryCode
	if len(plain) == 0 {
		plain, rows = s.newRecoveryCodes(p, t.ID, now)
	} else {
		rows = s.recoveryCodeRows(p, t.ID, plain, now)
	}
	if err := s.store.CreateTOTP(ctx, t, rows); err != nil {
		return nil, err
	}
	m.TOTPRegistrationID = t.ID
	return &B2BMigrateTOTPResult{TOTPID: t.ID, RecoveryCodes: plain, Member: m, Organization: o}, nil
}

// b2bSecondFactor is the common start of B2BAuthenticateTOTP and
// B2BRecover: the refs, exactly one of IST, token and JWT, the session
// request, the member (active, TOTP allowed) and its registration.
func (s *Service) b2bSecondFactor(ctx context.Context, p *Project, orgRef, memberRef string, r *B2BSessionRequest) (*Organization, *Member, *IntermediateSession, *Session, *TOTPRegistration, error) {
	fail := func(err error) (*Organization, *Member, *IntermediateSession, *Session, *TOTPRegistration, error) {
		return nil, nil, nil, nil, nil, err
	}
	if err := validMemberRefs(orgRef, memberRef); err != nil {
		return fail(err)
	}
	switch countArgs(r.IST, r.Token, r.JWT) {
	case 0:
		return fail(Errorf(EPrimaryRequired, "You must complete the primary authentication requirements for an organization before completing an MFA flow: one of intermediate_session_token, session_token or session_jwt is required."))
	case 1:
	default:
		return fail(Errorf(ETooManySessionArgs, "Only one of intermediate_session_token, session_token and session_jwt may be given."))
	}
	if err := checkB2BSession(r); err != nil {
		return fail(err)
	}
	o, m, err := s.totpMember(ctx, p, orgRef, memberRef)
	if err != nil {
		return fail(err)
	}
	ist, sess, err := s.proveMember(ctx, p, o, m, r.IST, r.Token, r.JWT)
	if err != nil {
		return fail(err)
	}
	if ist != nil && !primaryOK(o, m, ist.Factors) {
		return fail(Errorf(EPrimaryRequired, "You must complete the primary authentication requirements for an organization before completing an MFA flow."))
	}
	t, err := s.store.FindMemberTOTP(ctx, p.ID, o.ID, m.ID)
	if err != nil {
		return fail(err)
	}
	return o, m, ist, sess, t, nil
}

// B2BAuthenticateTOTP checks a TOTP code of a member (second factor),
// exactly like B2BAuthenticateSMS: an IST (consumed in the same statement
// that accepts the code's step) or a member session proves the primary
// factor; on success the registration is verified, mfa_enrolled set
// (true under REQUIRED_FOR_ALL, else as SetMFAEnrollment says),
// default_mfa_method becomes totp with SetDefaultMFA or when none, and a
// member session starts (or is extended) with the IST's factors then the
// factor totp/authenticator_app. The attempt rules are AuthenticateTOTP's.
// Returns EInvalid, EPrimaryRequired, ETooManySessionArgs,
// EOrganizationNotFound, EMemberNotFound, EMemberDeleted,
// EInactiveMember, EMFAMethodNotAllowed, ETOTPNotFound, ETOTPWrong,
// ETOTPUsed, ETOTPLocked, EISTNotFound, EISTOrgMismatch,
// ESessionNotFound, EJWTInvalid, EForbidden, EInvalidDuration,
// EInvalidClaims.
func (s *Service) B2BAuthenticateTOTP(ctx context.Context, p *Project, in B2BAuthenticateTOTPInput) (*MemberAuthResult, error) {
	if err := checkTOTPCode("code", in.Code); err != nil {
		return nil, err
	}
	if in.SetMFAEnrollment != "" && in.SetMFAEnrollment != "enroll" && in.SetMFAEnrollment != "unenroll" {
		return nil, Invalid("set_mfa_enrollment", `set_mfa_enrollment must be "enroll" or "unenroll".`)
	}
	r := in.Session
	o, m, ist, sess, t, err := s.b2bSecondFactor(ctx, p, in.OrganizationID, in.MemberID, &r)
	if err != nil {
		return nil, err
	}
	upd := MemberMFAUpdate{}
	enroll := in.SetMFAEnrollment == "enroll"
	switch {
	case o.MFAPolicy == MFARequiredForAll:
		enroll = true
		upd.SetEnrolled = &enroll
	case in.SetMFAEnrollment != "":
		upd.SetEnrolled = &enroll
	}
	if in.SetDefaultMFA || m.DefaultMFAMethod == "" {
		upd.DefaultMFAMethod = MFAMethodTOTP
	}
	at := TOTPAttempt{Member: &upd}
	if ist != nil {
		at.ISTID = ist.ID
	}
	ar, err := s.attemptTOTP(ctx, p, t, in.Code, at)
	if err != nil {
		return nil, err
	}
	if ar.Member != nil {
		m = ar.Member
	}
	m.TOTPRegistrationID = t.ID
	var factors []Factor
	if ist != nil {
		factors = append(factors, ist.Factors...)
	}
	factors = append(factors, totpFactor(t.ID, s.now().UTC()))
	return s.completeMemberAuth(ctx, p, memberCompletion{org: o, member: m, factors: factors, req: r, existing: sess})
}

// B2BRecover consumes one recovery code of the member's registration in
// place of the second factor (single use) and, in the same statement,
// consumes the IST; then a member session starts (or the member session
// given is extended) with the factor recovery_codes/recovery_code, as
// B2BAuthenticateTOTP does. RecoveryCodesRemaining counts the unused
// codes left. Returns the errors of B2BAuthenticateTOTP with
// ERecoveryCodeWrong instead of the code errors.
func (s *Service) B2BRecover(ctx context.Context, p *Project, in B2BRecoverInput) (*B2BRecoverResult, error) {
	if err := checkRecoveryCode(in.RecoveryCode); err != nil {
		return nil, err
	}
	r := in.Session
	o, m, ist, sess, t, err := s.b2bSecondFactor(ctx, p, in.OrganizationID, in.MemberID, &r)
	if err != nil {
		return nil, err
	}
	upd := MemberMFAUpdate{}
	if o.MFAPolicy == MFARequiredForAll {
		enroll := true
		upd.SetEnrolled = &enroll
	}
	istID := ""
	if ist != nil {
		istID = ist.ID
	}
	now := s.now().UTC()
	rc, remaining, um, err := s.store.ConsumeRecoveryCode(ctx, p.ID, t.ID, s.keys.TokenHashes(normalizeRecoveryCode(in.RecoveryCode)), istID, &upd, now)
	if err != nil {
		s.metrics.Authenticated(FactorRecoveryCodes, string(ErrorCode(err)))
		return nil, err
	}
	s.metrics.Authenticated(FactorRecoveryCodes, "ok")
	if um != nil {
		m = um
	}
	var factors []Factor
	if ist != nil {
		factors = append(factors, ist.Factors...)
	}
	factors = append(factors, recoveryFactor(rc.ID, now))
	res, err := s.completeMemberAuth(ctx, p, memberCompletion{org: o, member: m, factors: factors, req: r, existing: sess})
	if err != nil {
		return nil, err
	}
	return &B2BRecoverResult{MemberAuthResult: res, RecoveryCodesRemaining: remaining}, nil
}

// memberRegistration finds the member and its registration.
func (s *Service) memberRegistration(ctx context.Context, p *Project, orgRef, memberRef string) (*Organization, *Member, *TOTPRegistration, error) {
	o, m, err := s.findOrgMember(ctx, p, orgRef, memberRef)
	if err != nil {
		return nil, nil, nil, err
	}
	if m.Status == MemberDeleted {
		return nil, nil, nil, deletedMember()
	}
	t, err := s.store.FindMemberTOTP(ctx, p.ID, o.ID, m.ID)
	if err != nil {
		return nil, nil, nil, err
	}
	return o, m, t, nil
}

// B2BGetRecoveryCodes returns the member's unused recovery codes.
// Returns EInvalid, EOrganizationNotFound, EMemberNotFound,
// EMemberDeleted, ETOTPNotFound.
func (s *Service) B2BGetRecoveryCodes(ctx context.Context, p *Project, orgRef, memberRef string) (*B2BRecoveryCodesResult, error) {
	o, m, t, err := s.memberRegistration(ctx, p, orgRef, memberRef)
	if err != nil {
		return nil, err
	}
	rows, err := s.store.ListRecoveryCodes(ctx, p.ID, t.ID)
	if err != nil {
		return nil, err
	}
	return &B2BRecoveryCodesResult{Member: m, Organization: o, RecoveryCodes: s.openRecoveryCodes(rows)}, nil
}

// B2BRotateRecoveryCodes replaces the member's recovery codes with
// RecoveryCodeCount new ones (the old ones, used or not, stop working)
// and returns them. Returns EInvalid, EOrganizationNotFound,
// EMemberNotFound, EMemberDeleted, ETOTPNotFound.
func (s *Service) B2BRotateRecoveryCodes(ctx context.Context, p *Project, orgRef, memberRef string) (*B2BRecoveryCodesResult, error) {
	o, m, t, err := s.memberRegistration(ctx, p, orgRef, memberRef)
	if err != nil {
		return nil, err
	}
	plain, rows := s.newRecoveryCodes(p, t.ID, s.now().UTC())
	if err := s.store.ReplaceRecoveryCodes(ctx, p.ID, t.ID, rows); err != nil {
		return nil, err
	}
	return &B2BRecoveryCodesResult{Member: m, Organization: o, RecoveryCodes: plain}, nil
}

// DeleteMemberTOTP deletes the member's TOTP registrations (a member
// without one is returned unchanged). When the TOTP was the member's only
// MFA factor (no verified phone) the member is no longer mfa_enrolled
// (unless REQUIRED_FOR_ALL), and a totp default MFA method is cleared.
// Live sessions are kept. With a member-session caller, the caller must be
// an admin of the organization or the member itself. Returns EInvalid,
// EOrganizationNotFound, EMemberNotFound, EMemberDeleted, and for a caller
// EForbidden, ESessionNotFound, EJWTInvalid, ETooManySessionArgs.
func (s *Service) DeleteMemberTOTP(ctx context.Context, p *Project, orgRef, memberRef string, caller Caller) (*Member, *Organization, error) {
	org, m, err := s.findOrgMember(ctx, p, orgRef, memberRef)
	if err != nil {
		return nil, nil, err
	}
	if err := s.authorize(ctx, p, org, caller, false, m.ID); err != nil {
		return nil, nil, err
	}
	if m.Status == MemberDeleted {
		return nil, nil, deletedMember()
	}
	had, err := s.store.DeleteMemberTOTP(ctx, p.ID, m.ID)
	if err != nil {
		return nil, nil, err
	}
	m.TOTPRegistrationID = ""
	if !had {
		return m, org, nil
	}
	changed := false
	if org.MFAPolicy != MFARequiredForAll && !m.MFAPhoneVerified && m.MFAEnrolled {
		m.MFAEnrolled, changed = false, true
	}
	if m.DefaultMFAMethod == MFAMethodTOTP {
		m.DefaultMFAMethod, changed = "", true
	}
	if changed {
		if err := s.store.UpdateMember(ctx, m); err != nil {
			return nil, nil, err
		}
	}
	return m, org, nil
}
