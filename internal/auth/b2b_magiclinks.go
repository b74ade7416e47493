package auth

import (
	"context"
	"net/url"
	"slices"
	"time"
)

// This file holds the B2B email magic links: login_or_signup, invite and
// authenticate. Member links are rows of the consumer magic-link table
// (MemberID, OrganizationID and Email set) and go out through the same
// outbox, stream and email worker.

// Values of the stytch_token_type query parameter of B2B links.
const (
	TokenTypeMultiTenantMagicLinks = "multi_tenant_magic_links"
	TokenTypeDiscovery             = "discovery"
)

// b2bLinkURL appends slug (when not ""), stytch_token_type and token to base.
func b2bLinkURL(base, tokenType, slug, token string) string {
	u, err := url.Parse(base)
	if err != nil {
		return base
	}
	q := u.Query()
	if slug != "" {
		q.Set("slug", slug)
	}
	q.Set("stytch_token_type", tokenType)
	q.Set("token", token)
	u.RawQuery = q.Encode()
	return u.String()
}

// b2bEmail normalizes a B2B email_address input.
func b2bEmail(raw string) (string, error) {
	addr, err := NormalizeEmail(raw)
	if err != nil {
		return "", &Error{Code: EInvalidEmail, Field: "email_address", Message: ErrorMessage(err)}
	}
	return addr, nil
}

// checkCodeChallenge checks a B2B pkce_code_challenge (RFC 7636).
func checkCodeChallenge(v string) error { return checkPKCEChallenge("pkce_code_challenge", v) }

// b2bDomainAllowed reports whether email's domain is one of o's allowed domains.
func b2bDomainAllowed(o *Organization, email string) bool {
	d := emailDomain(email)
	return d != "" && slices.Contains(o.EmailAllowedDomains, d)
}

// b2bJITAllowed reports whether email may join o by itself (JIT).
func b2bJITAllowed(o *Organization, email string) bool {
	return o.EmailJITProvisioning == Restricted && b2bDomainAllowed(o, email)
}

// createMemberByJIT adds email to o with status. An active member's email
// is verified (it joined by proving it).
func (s *Service) createMemberByJIT(ctx context.Context, p *Project, o *Organization, email string, status MemberStatus) (*Member, error) {
	m := &Member{
		ID: NewID(PrefixMember, p), ProjectID: p.ID, OrganizationID: o.ID, EmailAddress: email,
		EmailID: NewID(PrefixMemberEmail, p), EmailVerified: status == MemberActive, Status: status, RoleIDs: []string{},
		TrustedMetadata: orEmptyObject(nil), UntrustedMetadata: orEmptyObject(nil),
	}
	if err := s.store.CreateMember(ctx, m); err != nil {
		if ErrorCode(err) == EDuplicateMemberEmail { // created concurrently
			return s.store.FindMemberByEmail(ctx, p.ID, o.ID, email)
		}
		return nil, err
	}
	return m, nil
}

// loginMember finds the member of o with email for a primary-factor send
// by method (AuthMethodMagicLink or AuthMethodEmailOTP), or creates it as
// pending by JIT. EMemberDeleted, EJITNotAllowed, EAuthMethodNotAllowed.
func (s *Service) loginMember(ctx context.Context, p *Project, o *Organization, email, method string) (*Member, bool, error) {
	m, err := s.store.FindMemberByEmail(ctx, p.ID, o.ID, email)
	switch {
	case err == nil && m.Status == MemberDeleted:
		return nil, false, Errorf(EMemberDeleted, "The member has been deleted.")
	case err == nil:
		if !authMethodAllowed(o, m, method) {
			return nil, false, Errorf(EAuthMethodNotAllowed, "The organization does not allow %s as a primary factor.", method)
		}
		return m, false, nil
	case ErrorCode(err) != EMemberNotFound:
		return nil, false, err
	}
	if !authMethodAllowed(o, nil, method) {
		return nil, false, Errorf(EAuthMethodNotAllowed, "The organization does not allow %s as a primary factor.", method)
	}
	if !b2bJITAllowed(o, email) {
		return nil, false, &Error{Code: EJITNotAllowed, Field: "email_address", Message: "The email is not a member of the organization and may not join it by itself."}
	}
	m, err = s.createMemberByJIT(ctx, p, o, email, MemberPending)
	if err != nil {
		return nil, false, err
	}
	return m, true, nil
}

// issueMemberLink stores ml (a member or discovery link) with its outbox
// message, publishes it and returns the message id. ml's ID, TokenHash,
// ExpiresAt and CreatedAt are set here.
func (s *Service) issueMemberLink(ctx context.Context, p *Project, ml *MagicLink, exp time.Duration, base, tokenType, slug, locale string) (string, error) {
	now := s.now().UTC()
	token := NewToken()
	ml.ID, ml.ProjectID, ml.TokenHash, ml.ExpiresAt, ml.CreatedAt = NewID(PrefixMagicLink, p), p.ID, s.keys.TokenHash(token), now.Add(exp), now
	ev := &Event{
		MessageID: NewID(PrefixMessage, p), ProjectID: p.ID, Kind: KindMagicLink, Channel: ChannelEmail, To: ml.Email,
		URL: b2bLinkURL(base, tokenType, slug, token), LinkKind: ml.Kind, Locale: locale, ExpiresAt: ml.ExpiresAt,
		ChallengeID: ml.ID, CreatedAt: now,
	}
	m, payload, err := s.outboxMessage(ctx, ev)
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

// B2BLoginOrSignup emails a magic link to the member of an organization
// (by id, slug or external id) with the email: a login link to an active
// member, a signup link to a pending or invited one, or, when the email is
// not a member and the organization's email_jit_provisioning is RESTRICTED
// with the email's domain in email_allowed_domains, a signup link to a new
// pending member (MemberCreated). Links default to 60 minutes (5 to 10080)
// and carry ?slug=…&stytch_token_type=multi_tenant_magic_links&token=….
// Returns EInvalid, EInvalidEmail, EInvalidExpiration,
// EOrganizationNotFound, EMemberDeleted, EJITNotAllowed,
// EAuthMethodNotAllowed (auth_methods RESTRICTED without magic_link),
// ERateLimited.
func (s *Service) B2BLoginOrSignup(ctx context.Context, p *Project, in B2BEmailLoginInput) (*B2BSendResult, error) {
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
	loginExp, err := linkExpiration("login_expiration_minutes", in.LoginExpiration, s.linkDefault(ctx, p, B2BDefaultLoginExpiration))
	if err != nil {
		return nil, err
	}
	signupExp, err := linkExpiration("signup_expiration_minutes", in.SignupExpiration, s.linkDefault(ctx, p, B2BDefaultLoginExpiration))
	if err != nil {
		return nil, err
	}
	if err := s.checkProjectRedirect(ctx, p, RedirectLogin, "login_redirect_url", in.LoginURL); err != nil {
		return nil, err
	}
	if err := s.checkProjectRedirect(ctx, p, RedirectSignup, "signup_redirect_url", in.SignupURL); err != nil {
		return nil, err
	}
	if err := checkCodeChallenge(in.CodeChallenge); err != nil {
		return nil, err
	}
	o, err := s.store.FindOrganization(ctx, p.ID, in.OrganizationID)
	if err != nil {
		return nil, err
	}
	if err := s.checkSendLimit(ctx, p, email); err != nil {
		return nil, err
	}
	m, created, err := s.loginMember(ctx, p, o, email, AuthMethodMagicLink)
	if err != nil {
		return nil, err
	}
	kind, exp, base := MagicLinkLogin, loginExp, s.landing(in.LoginURL, s.defaultRedirect(ctx, p, RedirectLogin))
	if created || m.Status != MemberActive {
		kind, exp, base = MagicLinkSignup, signupExp, s.landing(in.SignupURL, s.defaultRedirect(ctx, p, RedirectSignup))
	}
	ml := &MagicLink{MemberID: m.ID, OrganizationID: o.ID, Email: email, EmailID: m.EmailID, Kind: kind, CodeChallenge: in.CodeChallenge}
	msgID, err := s.issueMemberLink(ctx, p, ml, exp, base, TokenTypeMultiTenantMagicLinks, o.Slug, in.Locale)
	if err != nil {
		return nil, err
	}
	return &B2BSendResult{Member: m, Organization: o, MemberCreated: created, MessageID: msgID}, nil
}

// B2BInvite invites an email to an organization (by id, slug or external
// id): the member is created (or, if pending, invited or deleted,
// updated) with status invited, the given name, metadata and roles, and
// emailed an invite link (default 7 days, 5 to 10080 minutes). With a
// member-session Caller, the caller must be an admin of the organization.
// Returns EInvalid, EInvalidEmail, EInvalidExpiration,
// EOrganizationNotFound, EInviteNotAllowed (email_invites NOT_ALLOWED, or
// RESTRICTED and the domain not allowed), EMemberAlreadyActive,
// EMemberNotFound (invited_by_member_id), ERateLimited, and for a caller
// EForbidden, ESessionNotFound, EJWTInvalid.
func (s *Service) B2BInvite(ctx context.Context, p *Project, in B2BInviteInput) (*B2BSendResult, error) {
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
	exp, err := linkExpiration("invite_expiration_minutes", in.Expiration, B2BDefaultInviteExpiration)
	if err != nil {
		return nil, err
	}
	if err := s.checkProjectRedirect(ctx, p, RedirectInvite, "invite_redirect_url", in.URL); err != nil {
		return nil, err
	}
	if in.Name != nil {
		if err := validLength("name", *in.Name, maxMemberName); err != nil {
			return nil, err
		}
	}
	if err := validMetadata("trusted_metadata", in.TrustedMetadata); err != nil {
		return nil, err
	}
	if err := validMetadata("untrusted_metadata", in.UntrustedMetadata); err != nil {
		return nil, err
	}
	roles, err := normalizeRoleIDs(in.RoleIDs)
	if err != nil {
		return nil, err
	}
	if in.InvitedByMemberID != "" {
		if err := validID("invited_by_member_id", in.InvitedByMemberID, EInvalid); err != nil {
			return nil, err
		}
	}
	o, err := s.store.FindOrganization(ctx, p.ID, in.OrganizationID)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, p, o, in.Caller, true, ""); err != nil {
		return nil, err
	}
	switch {
	case o.EmailInvites == NotAllowed:
		return nil, Errorf(EInviteNotAllowed, "The organization does not allow email invites.")
	case o.EmailInvites == Restricted && !b2bDomainAllowed(o, email):
		return nil, &Error{Code: EInviteNotAllowed, Field: "email_address", Message: "The organization only allows invites to its allowed email domains."}
	}
	if in.InvitedByMemberID != "" {
		if _, err := s.store.FindMember(ctx, p.ID, o.ID, in.InvitedByMemberID); err != nil {
			return nil, err
		}
	}
	if err := s.checkSendLimit(ctx, p, email); err != nil {
		return nil, err
	}
	m, err := s.store.FindMemberByEmail(ctx, p.ID, o.ID, email)
	created := ErrorCode(err) == EMemberNotFound
	switch {
	case created:
		m = &Member{
			ID: NewID(PrefixMember, p), ProjectID: p.ID, OrganizationID: o.ID, EmailAddress: email,
			EmailID: NewID(PrefixMemberEmail, p), RoleIDs: []string{},
			TrustedMetadata: orEmptyObject(nil), UntrustedMetadata: orEmptyObject(nil),
		}
	case err != nil:
		return nil, err
	case m.Status == MemberActive:
		return nil, &Error{Code: EMemberAlreadyActive, Field: "email_address", Message: "The member is already active; send a login link instead."}
	}
	m.Status = MemberInvited
	if in.Name != nil {
		m.Name = *in.Name
	}
	if in.TrustedMetadata != nil {
		m.TrustedMetadata = in.TrustedMetadata
	}
	if in.UntrustedMetadata != nil {
		m.UntrustedMetadata = in.UntrustedMetadata
	}
	if roles != nil {
		m.RoleIDs = roles
	}
	if created {
		err = s.store.CreateMember(ctx, m)
	} else {
		err = s.store.UpdateMember(ctx, m)
	}
	if err != nil {
		return nil, err
	}
	ml := &MagicLink{MemberID: m.ID, OrganizationID: o.ID, Email: email, EmailID: m.EmailID, Kind: MagicLinkInvite}
	msgID, err := s.issueMemberLink(ctx, p, ml, exp, s.landing(in.URL, s.defaultRedirect(ctx, p, RedirectInvite)), TokenTypeMultiTenantMagicLinks, o.Slug, in.Locale)
	if err != nil {
		return nil, err
	}
	return &B2BSendResult{Member: m, Organization: o, MemberCreated: created, MessageID: msgID}, nil
}

// beginB2BPrimary checks the session part of a primary-factor
// authenticate before anything is consumed: a member session (token or
// JWT) must be live, an IST must be live. Their member is checked later
// by checkB2BPrimary.
func (s *Service) beginB2BPrimary(ctx context.Context, p *Project, r *B2BSessionRequest) (*Session, *IntermediateSession, error) {
	if err := checkB2BSession(r); err != nil {
		return nil, nil, err
	}
	var (
		sess *Session
		ist  *IntermediateSession
		err  error
	)
	if r.Token != "" || r.JWT != "" {
		if sess, err = s.findMemberSession(ctx, p, r.Token, r.JWT); err != nil {
			return nil, nil, err
		}
	}
	if r.IST != "" {
		if ist, err = s.findIST(ctx, p, r.IST); err != nil {
			return nil, nil, err
		}
	}
	return sess, ist, nil
}

// checkB2BPrimary checks that the session and IST of beginB2BPrimary
// belong to m of o. EForbidden, EISTOrgMismatch.
func checkB2BPrimary(o *Organization, m *Member, sess *Session, ist *IntermediateSession) error {
	if sess != nil && (sess.MemberID != m.ID || sess.OrganizationID != o.ID) {
		return Errorf(EForbidden, "The session belongs to another member.")
	}
	if ist != nil {
		return checkISTFor(ist, o, m)
	}
	return nil
}

// finishB2BPrimary completes a primary factor f: the factors of ist (if
// any, with its email factors rebound to m) come first; ist is consumed.
func (s *Service) finishB2BPrimary(ctx context.Context, p *Project, o *Organization, m *Member, f Factor, r B2BSessionRequest, sess *Session, ist *IntermediateSession, locale string) (*MemberAuthResult, error) {
	var factors []Factor
	if ist != nil {
		if err := s.store.ConsumeIntermediateSession(ctx, p.ID, ist.ID); err != nil {
			return nil, err
		}
		for _, g := range ist.Factors {
			if g.DeliveryMethod == DeliveryEmail {
				g.MethodID, g.Value = m.EmailID, m.EmailAddress
			}
			if !(g.Type == f.Type && g.DeliveryMethod == f.DeliveryMethod) {
				factors = append(factors, g)
			}
		}
	}
	factors = append(factors, f)
	return s.completeMemberAuth(ctx, p, memberCompletion{org: o, member: m, factors: factors, req: r, existing: sess, autoSend: true, locale: locale})
}

// B2BAuthenticateMagicLink consumes a member magic link (once; PKCE
// checked), activates the member and verifies its email in the same
// statement, and completes the primary factor: a member session (default
// 60 minutes), or, when the organization demands MFA (REQUIRED_FOR_ALL or
// the member is mfa_enrolled) and no session of the member was passed, an
// IST with MFARequired, an SMS code being sent at once to a verified MFA
// phone (SecondaryAuthInitiated "sms_otp"); when auth_methods is
// RESTRICTED without magic_link, an IST with PrimaryRequired. A session
// token or JWT passed must be a live member session of the same member
// (it is extended); an IST passed must be live and of the same member
// (or, from discovery, the same email), and is consumed. Discovery links
// are not accepted. Without a session or IST passed it is one round trip
// (authenticateMemberLink) and a deleted member's link is refused unused;
// with one, the link is consumed before the member is checked. Returns EInvalid, EMagicLinkNotFound, EMagicLinkUsed,
// EPKCEMismatch, EMemberDeleted, EISTNotFound, EISTOrgMismatch,
// EForbidden, ESessionNotFound, EJWTInvalid, ETooManySessionArgs,
// EInvalidDuration, EInvalidClaims.
func (s *Service) B2BAuthenticateMagicLink(ctx context.Context, p *Project, in B2BAuthenticateMagicLinkInput) (*MemberAuthResult, error) {
	if in.Token == "" {
		return nil, Invalid("magic_links_token", "magic_links_token is required.")
	}
	if len(in.Token) > 512 {
		return nil, Errorf(EMagicLinkNotFound, "The magic link could not be authenticated, try sending another magic link.")
	}
	sess, ist, err := s.beginB2BPrimary(ctx, p, &in.Session)
	if err != nil {
		return nil, err
	}
	challenge := ""
	if in.CodeVerifier != "" {
		challenge = PKCEChallenge(in.CodeVerifier)
	}
	if sess == nil && ist == nil { // the common call: one round trip
		return s.authenticateMemberLink(ctx, p, in, challenge)
	}
	ml, m, err := s.store.ConsumeB2BMagicLink(ctx, p.ID, s.keys.TokenHashes(in.Token), challenge, false, MemberMFAUpdate{Activate: true, VerifyEmail: true})
	if err == nil && (ml.Kind == MagicLinkDiscovery || m == nil) {
		err = Errorf(EMagicLinkNotFound, "The magic link could not be authenticated, try sending another magic link.")
	}
	if err != nil {
		s.metrics.Authenticated(FactorMagicLink, string(ErrorCode(err)))
		return nil, err
	}
	s.metrics.Authenticated(FactorMagicLink, "ok")
	if m.Status == MemberDeleted {
		return nil, Errorf(EMemberDeleted, "The member has been deleted.")
	}
	o, err := s.store.FindOrganization(ctx, p.ID, ml.OrganizationID)
	if err != nil {
		return nil, err
	}
	if err := checkB2BPrimary(o, m, sess, ist); err != nil {
		return nil, err
	}
	f := memberEmailFactor(FactorMagicLink, m, s.now().UTC())
	return s.finishB2BPrimary(ctx, p, o, m, f, in.Session, sess, ist, in.Locale)
}
