package auth

import (
	"context"
	"slices"
	"time"
)

// This file holds what every B2B authentication ends with (a member
// session, or an intermediate session when a factor is still missing) and
// the member-session calls: list, authenticate, revoke and exchange. Member
// sessions are rows of the consumer session table (MemberID and
// OrganizationID set, UserID empty) signed by the same SessionSigner.

// organizationClaim names a member session's organization in its JWT. It
// cannot be set as a custom claim.
const organizationClaim = "https://stytch.com/organization"

// selfResource is the resource the built-in RoleMember may act on.
const selfResource = "stytch.self"

// checkB2BSession validates the session part of a B2B authenticate before
// anything is consumed and cleans the client attributes.
// ETooManySessionArgs, EInvalidDuration, EInvalidClaims.
func checkB2BSession(r *B2BSessionRequest) error {
	if r.Token != "" && r.JWT != "" {
		return Errorf(ETooManySessionArgs, "Only one of session_token and session_jwt may be given.")
	}
	if r.Duration != 0 && (r.Duration < MinSessionDuration || r.Duration > MaxSessionDuration) {
		return &Error{Code: EInvalidDuration, Field: "session_duration_minutes", Message: "Session duration must be between 5 and 527040 minutes."}
	}
	if err := checkClaims(r.CustomClaims); err != nil {
		return err
	}
	if err := CheckAttributes(r.Attributes); err != nil {
		return err
	}
	r.Attributes = cleanAttributes(r.Attributes)
	return nil
}

// mergeMemberClaims is mergeClaims that also ignores the organization claim.
func mergeMemberClaims(dst, upd map[string]any) (map[string]any, error) {
	if _, ok := upd[organizationClaim]; ok {
		cp := make(map[string]any, len(upd))
		for k, v := range upd {
			if k != organizationClaim {
				cp[k] = v
			}
		}
		upd = cp
	}
	return mergeClaims(dst, upd)
}

// b2bRoleIDs returns the ids of m's roles in o, RoleMember first.
func b2bRoleIDs(m *Member, o *Organization) []string {
	ids := []string{RoleMember}
	for _, r := range memberRoles(m, o) {
		if !slices.Contains(ids, r.RoleID) {
			ids = append(ids, r.RoleID)
		}
	}
	return ids
}

// memberEmailFactor is an email factor (typ FactorMagicLink or FactorOTP) of m.
func memberEmailFactor(typ string, m *Member, now time.Time) Factor {
	return Factor{Type: typ, DeliveryMethod: DeliveryEmail, MethodID: m.EmailID, Value: m.EmailAddress,
		LastAuthenticatedAt: now, CreatedAt: now, UpdatedAt: now}
}

// memberSMSFactor is the SMS-code factor of m's MFA phone.
func memberSMSFactor(m *Member, now time.Time) Factor {
	return Factor{Type: FactorOTP, DeliveryMethod: DeliverySMS, MethodID: m.MFAPhoneID, Value: m.MFAPhoneNumber,
		LastAuthenticatedAt: now, CreatedAt: now, UpdatedAt: now}
}

// isSecondary reports whether f is an MFA factor: a code sent to a phone,
// a TOTP code or a recovery code.
func isSecondary(f Factor) bool {
	return (f.Type == FactorOTP && (f.DeliveryMethod == DeliverySMS || f.DeliveryMethod == DeliveryWhatsApp)) ||
		(f.Type == FactorTOTP && f.DeliveryMethod == DeliveryAuthenticatorApp) ||
		(f.Type == FactorRecoveryCodes && f.DeliveryMethod == DeliveryRecoveryCode)
}

// authMethodOf is the allowed_auth_methods value a primary factor counts as.
func authMethodOf(f Factor) string {
	switch {
	case f.Type == FactorMagicLink && f.DeliveryMethod == DeliveryEmail:
		return AuthMethodMagicLink
	case f.Type == FactorOTP && f.DeliveryMethod == DeliveryEmail:
		return AuthMethodEmailOTP
	}
	return ""
}

// authMethodAllowed reports whether o accepts method as m's primary factor
// (breakglass members are exempt from RESTRICTED auth methods).
func authMethodAllowed(o *Organization, m *Member, method string) bool {
	return o.AuthMethods != Restricted || (m != nil && m.IsBreakglass) || slices.Contains(o.AllowedAuthMethods, method)
}

// primaryOK reports whether factors hold a primary factor o accepts for m.
func primaryOK(o *Organization, m *Member, factors []Factor) bool {
	for _, f := range factors {
		if method := authMethodOf(f); method != "" && authMethodAllowed(o, m, method) {
			return true
		}
	}
	return false
}

// mfaRequired reports whether m must present a second factor in o.
func mfaRequired(o *Organization, m *Member) bool {
	return o.MFAPolicy == MFARequiredForAll || m.MFAEnrolled
}

// smsAllowed reports whether o accepts SMS codes as m's second factor.
func smsAllowed(o *Organization, m *Member) bool {
	return o.MFAMethods != Restricted || m.IsBreakglass || slices.Contains(o.AllowedMFAMethods, MFAMethodSMS)
}

// mfaOptions describes m's second factors for an mfa_required answer:
// its MFA phone, verified or not ("" when none), and its verified TOTP
// registration ("" when none).
func mfaOptions(m *Member) *MFARequired {
	return &MFARequired{MFAPhoneNumber: m.MFAPhoneNumber, TOTPRegistrationID: m.TOTPRegistrationID}
}

// mfaOptionsIn is mfaOptions limited to the methods o allows m.
func mfaOptionsIn(o *Organization, m *Member) *MFARequired {
	r := mfaOptions(m)
	if !smsAllowed(o, m) {
		r.MFAPhoneNumber = ""
	}
	if !totpAllowed(o, m) {
		r.TOTPRegistrationID = ""
	}
	return r
}

// autoSendSMS reports whether an SMS code goes out at once when MFA is
// pending: m has a verified phone, o allows SMS, and m's default MFA
// method is not a TOTP o allows and m has.
func autoSendSMS(o *Organization, m *Member) bool {
	if !m.MFAPhoneVerified || m.MFAPhoneNumber == "" || m.MFAPhoneID == "" || !smsAllowed(o, m) {
		return false
	}
	return !(m.DefaultMFAMethod == MFAMethodTOTP && m.TOTPRegistrationID != "" && totpAllowed(o, m))
}

// memberCompletion is a proven set of factors for a member of an organization.
type memberCompletion struct {
	org     *Organization
	member  *Member
	factors []Factor // every factor proven, primary first; the last one is new
	req     B2BSessionRequest
	// existing is a live session of the member passed to the call: it
	// gains the factors and MFA is not asked again.
	existing *Session
	autoSend bool // send an SMS code at once when MFA is pending
	locale   string
}

// completeMemberAuth ends a B2B authentication. When o does not accept
// the primary factor, or MFA is required and not yet met, it issues an
// intermediate session (and, with autoSend, sends an SMS code to a
// verified MFA phone); otherwise it starts a member session, or extends
// the existing one, with the factors.
func (s *Service) completeMemberAuth(ctx context.Context, p *Project, c memberCompletion) (*MemberAuthResult, error) {
	res := &MemberAuthResult{Member: c.member, Organization: c.org}
	if n := len(c.factors); n > 0 {
		res.MethodID = c.factors[n-1].MethodID
	}
	if c.existing != nil && (c.existing.MemberID != c.member.ID || c.existing.OrganizationID != c.org.ID) {
		return nil, forbidden()
	}
	if !primaryOK(c.org, c.member, c.factors) && c.existing == nil {
		res.PrimaryRequired = &PrimaryRequired{AllowedAuthMethods: append([]string{}, c.org.AllowedAuthMethods...)}
		return res, s.memberIST(ctx, p, res, c.factors)
	}
	if c.existing == nil && mfaRequired(c.org, c.member) && !slices.ContainsFunc(c.factors, isSecondary) {
		res.MFARequired = mfaOptionsIn(c.org, c.member)
		if err := s.memberIST(ctx, p, res, c.factors); err != nil {
			return nil, err
		}
		m := c.member
		if c.autoSend && autoSendSMS(c.org, m) {
			if _, err := s.sendMemberSMS(ctx, p, m, c.locale); err != nil {
				s.log.Warn("automatic MFA code not sent", "member_id", m.ID, "err", err)
			} else {
				res.MFARequired.SecondaryAuthInitiated = MFAMethodSMS
			}
		}
		return res, nil
	}
	sess, jwt, err := s.memberSession(ctx, p, c.org, c.member, c.factors, c.req, c.existing)
	if err != nil {
		return nil, err
	}
	res.Authenticated = true
	res.Session, res.SessionToken, res.SessionJWT = sess, sess.Token, jwt
	return res, nil
}

// memberIST issues an IST bound to res's member and organization.
func (s *Service) memberIST(ctx context.Context, p *Project, res *MemberAuthResult, factors []Factor) error {
	ist, token, err := s.newIST(ctx, p, res.Member.EmailAddress, res.Organization.ID, res.Member.ID, factors)
	if err != nil {
		return err
	}
	res.IST, res.ISTExpiresAt = token, ist.ExpiresAt
	return nil
}

// memberSession starts a session of m in o with factors (r.Duration,
// default 60 minutes), or extends existing by r.Duration (if positive)
// with the factors added, and returns it signed.
func (s *Service) memberSession(ctx context.Context, p *Project, o *Organization, m *Member, factors []Factor, r B2BSessionRequest, existing *Session) (*Session, string, error) {
	now := s.now().UTC()
	sess := existing
	if existing != nil {
		for _, f := range factors {
			addFactor(sess, f)
		}
		if r.Duration > 0 {
			sess.ExpiresAt = now.Add(r.Duration)
		}
		var err error
		if sess.CustomClaims, err = mergeMemberClaims(sess.CustomClaims, r.CustomClaims); err != nil {
			return nil, "", err
		}
		sess.LastAccessedAt = now
		if err := s.store.UpdateSession(ctx, sess); err != nil {
			return nil, "", err
		}
	} else {
		var tokenEnc []byte
		var err error
		if sess, tokenEnc, err = s.newMemberSession(p, o.ID, m.ID, factors, r, now); err != nil {
			return nil, "", err
		}
		if err := s.store.CreateSession(ctx, sess, tokenEnc); err != nil {
			return nil, "", err
		}
	}
	jwt, err := s.signMemberSession(ctx, o, m, sess)
	if err != nil {
		return nil, "", err
	}
	return sess, jwt, nil
}

// newMemberSession returns a new session of member memberID in orgID with
// factors (r.Duration, default 60 minutes), not stored, and its encrypted
// token.
func (s *Service) newMemberSession(p *Project, orgID, memberID string, factors []Factor, r B2BSessionRequest, now time.Time) (*Session, []byte, error) {
	d := r.Duration
	if d == 0 {
		d = B2BDefaultSessionDuration
	}
	claims, err := mergeMemberClaims(nil, r.CustomClaims)
	if err != nil {
		return nil, nil, err
	}
	token := NewToken()
	sess := &Session{
		ID: NewID(PrefixMemberSession, p), ProjectID: p.ID, MemberID: memberID, OrganizationID: orgID,
		TokenHash: s.keys.TokenHash(token), StartedAt: now, LastAccessedAt: now, ExpiresAt: now.Add(d),
		Attributes: r.Attributes, Factors: append([]Factor(nil), factors...), CustomClaims: claims, Token: token,
	}
	return sess, s.keys.Encrypt([]byte(token), []byte(sess.ID)), nil
}

// signMemberSession fills the session's organization slug and roles and signs it.
func (s *Service) signMemberSession(ctx context.Context, o *Organization, m *Member, sess *Session) (string, error) {
	sess.OrganizationSlug, sess.Roles = o.Slug, b2bRoleIDs(m, o)
	return s.signer.SignSession(ctx, sess)
}

// sessionMember loads the member and organization of a member session.
// A session whose member is gone or deleted is not found: ESessionNotFound.
func (s *Service) sessionMember(ctx context.Context, p *Project, sess *Session) (*Member, *Organization, error) {
	m, o, err := s.store.FindMemberAnyOrg(ctx, p.ID, sess.MemberID)
	if ErrorCode(err) == EMemberNotFound || (err == nil && (m.Status == MemberDeleted || o.ID != sess.OrganizationID)) {
		return nil, nil, Errorf(ESessionNotFound, "Session could not be found.")
	}
	if err != nil {
		return nil, nil, err
	}
	return m, o, nil
}

// ListMemberSessions returns the live sessions of a member of an
// organization (by id, slug or external id), newest first, with their
// tokens, organization slug and roles. EInvalid, EOrganizationNotFound,
// EMemberNotFound.
func (s *Service) ListMemberSessions(ctx context.Context, p *Project, orgRef, memberRef string) ([]*Session, error) {
	if err := validID("organization_id", orgRef, EInvalid); err != nil {
		return nil, err
	}
	if err := validID("member_id", memberRef, EInvalid); err != nil {
		return nil, err
	}
	o, m, err := s.store.FindOrgMember(ctx, p.ID, orgRef, memberRef)
	if err != nil {
		return nil, err
	}
	list, encs, err := s.store.ListMemberSessions(ctx, p.ID, m.ID)
	if err != nil {
		return nil, err
	}
	roles := b2bRoleIDs(m, o)
	for i, sess := range list {
		if i < len(encs) {
			if pt, err := s.keys.Decrypt(encs[i], []byte(sess.ID)); err == nil {
				sess.Token = string(pt)
			}
		}
		sess.OrganizationSlug, sess.Roles = o.Slug, append([]string(nil), roles...)
	}
	return list, nil
}

// builtinVerdict answers an authorization check with the built-in roles:
// RoleAdmin may do everything, RoleMember only act on itself
// (resource "stytch.self").
func builtinVerdict(roles []string, resourceID string) *Verdict {
	v := &Verdict{GrantingRoles: []string{}}
	for _, r := range roles {
		if r == RoleAdmin || (r == RoleMember && resourceID == selfResource) {
			v.GrantingRoles = append(v.GrantingRoles, r)
		}
	}
	v.Authorized = len(v.GrantingRoles) > 0
	return v
}

func checkAuthorization(a *AuthorizationCheck) error {
	if a == nil {
		return nil
	}
	if err := validID("authorization_check.organization_id", a.OrganizationID, EInvalid); err != nil {
		return err
	}
	for _, fv := range [][2]string{{"authorization_check.resource_id", a.ResourceID}, {"authorization_check.action", a.Action}} {
		field, v := fv[0], fv[1]
		if v == "" || len(v) > 256 {
			return Invalid(field, "%s must be 1 to 256 characters.", field)
		}
		if err := validText(field, v); err != nil {
			return err
		}
	}
	return nil
}

// AuthenticateMemberSession checks a member session token or JWT (exactly
// one), extends it by Duration (if positive), merges custom claims and
// returns it with a fresh JWT, its member and organization. With an
// authorization check, the check's organization must be the session's and
// the member's roles must grant the action (RoleAdmin: everything;
// RoleMember: resource "stytch.self"); the Verdict is returned, and a
// refusal is EForbidden. Consumer sessions are not found here. Returns
// ENoSessionArgs, ETooManySessionArgs, ESessionNotFound, EJWTInvalid,
// EInvalidDuration, EInvalidClaims, EInvalid, EForbidden.
func (s *Service) AuthenticateMemberSession(ctx context.Context, p *Project, in MemberSessionInput) (*MemberAuthResult, error) {
	r := B2BSessionRequest{Duration: in.Duration, CustomClaims: in.CustomClaims}
	if err := checkB2BSession(&r); err != nil {
		return nil, err
	}
	if err := checkAuthorization(in.Authorization); err != nil {
		return nil, err
	}
	sess, err := s.findMemberSession(ctx, p, in.Token, in.JWT)
	if err != nil {
		return nil, err
	}
	m, o, err := s.sessionMember(ctx, p, sess)
	if err != nil {
		return nil, err
	}
	res := &MemberAuthResult{Member: m, Organization: o, Authenticated: true}
	if a := in.Authorization; a != nil {
		if a.OrganizationID != o.ID && a.OrganizationID != o.Slug {
			return nil, Errorf(EForbidden, "The authorization check names another organization than the session's.")
		}
		res.Verdict = builtinVerdict(b2bRoleIDs(m, o), a.ResourceID)
		if !res.Verdict.Authorized {
			return nil, forbidden()
		}
	}
	now := s.now().UTC()
	if in.Duration > 0 {
		sess.ExpiresAt = now.Add(in.Duration)
	}
	if sess.CustomClaims, err = mergeMemberClaims(sess.CustomClaims, in.CustomClaims); err != nil {
		return nil, err
	}
	sess.LastAccessedAt = now
	if err := s.store.UpdateSession(ctx, sess); err != nil {
		return nil, err
	}
	jwt, err := s.signMemberSession(ctx, o, m, sess)
	if err != nil {
		return nil, err
	}
	res.Session, res.SessionToken, res.SessionJWT = sess, sess.Token, jwt
	return res, nil
}

// RevokeMemberSession ends the member session named by exactly one of
// MemberSessionID, Token and JWT, or every session of MemberID. With a
// Caller, the caller must be the member itself or an admin of its
// organization. Consumer sessions are not found here. Returns
// ENoSessionArgs, ETooManySessionArgs, ESessionNotFound, EJWTInvalid,
// EInvalid, EMemberNotFound, EForbidden.
func (s *Service) RevokeMemberSession(ctx context.Context, p *Project, in RevokeMemberSessionInput) error {
	n := 0
	for _, v := range []string{in.MemberSessionID, in.Token, in.JWT, in.MemberID} {
		if v != "" {
			n++
		}
	}
	switch {
	case n == 0:
		return Errorf(ENoSessionArgs, "One of member_session_id, session_token, session_jwt or member_id is required.")
	case n > 1:
		return Errorf(ETooManySessionArgs, "Only one of member_session_id, session_token, session_jwt or member_id may be given.")
	}
	var (
		sess *Session
		err  error
	)
	switch {
	case in.MemberID != "":
		if err := validID("member_id", in.MemberID, EInvalid); err != nil {
			return err
		}
		m, o, err := s.store.FindMemberAnyOrg(ctx, p.ID, in.MemberID)
		if err != nil {
			return err
		}
		if err := s.authorize(ctx, p, o, in.Caller, false, m.ID); err != nil {
			return err
		}
		_, err = s.store.RevokeMemberSessions(ctx, p.ID, m.ID)
		return err
	case in.MemberSessionID != "":
		if err := validID("member_session_id", in.MemberSessionID, ESessionNotFound); err != nil {
			return err
		}
		if sess, _, err = s.store.FindSession(ctx, p.ID, in.MemberSessionID); err == nil && sess.MemberID == "" {
			err = Errorf(ESessionNotFound, "Session could not be found.") // consumer sessions are revoked by the consumer API
		}
	default:
		sess, err = s.findMemberSession(ctx, p, in.Token, in.JWT)
	}
	if err != nil {
		return err
	}
	if !in.Caller.IsProject() {
		o, err := s.store.FindOrganization(ctx, p.ID, sess.OrganizationID)
		if err != nil {
			return err
		}
		if err := s.authorize(ctx, p, o, in.Caller, false, sess.MemberID); err != nil {
			return err
		}
	}
	return s.store.RevokeSession(ctx, p.ID, sess.ID)
}

// carryFactors maps the factors of from's session onto to, a member of
// another organization with the same email: email factors become to's
// email factors, an SMS factor counts only for to's verified MFA phone of
// the same number; anything else is dropped.
func carryFactors(fs []Factor, from, to *Member) []Factor {
	var out []Factor
	for _, f := range fs {
		switch {
		case f.DeliveryMethod == DeliveryEmail && f.Value == from.EmailAddress:
			f.MethodID, f.Value = to.EmailID, to.EmailAddress
		case isSecondary(f) && to.MFAPhoneVerified && to.MFAPhoneNumber != "" && f.Value == to.MFAPhoneNumber:
			f.MethodID = to.MFAPhoneID
		default:
			continue
		}
		out = append(out, f)
	}
	return out
}

// ExchangeMemberSession trades a live member session for a session in
// another organization (by id, slug or external id) of which the same
// email is a member (or may join by JIT). The session's factors carry
// over when they satisfy the target: an email factor as the primary, an
// SMS factor only for the target member's verified phone of the same
// number. When the target demands MFA the session has not met, the
// answer is an IST for the target with MFARequired (and an SMS code sent
// to a verified phone); when it does not accept the primary factor, an IST
// with PrimaryRequired. The original session stays. Returns EInvalid,
// ENoSessionArgs, ETooManySessionArgs, ESessionNotFound, EJWTInvalid,
// EOrganizationNotFound, EMemberNotFound (no membership and no JIT),
// EMemberDeleted, EInsufficientFactors (no factor carries over),
// EInvalidDuration, EInvalidClaims.
func (s *Service) ExchangeMemberSession(ctx context.Context, p *Project, in ExchangeSessionInput) (*MemberAuthResult, error) {
	if err := validID("organization_id", in.OrganizationID, EInvalid); err != nil {
		return nil, err
	}
	r := B2BSessionRequest{Duration: in.Duration, CustomClaims: in.CustomClaims}
	if err := checkB2BSession(&r); err != nil {
		return nil, err
	}
	sess, err := s.findMemberSession(ctx, p, in.Token, in.JWT)
	if err != nil {
		return nil, err
	}
	from, _, err := s.sessionMember(ctx, p, sess)
	if err != nil {
		return nil, err
	}
	o, err := s.store.FindOrganization(ctx, p.ID, in.OrganizationID)
	if err != nil {
		return nil, err
	}
	if o.ID == sess.OrganizationID {
		return nil, Invalid("organization_id", "The session already belongs to this organization.")
	}
	m, err := s.store.FindMemberByEmail(ctx, p.ID, o.ID, from.EmailAddress)
	switch {
	case ErrorCode(err) == EMemberNotFound && from.EmailVerified && b2bJITAllowed(o, from.EmailAddress):
		if m, err = s.createMemberByJIT(ctx, p, o, from.EmailAddress, MemberActive); err != nil {
			return nil, err
		}
	case ErrorCode(err) == EMemberNotFound:
		return nil, Errorf(EMemberNotFound, "The email is not a member of this organization.")
	case err != nil:
		return nil, err
	case m.Status == MemberDeleted:
		return nil, Errorf(EMemberDeleted, "The member has been deleted.")
	}
	factors := carryFactors(sess.Factors, from, m)
	if !slices.ContainsFunc(factors, func(f Factor) bool { return authMethodOf(f) != "" }) {
		return nil, Errorf(EInsufficientFactors, "The session has no factor the organization accepts.")
	}
	if m.Status != MemberActive || !m.EmailVerified {
		m.Status, m.EmailVerified = MemberActive, true
		if err := s.store.UpdateMember(ctx, m); err != nil {
			return nil, err
		}
	}
	return s.completeMemberAuth(ctx, p, memberCompletion{org: o, member: m, factors: factors, req: r, autoSend: true, locale: in.Locale})
}
