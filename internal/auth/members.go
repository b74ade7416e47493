package auth

import (
	"context"
	"encoding/json"
	"time"
)

// MemberStatus is a member's place in its lifecycle.
type MemberStatus string

// Member statuses. pending: created (or JIT-provisioned) and never
// authenticated; invited: sent an invite; active: authenticated at least
// once (authenticating a pending or invited member activates it);
// deleted: soft-deleted, can be reactivated.
const (
	MemberActive  MemberStatus = "active"
	MemberPending MemberStatus = "pending"
	MemberInvited MemberStatus = "invited"
	MemberDeleted MemberStatus = "deleted"
)

// Built-in roles: every member has RoleMember; RoleAdmin makes is_admin true.
const (
	RoleMember = "stytch_member"
	RoleAdmin  = "stytch_admin"
)

// Role source types (MemberRole.Sources[].Type).
const (
	RoleSourceDirect = "direct_assignment"
	RoleSourceEmail  = "email_assignment"
)

// MemberRole is a role a member holds and why.
type MemberRole struct {
	RoleID  string
	Sources []string // RoleSourceDirect, RoleSourceEmail
}

// Member is a person's membership of one organization. One email address
// may be a member of many organizations of a project, each a separate
// Member with its own id, status and MFA factors.
type Member struct {
	ID             string
	ProjectID      string
	OrganizationID string
	EmailAddress   string // lower-cased; unique within the organization
	// EmailID identifies the email factor ("member-email-test-…"): the
	// method_id of magic links and email codes.
	EmailID       string
	EmailVerified bool
	Status        MemberStatus
	Name          string
	ExternalID    string // unique per organization when not ""
	IsBreakglass  bool
	// RoleIDs are the directly assigned roles (RoleAdmin among them for an
	// admin). RoleMember is implicit and never stored.
	RoleIDs []string

	MFAPhoneNumber string // E.164, "" when none
	// MFAPhoneID identifies the current MFA phone ("member-phone-number-test-…"):
	// the method_id of its SMS codes. It changes when the number changes.
	MFAPhoneID       string
	MFAPhoneVerified bool
	MFAEnrolled      bool
	DefaultMFAMethod string // "sms_otp", "totp" or ""

	TrustedMetadata   json.RawMessage // a JSON object, never nil after load
	UntrustedMetadata json.RawMessage // a JSON object, never nil after load
	CreatedAt         time.Time
	UpdatedAt         time.Time
}

// Roles returns the member's roles with their sources: RoleMember always,
// the direct assignments, and the org's email-domain assignments that
// match the member's email. Sorted by role id, RoleMember first.
func (m *Member) Roles(o *Organization) []MemberRole {
	return memberRoles(m, o)
}

// IsAdmin reports whether the member holds RoleAdmin by any source.
func (m *Member) IsAdmin(o *Organization) bool {
	for _, r := range m.Roles(o) {
		if r.RoleID == RoleAdmin {
			return true
		}
	}
	return false
}

// MemberInput creates or updates a member; nil leaves a field unchanged
// (update) or at its default (create).
type MemberInput struct {
	EmailAddress      *string
	Name              *string
	TrustedMetadata   json.RawMessage
	UntrustedMetadata json.RawMessage
	CreatePending     bool // create only: status pending instead of active
	IsBreakglass      *bool
	MFAPhoneNumber    *string // "" removes it (update)
	MFAEnrolled       *bool
	DefaultMFAMethod  *string
	RoleIDs           []string // nil unchanged; replaces the direct roles
	ExternalID        *string
	// PreserveExistingSessions keeps the member's sessions when an update
	// removes a role or changes the email. Default false: they are revoked.
	PreserveExistingSessions bool
}

// MemberQuery filters a member search (§C.3) within OrganizationIDs
// (required, non-empty). Zero fields do not filter; AND, or OR when Or.
type MemberQuery struct {
	OrganizationIDs          []string
	Or                       bool
	MemberIDs                []string
	MemberEmails             []string
	Statuses                 []MemberStatus
	MemberPhoneNumbers       []string
	MemberEmailFuzzy         string
	MemberPhoneNumberFuzzy   string
	MemberIsBreakglass       *bool
	MemberMFAPhoneNumbers    []string
	MemberMFAPhoneNumberFuzz string
	Cursor                   string
	Limit                    int // 1..1000; 0 means 100
}

// MemberPage is one page of a member search, ordered by creation time then id.
type MemberPage struct {
	Members    []*Member
	Total      int
	NextCursor string
}

// MemberMFAUpdate is what a successful factor changes on a member, applied
// atomically with the consumption of the code or link.
type MemberMFAUpdate struct {
	Activate         bool   // pending/invited → active
	VerifyEmail      bool   // email_address_verified = true
	VerifyPhone      bool   // mfa_phone_number_verified = true
	SetEnrolled      *bool  // mfa_enrolled
	DefaultMFAMethod string // "" unchanged
}

// MemberStore stores members. Every method is scoped by project.
type MemberStore interface {
	// CreateMember inserts m (ids set by the caller). EOrganizationNotFound,
	// EDuplicateMemberEmail, EDuplicateExternalID.
	CreateMember(ctx context.Context, m *Member) error
	// FindMember returns the organization's member whose id or external id
	// is ref, deleted members included. EMemberNotFound.
	FindMember(ctx context.Context, projectID, orgID, ref string) (*Member, error)
	// FindMemberByEmail returns the organization's member with that
	// (lower-case) email, deleted members included. EMemberNotFound.
	FindMemberByEmail(ctx context.Context, projectID, orgID, email string) (*Member, error)
	// FindOrgMember returns the organization (by id, slug or external id)
	// and its member (by id or external id) in one statement.
	// EOrganizationNotFound, EMemberNotFound.
	FindOrgMember(ctx context.Context, projectID, orgRef, memberRef string) (*Organization, *Member, error)
	// FindMemberAnyOrg returns a member of any organization of the project
	// by id, with its organization. EMemberNotFound.
	FindMemberAnyOrg(ctx context.Context, projectID, memberID string) (*Member, *Organization, error)
	// UpdateMember stores every mutable field of m (found by project, org
	// and id) and sets UpdatedAt. EMemberNotFound, EDuplicateMemberEmail,
	// EDuplicateExternalID.
	UpdateMember(ctx context.Context, m *Member) error
	// SearchMembers returns one page of members of q.OrganizationIDs.
	SearchMembers(ctx context.Context, projectID string, q MemberQuery) (*MemberPage, error)
	// MembershipsByEmail returns every non-deleted member with that email
	// in the project, each with its organization, oldest first (discovery).
	MembershipsByEmail(ctx context.Context, projectID, email string) ([]*Member, []*Organization, error)
	// RevokeMemberSessions ends every live session of the member and
	// returns how many there were.
	RevokeMemberSessions(ctx context.Context, projectID, memberID string) (int, error)
	// ListMemberSessions returns the member's live sessions, newest first,
	// with their encrypted tokens in the same order.
	ListMemberSessions(ctx context.Context, projectID, memberID string) ([]*Session, [][]byte, error)
}
