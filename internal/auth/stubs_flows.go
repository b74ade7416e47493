package auth

// TEMPORARY: signatures fixed for the adapters; the B2B flows helper
// implements them in b2b_magiclinks.go, b2b_otps.go, member_sessions.go
// and discovery.go and deletes this file.

import "context"

// B2BLoginOrSignup emails a login link to a member (or signs one up by
// JIT, or re-sends to a pending/invited member).
func (s *Service) B2BLoginOrSignup(ctx context.Context, p *Project, in B2BEmailLoginInput) (*B2BSendResult, error) {
	return nil, errB2BNotImplemented
}

// B2BInvite invites an email to an organization.
func (s *Service) B2BInvite(ctx context.Context, p *Project, in B2BInviteInput) (*B2BSendResult, error) {
	return nil, errB2BNotImplemented
}

// B2BAuthenticateMagicLink authenticates a member magic link.
func (s *Service) B2BAuthenticateMagicLink(ctx context.Context, p *Project, in B2BAuthenticateMagicLinkInput) (*MemberAuthResult, error) {
	return nil, errB2BNotImplemented
}

// B2BEmailOTPLoginOrSignup emails a code as a primary factor.
func (s *Service) B2BEmailOTPLoginOrSignup(ctx context.Context, p *Project, in B2BEmailLoginInput) (*B2BSendResult, error) {
	return nil, errB2BNotImplemented
}

// B2BAuthenticateEmailOTP authenticates an email code as a primary factor.
func (s *Service) B2BAuthenticateEmailOTP(ctx context.Context, p *Project, in B2BAuthenticateEmailOTPInput) (*MemberAuthResult, error) {
	return nil, errB2BNotImplemented
}

// B2BSendSMS sends an SMS code to a member as a second factor.
func (s *Service) B2BSendSMS(ctx context.Context, p *Project, in B2BSendSMSInput) (*B2BSendResult, error) {
	return nil, errB2BNotImplemented
}

// B2BAuthenticateSMS authenticates an SMS code as a second factor.
func (s *Service) B2BAuthenticateSMS(ctx context.Context, p *Project, in B2BAuthenticateSMSInput) (*MemberAuthResult, error) {
	return nil, errB2BNotImplemented
}

// ListMemberSessions returns a member's live sessions.
func (s *Service) ListMemberSessions(ctx context.Context, p *Project, orgRef, memberRef string) ([]*Session, error) {
	return nil, errB2BNotImplemented
}

// AuthenticateMemberSession checks a member session.
func (s *Service) AuthenticateMemberSession(ctx context.Context, p *Project, in MemberSessionInput) (*MemberAuthResult, error) {
	return nil, errB2BNotImplemented
}

// RevokeMemberSession ends one or all sessions of a member.
func (s *Service) RevokeMemberSession(ctx context.Context, p *Project, in RevokeMemberSessionInput) error {
	return errB2BNotImplemented
}

// ExchangeMemberSession trades a member session for one in another organization.
func (s *Service) ExchangeMemberSession(ctx context.Context, p *Project, in ExchangeSessionInput) (*MemberAuthResult, error) {
	return nil, errB2BNotImplemented
}

// SendDiscoveryMagicLink emails a discovery link.
func (s *Service) SendDiscoveryMagicLink(ctx context.Context, p *Project, in DiscoverySendInput) error {
	return errB2BNotImplemented
}

// AuthenticateDiscoveryMagicLink authenticates a discovery link.
func (s *Service) AuthenticateDiscoveryMagicLink(ctx context.Context, p *Project, token, codeVerifier string) (*DiscoveryResult, error) {
	return nil, errB2BNotImplemented
}

// ListDiscoveredOrganizations lists the organizations an email may enter.
func (s *Service) ListDiscoveredOrganizations(ctx context.Context, p *Project, in DiscoveryListInput) (*DiscoveryResult, error) {
	return nil, errB2BNotImplemented
}

// ExchangeIntermediateSession trades a discovery IST for a session in an organization.
func (s *Service) ExchangeIntermediateSession(ctx context.Context, p *Project, in IntermediateExchangeInput) (*MemberAuthResult, error) {
	return nil, errB2BNotImplemented
}

// CreateOrganizationViaDiscovery creates an organization with the IST's email as its first admin.
func (s *Service) CreateOrganizationViaDiscovery(ctx context.Context, p *Project, in DiscoveryCreateInput) (*MemberAuthResult, error) {
	return nil, errB2BNotImplemented
}
