package auth

// TEMPORARY: signatures fixed for the adapters; the org/member helper
// implements them in organizations.go and members.go and deletes this file.

import "context"

var errB2BNotImplemented = Errorf(EInternal, "not implemented")

func memberRoles(m *Member, o *Organization) []MemberRole { return nil }

// authorize checks that caller may act on org (admin when needAdmin, or
// the member targetMemberID itself when selfOK). Zero Caller: allowed.
// EForbidden, ESessionNotFound, EJWTInvalid.
func (s *Service) authorize(ctx context.Context, p *Project, org *Organization, caller Caller, needAdmin bool, targetMemberID string) error {
	return errB2BNotImplemented
}

// CreateOrganization creates an organization with defaults for every
// unset setting. EInvalid, EInvalidOrganizationSlug, ECommonDomain,
// EDuplicateSlug, EDuplicateExternalID.
func (s *Service) CreateOrganization(ctx context.Context, p *Project, in OrganizationInput) (*Organization, error) {
	return nil, errB2BNotImplemented
}

// GetOrganization returns an organization by id, slug or external id.
func (s *Service) GetOrganization(ctx context.Context, p *Project, ref string) (*Organization, error) {
	return nil, errB2BNotImplemented
}

// UpdateOrganization changes the set fields (caller must be an admin of it).
func (s *Service) UpdateOrganization(ctx context.Context, p *Project, ref string, in OrganizationInput, caller Caller) (*Organization, error) {
	return nil, errB2BNotImplemented
}

// DeleteOrganization deletes it and everything in it; returns its id.
func (s *Service) DeleteOrganization(ctx context.Context, p *Project, ref string, caller Caller) (string, error) {
	return "", errB2BNotImplemented
}

// SearchOrganizations returns one page of organizations.
func (s *Service) SearchOrganizations(ctx context.Context, p *Project, q OrganizationQuery) (*OrganizationPage, error) {
	return nil, errB2BNotImplemented
}

// OrganizationMetrics returns the organization's member count.
func (s *Service) OrganizationMetrics(ctx context.Context, p *Project, ref string) (int, error) {
	return 0, errB2BNotImplemented
}

// CreateMember adds a member (active, or pending with CreatePending).
func (s *Service) CreateMember(ctx context.Context, p *Project, orgRef string, in MemberInput, caller Caller) (*Member, *Organization, error) {
	return nil, nil, errB2BNotImplemented
}

// GetMember returns a member by id/external id, or by email when memberRef is "".
func (s *Service) GetMember(ctx context.Context, p *Project, orgRef, memberRef, email string) (*Member, *Organization, error) {
	return nil, nil, errB2BNotImplemented
}

// UpdateMember changes the set fields.
func (s *Service) UpdateMember(ctx context.Context, p *Project, orgRef, memberRef string, in MemberInput, caller Caller) (*Member, *Organization, error) {
	return nil, nil, errB2BNotImplemented
}

// DeleteMember soft-deletes a member (status deleted, sessions revoked); returns its id.
func (s *Service) DeleteMember(ctx context.Context, p *Project, orgRef, memberRef string, caller Caller) (string, error) {
	return "", errB2BNotImplemented
}

// ReactivateMember turns a deleted member active again.
func (s *Service) ReactivateMember(ctx context.Context, p *Project, orgRef, memberRef string, caller Caller) (*Member, *Organization, error) {
	return nil, nil, errB2BNotImplemented
}

// DeleteMemberMFAPhone removes the member's MFA phone (unenrolls when it was the only factor).
func (s *Service) DeleteMemberMFAPhone(ctx context.Context, p *Project, orgRef, memberRef string, caller Caller) (*Member, *Organization, error) {
	return nil, nil, errB2BNotImplemented
}

// SearchMembers returns one page of members of q.OrganizationIDs with those organizations by id.
func (s *Service) SearchMembers(ctx context.Context, p *Project, q MemberQuery, caller Caller) (*MemberPage, map[string]*Organization, error) {
	return nil, nil, errB2BNotImplemented
}

// DangerouslyGetMember returns a member of any organization by id.
func (s *Service) DangerouslyGetMember(ctx context.Context, p *Project, memberID string, includeDeleted bool) (*Member, *Organization, error) {
	return nil, nil, errB2BNotImplemented
}
