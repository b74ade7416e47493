package postgres

// TEMPORARY: the B2B store helper implements these in organization.go,
// member.go, intermediate.go and b2b.go and deletes this file.

import (
	"context"
	"errors"

	"github.com/sesame-auth/sesame/internal/auth"
)

var errTODO = auth.Internal(errors.New("postgres: B2B store not implemented"))

func (db *DB) CreateOrganization(ctx context.Context, o *auth.Organization) error { return errTODO }
func (db *DB) FindOrganization(ctx context.Context, projectID, ref string) (*auth.Organization, error) {
	return nil, errTODO
}
func (db *DB) UpdateOrganization(ctx context.Context, o *auth.Organization) error { return errTODO }
func (db *DB) DeleteOrganization(ctx context.Context, projectID, orgID string) error {
	return errTODO
}
func (db *DB) SearchOrganizations(ctx context.Context, projectID string, q auth.OrganizationQuery) (*auth.OrganizationPage, error) {
	return nil, errTODO
}
func (db *DB) CountMembers(ctx context.Context, projectID, orgID string) (int, error) {
	return 0, errTODO
}
func (db *DB) OrganizationsByAllowedDomain(ctx context.Context, projectID, domain string) ([]*auth.Organization, error) {
	return nil, errTODO
}
func (db *DB) CreateMember(ctx context.Context, m *auth.Member) error { return errTODO }
func (db *DB) FindMember(ctx context.Context, projectID, orgID, ref string) (*auth.Member, error) {
	return nil, errTODO
}
func (db *DB) FindMemberByEmail(ctx context.Context, projectID, orgID, email string) (*auth.Member, error) {
	return nil, errTODO
}
func (db *DB) FindOrgMember(ctx context.Context, projectID, orgRef, memberRef string) (*auth.Organization, *auth.Member, error) {
	return nil, nil, errTODO
}
func (db *DB) FindMemberAnyOrg(ctx context.Context, projectID, memberID string) (*auth.Member, *auth.Organization, error) {
	return nil, nil, errTODO
}
func (db *DB) UpdateMember(ctx context.Context, m *auth.Member) error { return errTODO }
func (db *DB) SearchMembers(ctx context.Context, projectID string, q auth.MemberQuery) (*auth.MemberPage, error) {
	return nil, errTODO
}
func (db *DB) MembershipsByEmail(ctx context.Context, projectID, email string) ([]*auth.Member, []*auth.Organization, error) {
	return nil, nil, errTODO
}
func (db *DB) RevokeMemberSessions(ctx context.Context, projectID, memberID string) (int, error) {
	return 0, errTODO
}
func (db *DB) ListMemberSessions(ctx context.Context, projectID, memberID string) ([]*auth.Session, [][]byte, error) {
	return nil, nil, errTODO
}
func (db *DB) CreateIntermediateSession(ctx context.Context, ist *auth.IntermediateSession) error {
	return errTODO
}
func (db *DB) FindIntermediateSession(ctx context.Context, projectID string, hashes [][]byte) (*auth.IntermediateSession, error) {
	return nil, errTODO
}
func (db *DB) ConsumeIntermediateSession(ctx context.Context, projectID, istID string) error {
	return errTODO
}
func (db *DB) ConsumeMemberChallenge(ctx context.Context, projectID, challengeID, istID string, upd auth.MemberMFAUpdate) (*auth.Member, error) {
	return nil, errTODO
}
func (db *DB) ConsumeB2BMagicLink(ctx context.Context, projectID string, hashes [][]byte, verifierChallenge string, upd auth.MemberMFAUpdate) (*auth.MagicLink, *auth.Member, error) {
	return nil, nil, errTODO
}
func (db *DB) RevokeMemberInvites(ctx context.Context, projectID, memberID string) (int, error) {
	return 0, errTODO
}
