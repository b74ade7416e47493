package auth

import (
	"context"
	"strings"
)

// This file holds B2B discovery: an email proves itself by a discovery
// magic link (a row of the consumer magic-link table with only Email set),
// gets an intermediate session bound to the email alone, lists the
// organizations it may enter, and exchanges the IST for a session in one
// of them or creates a new one.

// Discovery membership types.
const (
	MembershipActive        = "active_member"
	MembershipPending       = "pending_member"
	MembershipInvited       = "invited_member"
	MembershipEligibleByJIT = "eligible_to_join_by_email_domain"
)

// SendDiscoveryMagicLink emails a discovery link (default 60 minutes, 5 to
// 10080) carrying ?stytch_token_type=discovery&token=…; it proves the
// email, not a membership. Returns EInvalid, EInvalidEmail,
// EInvalidExpiration, ERateLimited.
func (s *Service) SendDiscoveryMagicLink(ctx context.Context, p *Project, in DiscoverySendInput) error {
	if err := CheckLocale(in.Locale); err != nil {
		return err
	}
	email, err := b2bEmail(in.EmailAddress)
	if err != nil {
		return err
	}
	exp, err := linkExpiration("discovery_expiration_minutes", in.Expiration, B2BDefaultLoginExpiration)
	if err != nil {
		return err
	}
	if err := s.checkProjectRedirect(ctx, p, RedirectDiscovery, "discovery_redirect_url", in.RedirectURL); err != nil {
		return err
	}
	if err := checkCodeChallenge(in.CodeChallenge); err != nil {
		return err
	}
	if err := s.checkSendLimit(ctx, p, email); err != nil {
		return err
	}
	ml := &MagicLink{Email: email, EmailID: NewID(PrefixDiscoveryEmail, p), Kind: MagicLinkDiscovery, CodeChallenge: in.CodeChallenge}
	_, err = s.issueMemberLink(ctx, p, ml, exp, s.landing(in.RedirectURL, s.defaultRedirect(ctx, p, RedirectDiscovery)), TokenTypeDiscovery, "", in.Locale)
	return err
}

func membershipType(st MemberStatus) string {
	switch st {
	case MemberPending:
		return MembershipPending
	case MemberInvited:
		return MembershipInvited
	}
	return MembershipActive
}

// discover lists the organizations email may enter: its memberships
// (deleted excluded), then the organizations it may join by JIT. With
// factors, each entry says what that organization still demands
// (PrimaryRequired, MFARequired); authOrgID is the organization of a
// session the caller holds (MemberAuthenticated).
func (s *Service) discover(ctx context.Context, p *Project, email string, factors []Factor, authOrgID string) ([]DiscoveredOrganization, error) {
	members, orgs, err := s.store.MembershipsByEmail(ctx, p.ID, email)
	if err != nil {
		return nil, err
	}
	out := []DiscoveredOrganization{}
	seen := map[string]bool{}
	for i, m := range members {
		if i >= len(orgs) || m.Status == MemberDeleted {
			continue
		}
		o := orgs[i]
		seen[o.ID] = true
		d := DiscoveredOrganization{Organization: o, Member: m, MembershipType: membershipType(m.Status), MemberAuthenticated: o.ID == authOrgID}
		if !d.MemberAuthenticated {
			d.PrimaryRequired, d.MFARequired = demands(o, m, factors)
		}
		out = append(out, d)
	}
	domain := emailDomain(email)
	if domain == "" {
		return out, nil
	}
	jit, err := s.store.OrganizationsByAllowedDomain(ctx, p.ID, domain)
	if err != nil {
		return nil, err
	}
	for _, o := range jit {
		if seen[o.ID] || !b2bJITAllowed(o, email) {
			continue
		}
		d := DiscoveredOrganization{Organization: o, MembershipType: MembershipEligibleByJIT}
		d.PrimaryRequired, d.MFARequired = demands(o, &Member{EmailAddress: email}, factors)
		out = append(out, d)
	}
	return out, nil
}

// demands says what o still requires of m after factors.
func demands(o *Organization, m *Member, factors []Factor) (*PrimaryRequired, *MFARequired) {
	if !primaryOK(o, m, factors) {
		return &PrimaryRequired{AllowedAuthMethods: append([]string{}, o.AllowedAuthMethods...)}, nil
	}
	if mfaRequired(o, m) {
		return nil, mfaOptions(m)
	}
	return nil, nil
}

// AuthenticateDiscoveryMagicLink consumes a discovery link (once; PKCE
// checked) and returns an IST bound to its email (10 minutes, single use)
// with the organizations the email may enter; no member is authenticated
// yet. Member links are not accepted. Returns EInvalid,
// EMagicLinkNotFound, EMagicLinkUsed, EPKCEMismatch.
func (s *Service) AuthenticateDiscoveryMagicLink(ctx context.Context, p *Project, token, codeVerifier string) (*DiscoveryResult, error) {
	if token == "" {
		return nil, Invalid("discovery_magic_links_token", "discovery_magic_links_token is required.")
	}
	if len(token) > 512 {
		return nil, Errorf(EMagicLinkNotFound, "The magic link could not be authenticated, try sending another magic link.")
	}
	challenge := ""
	if codeVerifier != "" {
		challenge = PKCEChallenge(codeVerifier)
	}
	ml, _, err := s.store.ConsumeB2BMagicLink(ctx, p.ID, s.keys.TokenHashes(token), challenge, true, MemberMFAUpdate{})
	if err == nil && ml.Kind != MagicLinkDiscovery {
		err = Errorf(EMagicLinkNotFound, "The magic link could not be authenticated, try sending another magic link.")
	}
	if err != nil {
		s.metrics.Authenticated(FactorMagicLink, string(ErrorCode(err)))
		return nil, err
	}
	s.metrics.Authenticated(FactorMagicLink, "ok")
	now := s.now().UTC()
	emailID := ml.EmailID
	if emailID == "" {
		emailID = NewID(PrefixDiscoveryEmail, p)
	}
	f := Factor{Type: FactorMagicLink, DeliveryMethod: DeliveryEmail, MethodID: emailID, Value: ml.Email,
		LastAuthenticatedAt: now, CreatedAt: now, UpdatedAt: now}
	ist, istToken, err := s.newIST(ctx, p, ml.Email, "", "", []Factor{f})
	if err != nil {
		return nil, err
	}
	orgs, err := s.discover(ctx, p, ml.Email, ist.Factors, "")
	if err != nil {
		return nil, err
	}
	return &DiscoveryResult{IST: istToken, ISTExpiresAt: ist.ExpiresAt, EmailAddress: ml.Email, Organizations: orgs}, nil
}

// ListDiscoveredOrganizations lists the organizations the email of an IST
// or of a member session (exactly one) may enter; nothing is consumed.
// With a session, its own organization is MemberAuthenticated. Returns
// ENoSessionArgs, ETooManySessionArgs, EISTNotFound, ESessionNotFound,
// EJWTInvalid.
func (s *Service) ListDiscoveredOrganizations(ctx context.Context, p *Project, in DiscoveryListInput) (*DiscoveryResult, error) {
	switch countArgs(in.IST, in.SessionToken, in.SessionJWT) {
	case 0:
		return nil, Errorf(ENoSessionArgs, "One of intermediate_session_token, session_token or session_jwt is required.")
	case 1:
	default:
		return nil, Errorf(ETooManySessionArgs, "Only one of intermediate_session_token, session_token and session_jwt may be given.")
	}
	var (
		email, authOrg string
		factors        []Factor
	)
	if in.IST != "" {
		ist, err := s.findIST(ctx, p, in.IST)
		if err != nil {
			return nil, err
		}
		email, factors = ist.EmailAddress, ist.Factors
	} else {
		sess, err := s.findMemberSession(ctx, p, in.SessionToken, in.SessionJWT)
		if err != nil {
			return nil, err
		}
		m, _, err := s.sessionMember(ctx, p, sess)
		if err != nil {
			return nil, err
		}
		email, authOrg = m.EmailAddress, sess.OrganizationID
		for _, f := range sess.Factors {
			if f.DeliveryMethod == DeliveryEmail {
				factors = append(factors, f)
			}
		}
	}
	orgs, err := s.discover(ctx, p, email, factors, authOrg)
	if err != nil {
		return nil, err
	}
	return &DiscoveryResult{EmailAddress: email, Organizations: orgs}, nil
}

// istEmailFactors returns the email factors of ist rebound to m.
func istEmailFactors(ist *IntermediateSession, m *Member) []Factor {
	var out []Factor
	for _, f := range ist.Factors {
		if f.DeliveryMethod == DeliveryEmail && f.Value == ist.EmailAddress {
			f.MethodID, f.Value = m.EmailID, m.EmailAddress
			out = append(out, f)
		}
	}
	return out
}

// ExchangeIntermediateSession trades an IST (from discovery, or from a
// primary factor in another organization) for a session in an
// organization (by id, slug or external id) of which the IST's email is a
// member, or may become one by JIT (the member is then created active).
// The IST is consumed; the member is activated and its email verified;
// the IST's email factor then completes as a primary factor: a session,
// or a new IST bound to the member with MFARequired or PrimaryRequired
// (no SMS code is sent at once in discovery). Returns EInvalid,
// EISTNotFound, EOrganizationNotFound, EMemberDeleted, EJITNotAllowed,
// EInsufficientFactors, EInvalidDuration, EInvalidClaims.
func (s *Service) ExchangeIntermediateSession(ctx context.Context, p *Project, in IntermediateExchangeInput) (*MemberAuthResult, error) {
	if in.IST == "" {
		return nil, Invalid("intermediate_session_token", "intermediate_session_token is required.")
	}
	if err := validOrgRef(in.OrganizationID); err != nil {
		return nil, err
	}
	r := in.Session
	r.Token, r.JWT, r.IST = "", "", ""
	if err := checkB2BSession(&r); err != nil {
		return nil, err
	}
	ist, err := s.findIST(ctx, p, in.IST)
	if err != nil {
		return nil, err
	}
	o, err := s.store.FindOrganization(ctx, p.ID, in.OrganizationID)
	if err != nil {
		return nil, err
	}
	m, err := s.store.FindMemberByEmail(ctx, p.ID, o.ID, ist.EmailAddress)
	jit := ErrorCode(err) == EMemberNotFound
	switch {
	case jit && !b2bJITAllowed(o, ist.EmailAddress):
		return nil, Errorf(EJITNotAllowed, "The email is not a member of the organization and may not join it by itself.")
	case jit:
	case err != nil:
		return nil, err
	case m.Status == MemberDeleted:
		return nil, deletedMember()
	}
	if ist.MemberID != "" && m != nil && ist.MemberID == m.ID {
		return nil, Invalid("organization_id", "The intermediate session already belongs to this organization.")
	}
	if err := s.store.ConsumeIntermediateSession(ctx, p.ID, ist.ID); err != nil {
		return nil, err
	}
	if jit {
		if m, err = s.createMemberByJIT(ctx, p, o, ist.EmailAddress, MemberActive); err != nil {
			return nil, err
		}
	} else if m.Status != MemberActive || !m.EmailVerified {
		m.Status, m.EmailVerified = MemberActive, true
		if err := s.store.UpdateMember(ctx, m); err != nil {
			return nil, err
		}
	}
	factors := istEmailFactors(ist, m)
	if len(factors) == 0 {
		return nil, Errorf(EInsufficientFactors, "The intermediate session has no email factor.")
	}
	return s.completeMemberAuth(ctx, p, memberCompletion{org: o, member: m, factors: factors, req: r, locale: in.Locale})
}

// CreateOrganizationViaDiscovery creates an organization (settings as
// CreateOrganization; the name defaults to the email's domain) with the
// IST's email as its first member: active, email verified, RoleAdmin.
// The IST is consumed; then the email factor completes as a primary
// factor in the new organization (a session, or an IST with MFARequired
// when the new organization requires MFA). Returns EInvalid,
// EISTNotFound, EInvalidOrganizationSlug, ECommonDomain, EDuplicateSlug,
// EDuplicateExternalID, EInsufficientFactors, EInvalidDuration,
// EInvalidClaims.
func (s *Service) CreateOrganizationViaDiscovery(ctx context.Context, p *Project, in DiscoveryCreateInput) (*MemberAuthResult, error) {
	if in.IST == "" {
		return nil, Invalid("intermediate_session_token", "intermediate_session_token is required.")
	}
	r := in.Session
	r.Token, r.JWT, r.IST = "", "", ""
	if err := checkB2BSession(&r); err != nil {
		return nil, err
	}
	ist, err := s.findIST(ctx, p, in.IST)
	if err != nil {
		return nil, err
	}
	oin := in.Organization
	if oin.Name == nil {
		name := emailDomain(ist.EmailAddress)
		if i := strings.IndexByte(name, '.'); i > 0 {
			name = name[:i]
		}
		oin.Name = &name
	}
	o, err := newOrganization(p, oin)
	if err != nil {
		return nil, err
	}
	if len(istEmailFactors(ist, &Member{})) == 0 {
		return nil, Errorf(EInsufficientFactors, "The intermediate session has no email factor.")
	}
	// A taken slug is refused before the IST is spent (the insert below
	// still catches a concurrent one).
	if _, err := s.store.FindOrganization(ctx, p.ID, o.Slug); err == nil {
		return nil, &Error{Code: EDuplicateSlug, Field: "organization_slug", Message: "An organization with this slug already exists."}
	} else if ErrorCode(err) != EOrganizationNotFound {
		return nil, err
	}
	if err := s.store.ConsumeIntermediateSession(ctx, p.ID, ist.ID); err != nil {
		return nil, err
	}
	if err := s.store.CreateOrganization(ctx, o); err != nil {
		return nil, err
	}
	m := &Member{
		ID: NewID(PrefixMember, p), ProjectID: p.ID, OrganizationID: o.ID, EmailAddress: ist.EmailAddress,
		EmailID: NewID(PrefixMemberEmail, p), EmailVerified: true, Status: MemberActive, RoleIDs: []string{RoleAdmin},
		TrustedMetadata: orEmptyObject(nil), UntrustedMetadata: orEmptyObject(nil),
	}
	if err := s.store.CreateMember(ctx, m); err != nil {
		return nil, err
	}
	return s.completeMemberAuth(ctx, p, memberCompletion{org: o, member: m, factors: istEmailFactors(ist, m), req: r})
}
