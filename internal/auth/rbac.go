package auth

import (
	"context"
	"slices"
	"strings"
)

// This file holds the B2B access rules: which roles a member holds, and
// whether the member named by a session header may act on an organization
// or one of its members. Only the built-in roles exist: RoleMember (every
// member) and RoleAdmin (settings and other members).

// memberRoles returns m's roles with their sources: RoleMember (direct)
// always, m's direct RoleIDs, and o's email-domain assignments whose
// domain is m's email domain. A role held by several sources appears once
// with each source; RoleMember first, then by role id. o may be nil (no
// email-domain roles).
func memberRoles(m *Member, o *Organization) []MemberRole {
	roles := []MemberRole{{RoleID: RoleMember, Sources: []string{RoleSourceDirect}}}
	add := func(roleID, source string) {
		for i := range roles {
			if roles[i].RoleID == roleID {
				if !slices.Contains(roles[i].Sources, source) {
					roles[i].Sources = append(roles[i].Sources, source)
				}
				return
			}
		}
		roles = append(roles, MemberRole{RoleID: roleID, Sources: []string{source}})
	}
	for _, id := range m.RoleIDs {
		add(id, RoleSourceDirect)
	}
	if o != nil {
		domain := emailDomain(m.EmailAddress)
		for _, a := range o.RBACEmailImplicitRoleAssignments {
			if domain != "" && strings.EqualFold(a.Domain, domain) {
				add(a.RoleID, RoleSourceEmail)
			}
		}
	}
	slices.SortStableFunc(roles[1:], func(a, b MemberRole) int { return strings.Compare(a.RoleID, b.RoleID) })
	return roles
}

// forbidden is the refusal of a member-session caller.
func forbidden() *Error {
	return Errorf(EForbidden, "The member session is not authorized to perform this action.")
}

// callerMember resolves a member-session caller to its session and its
// member, which must belong to org and not be deleted. The zero Caller
// returns (nil, nil, nil). Returns EForbidden (another organization, or a
// deleted member), ESessionNotFound (unknown, ended or consumer session),
// EJWTInvalid, ETooManySessionArgs.
func (s *Service) callerMember(ctx context.Context, p *Project, org *Organization, caller Caller) (*Session, *Member, error) {
	if caller.IsProject() {
		return nil, nil, nil
	}
	sess, err := s.findMemberSession(ctx, p, caller.SessionToken, caller.SessionJWT)
	if err != nil {
		return nil, nil, err
	}
	m, err := s.memberOfSession(ctx, p, org, sess)
	if err != nil {
		return nil, nil, err
	}
	return sess, m, nil
}

// memberOfSession returns the member of a member session, which must
// belong to org and not be deleted. EForbidden.
func (s *Service) memberOfSession(ctx context.Context, p *Project, org *Organization, sess *Session) (*Member, error) {
	if org == nil || sess.OrganizationID != org.ID {
		return nil, forbidden()
	}
	m, err := s.store.FindMember(ctx, p.ID, org.ID, sess.MemberID)
	if ErrorCode(err) == EMemberNotFound {
		return nil, forbidden()
	}
	if err != nil {
		return nil, err
	}
	if m.Status == MemberDeleted {
		return nil, forbidden()
	}
	return m, nil
}

// authorize checks that caller may act on org: the zero Caller (the
// project secret) always may; a member-session caller must be a live
// member of org and an admin of it, or, when !needAdmin, act on the whole
// organization (targetMemberID "") or on itself (targetMemberID its id).
// Returns EForbidden, ESessionNotFound, EJWTInvalid, ETooManySessionArgs.
func (s *Service) authorize(ctx context.Context, p *Project, org *Organization, caller Caller, needAdmin bool, targetMemberID string) error {
	_, who, err := s.callerMember(ctx, p, org, caller)
	if err != nil || who == nil {
		return err
	}
	if who.IsAdmin(org) {
		return nil
	}
	if !needAdmin && (targetMemberID == "" || targetMemberID == who.ID) {
		return nil
	}
	return forbidden()
}
