package auth

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
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
	// TOTPRegistrationID is the member's verified TOTP registration, ""
	// when none (filled by the store; UpdateMember does not write it).
	TOTPRegistrationID string

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

// Limits on member fields.
const maxMemberName = 256

// normalizeRoleIDs checks the direct roles of a member and returns them
// without duplicates (nil stays nil: unchanged). RoleMember, which every
// member holds anyway, is dropped; RoleAdmin is the only other role
// (there are no custom roles), so any other id is EInvalid.
func normalizeRoleIDs(ids []string) ([]string, error) {
	if ids == nil {
		return nil, nil
	}
	if len(ids) > maxListLen {
		return nil, Invalid("roles", "roles may have at most %d entries.", maxListLen)
	}
	out := []string{}
	for _, id := range ids {
		switch id {
		case RoleMember:
		case RoleAdmin:
			if !slices.Contains(out, id) {
				out = append(out, id)
			}
		default:
			if err := validText("roles", id); err != nil {
				return nil, err
			}
			return nil, Invalid("roles", "Role %q does not exist.", truncate(id, maxExternalID))
		}
	}
	return out, nil
}

// memberChanges are the normalized values of a MemberInput.
type memberChanges struct {
	email string   // when EmailAddress is set
	phone string   // when MFAPhoneNumber is set; "" removes
	roles []string // nil: unchanged
}

// checkMemberInput validates every set field of in and returns the
// normalized email, phone and roles. EInvalid, EInvalidEmail,
// EInvalidPhone, each with Field set.
func checkMemberInput(in *MemberInput) (memberChanges, error) {
	var c memberChanges
	if in.EmailAddress != nil {
		if strings.TrimSpace(*in.EmailAddress) == "" {
			return c, &Error{Code: EInvalidEmail, Field: "email_address", Message: "email_address is required."}
		}
		addr, err := NormalizeEmail(*in.EmailAddress)
		if err != nil {
			return c, &Error{Code: EInvalidEmail, Field: "email_address", Message: ErrorMessage(err)}
		}
		c.email = addr
	}
	if in.Name != nil {
		if err := validLength("name", *in.Name, maxMemberName); err != nil {
			return c, err
		}
	}
	if err := validMetadata("trusted_metadata", in.TrustedMetadata); err != nil {
		return c, err
	}
	if err := validMetadata("untrusted_metadata", in.UntrustedMetadata); err != nil {
		return c, err
	}
	if in.MFAPhoneNumber != nil && strings.TrimSpace(*in.MFAPhoneNumber) != "" {
		num, err := NormalizePhone(*in.MFAPhoneNumber)
		if err != nil {
			return c, &Error{Code: EInvalidPhone, Field: "mfa_phone_number", Message: ErrorMessage(err)}
		}
		c.phone = num
	}
	if in.DefaultMFAMethod != nil {
		if err := validSetting("default_mfa_method", *in.DefaultMFAMethod, "", MFAMethodSMS, MFAMethodTOTP); err != nil {
			return c, err
		}
	}
	if in.ExternalID != nil {
		if err := validLength("external_id", *in.ExternalID, maxExternalID); err != nil {
			return c, err
		}
	}
	var err error
	if c.roles, err = normalizeRoleIDs(in.RoleIDs); err != nil {
		return c, err
	}
	return c, nil
}

// validMemberRef checks a member id or external id.
func validMemberRef(ref string) error {
	return validID("member_id", ref, EInvalid)
}

// findOrgMember checks both refs and returns the organization and its
// member (deleted ones included). EInvalid, EOrganizationNotFound,
// EMemberNotFound.
func (s *Service) findOrgMember(ctx context.Context, p *Project, orgRef, memberRef string) (*Organization, *Member, error) {
	if err := validOrgRef(orgRef); err != nil {
		return nil, nil, err
	}
	if err := validMemberRef(memberRef); err != nil {
		return nil, nil, err
	}
	return s.store.FindOrgMember(ctx, p.ID, orgRef, memberRef)
}

// deletedMember is the refusal of an action on a deleted member.
func deletedMember() *Error {
	return &Error{Code: EMemberDeleted, Field: "member_id", Message: "The member is deleted; reactivate it first."}
}

// CreateMember adds a member to the organization (by id, slug or external
// id): active, or pending with CreatePending; its email unverified, its
// MFA phone (if any) unverified. With a member-session caller, the caller
// must be an admin of the organization. Returns EInvalid, EInvalidEmail,
// EInvalidPhone (Field set), EOrganizationNotFound, EDuplicateMemberEmail,
// EDuplicateExternalID, and for a caller EForbidden, ESessionNotFound,
// EJWTInvalid, ETooManySessionArgs.
func (s *Service) CreateMember(ctx context.Context, p *Project, orgRef string, in MemberInput, caller Caller) (*Member, *Organization, error) {
	if err := validOrgRef(orgRef); err != nil {
		return nil, nil, err
	}
	if in.EmailAddress == nil {
		return nil, nil, &Error{Code: EInvalidEmail, Field: "email_address", Message: "email_address is required."}
	}
	c, err := checkMemberInput(&in)
	if err != nil {
		return nil, nil, err
	}
	org, err := s.store.FindOrganization(ctx, p.ID, orgRef)
	if err != nil {
		return nil, nil, err
	}
	if err := s.authorize(ctx, p, org, caller, true, ""); err != nil {
		return nil, nil, err
	}
	m := &Member{
		ID: NewID(PrefixMember, p), ProjectID: p.ID, OrganizationID: org.ID,
		EmailAddress: c.email, EmailID: NewID(PrefixMemberEmail, p), Status: MemberActive,
		RoleIDs: c.roles, TrustedMetadata: orEmptyObject(in.TrustedMetadata), UntrustedMetadata: orEmptyObject(in.UntrustedMetadata),
	}
	if m.RoleIDs == nil {
		m.RoleIDs = []string{}
	}
	if in.CreatePending {
		m.Status = MemberPending
	}
	if in.Name != nil {
		m.Name = *in.Name
	}
	if in.ExternalID != nil {
		m.ExternalID = *in.ExternalID
	}
	if in.IsBreakglass != nil {
		m.IsBreakglass = *in.IsBreakglass
	}
	if in.MFAEnrolled != nil {
		m.MFAEnrolled = *in.MFAEnrolled
	}
	if in.DefaultMFAMethod != nil {
		m.DefaultMFAMethod = *in.DefaultMFAMethod
	}
	if c.phone != "" {
		m.MFAPhoneNumber, m.MFAPhoneID = c.phone, NewID(PrefixMemberPhone, p)
	}
	if err := s.store.CreateMember(ctx, m); err != nil {
		return nil, nil, err
	}
	return m, org, nil
}

// GetMember returns a member of the organization by member id or external
// id (memberRef), or, when memberRef is "", by email: exactly one is
// required. Deleted members are not found here (see DangerouslyGetMember).
// Returns EInvalid, EInvalidEmail, EOrganizationNotFound, EMemberNotFound.
func (s *Service) GetMember(ctx context.Context, p *Project, orgRef, memberRef, email string) (*Member, *Organization, error) {
	var (
		m   *Member
		org *Organization
		err error
	)
	switch {
	case memberRef != "" && email != "":
		return nil, nil, Invalid("member_id", "Only one of member_id and email_address may be given.")
	case memberRef != "":
		if org, m, err = s.findOrgMember(ctx, p, orgRef, memberRef); err != nil {
			return nil, nil, err
		}
	case email != "":
		if err := validOrgRef(orgRef); err != nil {
			return nil, nil, err
		}
		addr, err := NormalizeEmail(email)
		if err != nil {
			return nil, nil, &Error{Code: EInvalidEmail, Field: "email_address", Message: ErrorMessage(err)}
		}
		if org, err = s.store.FindOrganization(ctx, p.ID, orgRef); err != nil {
			return nil, nil, err
		}
		if m, err = s.store.FindMemberByEmail(ctx, p.ID, org.ID, addr); err != nil {
			return nil, nil, err
		}
	default:
		return nil, nil, Invalid("member_id", "One of member_id and email_address is required.")
	}
	if m.Status == MemberDeleted {
		return nil, nil, Errorf(EMemberNotFound, "Member could not be found.")
	}
	return m, org, nil
}

// UpdateMember changes the set fields of in. A new email is unverified
// and gets a new EmailID; a new MFA phone is unverified and gets a new
// MFAPhoneID, and "" removes the phone. Changing the email or removing a
// direct role (stytch_admin) revokes the member's sessions unless
// PreserveExistingSessions. With a member-session caller, the caller must
// be an admin of the organization, or the member itself changing neither
// its roles, is_breakglass, email, external_id nor trusted_metadata.
// Returns EInvalid, EInvalidEmail, EInvalidPhone, EOrganizationNotFound,
// EMemberNotFound, EMemberDeleted, EDuplicateMemberEmail,
// EDuplicateExternalID, and for a caller EForbidden, ESessionNotFound,
// EJWTInvalid, ETooManySessionArgs.
func (s *Service) UpdateMember(ctx context.Context, p *Project, orgRef, memberRef string, in MemberInput, caller Caller) (*Member, *Organization, error) {
	c, err := checkMemberInput(&in)
	if err != nil {
		return nil, nil, err
	}
	org, m, err := s.findOrgMember(ctx, p, orgRef, memberRef)
	if err != nil {
		return nil, nil, err
	}
	_, who, err := s.callerMember(ctx, p, org, caller)
	if err != nil {
		return nil, nil, err
	}
	if who != nil && !who.IsAdmin(org) {
		selfOnly := (in.RoleIDs != nil && !sameSet(c.roles, m.RoleIDs)) ||
			(in.IsBreakglass != nil && *in.IsBreakglass != m.IsBreakglass) ||
			(in.EmailAddress != nil && c.email != m.EmailAddress) ||
			(in.ExternalID != nil && *in.ExternalID != m.ExternalID) ||
			in.TrustedMetadata != nil
		if who.ID != m.ID || selfOnly {
			return nil, nil, forbidden()
		}
	}
	if m.Status == MemberDeleted {
		return nil, nil, deletedMember()
	}
	n := *m
	revoke, emailChanged := false, false
	if in.EmailAddress != nil && c.email != m.EmailAddress {
		n.EmailAddress, n.EmailVerified, n.EmailID = c.email, false, NewID(PrefixMemberEmail, p)
		revoke, emailChanged = true, true
	}
	if in.Name != nil {
		n.Name = *in.Name
	}
	if in.TrustedMetadata != nil {
		n.TrustedMetadata = in.TrustedMetadata
	}
	if in.UntrustedMetadata != nil {
		n.UntrustedMetadata = in.UntrustedMetadata
	}
	if in.IsBreakglass != nil {
		n.IsBreakglass = *in.IsBreakglass
	}
	if in.MFAPhoneNumber != nil && c.phone != m.MFAPhoneNumber {
		n.MFAPhoneNumber, n.MFAPhoneVerified, n.MFAPhoneID = c.phone, false, ""
		if c.phone != "" {
			n.MFAPhoneID = NewID(PrefixMemberPhone, p)
		}
	}
	if in.MFAEnrolled != nil {
		n.MFAEnrolled = *in.MFAEnrolled
	}
	if in.DefaultMFAMethod != nil {
		n.DefaultMFAMethod = *in.DefaultMFAMethod
	}
	if in.ExternalID != nil {
		n.ExternalID = *in.ExternalID
	}
	if c.roles != nil {
		for _, r := range m.RoleIDs {
			if !slices.Contains(c.roles, r) {
				revoke = true
			}
		}
		n.RoleIDs = c.roles
	}
	if err := s.store.UpdateMember(ctx, &n); err != nil {
		return nil, nil, err
	}
	if emailChanged {
		if _, err := s.store.RevokeMemberInvites(ctx, p.ID, n.ID); err != nil {
			return nil, nil, err
		}
	}
	if revoke && !in.PreserveExistingSessions {
		if _, err := s.store.RevokeMemberSessions(ctx, p.ID, n.ID); err != nil {
			return nil, nil, err
		}
	}
	return &n, org, nil
}

// sameSet reports whether a and b hold the same strings.
func sameSet(a, b []string) bool {
	for _, v := range a {
		if !slices.Contains(b, v) {
			return false
		}
	}
	for _, v := range b {
		if !slices.Contains(a, v) {
			return false
		}
	}
	return true
}

// DeleteMember soft-deletes a member (status deleted), revokes every
// session and unused invite of it, and returns its id. With a
// member-session caller, the caller must be an admin of the organization.
// Returns EInvalid, EOrganizationNotFound, EMemberNotFound, EMemberDeleted
// (already deleted), and for a caller EForbidden, ESessionNotFound,
// EJWTInvalid, ETooManySessionArgs.
func (s *Service) DeleteMember(ctx context.Context, p *Project, orgRef, memberRef string, caller Caller) (string, error) {
	org, m, err := s.findOrgMember(ctx, p, orgRef, memberRef)
	if err != nil {
		return "", err
	}
	if err := s.authorize(ctx, p, org, caller, true, ""); err != nil {
		return "", err
	}
	if m.Status == MemberDeleted {
		return "", deletedMember()
	}
	m.Status = MemberDeleted
	if err := s.store.UpdateMember(ctx, m); err != nil {
		return "", err
	}
	if _, err := s.store.RevokeMemberSessions(ctx, p.ID, m.ID); err != nil {
		return "", err
	}
	if _, err := s.store.RevokeMemberInvites(ctx, p.ID, m.ID); err != nil {
		return "", err
	}
	return m.ID, nil
}

// ReactivateMember turns a deleted member active again. With a
// member-session caller, the caller must be an admin of the organization.
// Returns EInvalid (the member is not deleted), EOrganizationNotFound,
// EMemberNotFound, and for a caller EForbidden, ESessionNotFound,
// EJWTInvalid, ETooManySessionArgs.
func (s *Service) ReactivateMember(ctx context.Context, p *Project, orgRef, memberRef string, caller Caller) (*Member, *Organization, error) {
	org, m, err := s.findOrgMember(ctx, p, orgRef, memberRef)
	if err != nil {
		return nil, nil, err
	}
	if err := s.authorize(ctx, p, org, caller, true, ""); err != nil {
		return nil, nil, err
	}
	if m.Status != MemberDeleted {
		return nil, nil, Invalid("member_id", "The member is not deleted.")
	}
	m.Status = MemberActive
	if err := s.store.UpdateMember(ctx, m); err != nil {
		return nil, nil, err
	}
	return m, org, nil
}

// DeleteMemberMFAPhone removes the member's MFA phone and its
// verification (a member without one is returned unchanged). The phone
// being the only MFA factor (no verified TOTP), the member is no longer mfa_enrolled unless
// the organization is REQUIRED_FOR_ALL, and an sms_otp default MFA method
// is cleared. Live sessions are kept. With a member-session caller, the
// caller must be an admin of the organization or the member itself.
// Returns EInvalid, EOrganizationNotFound, EMemberNotFound,
// EMemberDeleted, and for a caller EForbidden, ESessionNotFound,
// EJWTInvalid, ETooManySessionArgs.
func (s *Service) DeleteMemberMFAPhone(ctx context.Context, p *Project, orgRef, memberRef string, caller Caller) (*Member, *Organization, error) {
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
	if m.MFAPhoneNumber == "" && m.MFAPhoneID == "" {
		return m, org, nil
	}
	m.MFAPhoneNumber, m.MFAPhoneID, m.MFAPhoneVerified = "", "", false
	if org.MFAPolicy != MFARequiredForAll && m.TOTPRegistrationID == "" {
		m.MFAEnrolled = false
	}
	if m.DefaultMFAMethod == MFAMethodSMS {
		m.DefaultMFAMethod = ""
	}
	if err := s.store.UpdateMember(ctx, m); err != nil {
		return nil, nil, err
	}
	return m, org, nil
}

// SearchMembers returns one page of the members of q.OrganizationIDs
// (organization ids, required, at most 100, each of the project) with
// those organizations by id. With a member-session caller, every
// organization must be the caller's. Returns EInvalid (Field names the
// filter), EOrganizationNotFound, and for a caller EForbidden,
// ESessionNotFound, EJWTInvalid, ETooManySessionArgs.
func (s *Service) SearchMembers(ctx context.Context, p *Project, q MemberQuery, caller Caller) (*MemberPage, map[string]*Organization, error) {
	if len(q.OrganizationIDs) == 0 {
		return nil, nil, Invalid("organization_ids", "organization_ids is required.")
	}
	if len(q.OrganizationIDs) > maxListLen {
		return nil, nil, Invalid("organization_ids", "organization_ids may have at most %d entries.", maxListLen)
	}
	ids := make([]string, 0, len(q.OrganizationIDs))
	for _, id := range q.OrganizationIDs {
		if err := validID("organization_ids", id, EInvalid); err != nil {
			return nil, nil, err
		}
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	q.OrganizationIDs = ids
	if err := validPage(&q.Limit, q.Cursor); err != nil {
		return nil, nil, err
	}
	for field, l := range map[string][]string{
		"member_ids": q.MemberIDs, "member_emails": q.MemberEmails, "member_phone_numbers": q.MemberPhoneNumbers,
		"member_mfa_phone_numbers": q.MemberMFAPhoneNumbers,
	} {
		if err := validSearchList(field, l); err != nil {
			return nil, nil, err
		}
	}
	for field, v := range map[string]string{
		"member_email_fuzzy": q.MemberEmailFuzzy, "member_phone_number_fuzzy": q.MemberPhoneNumberFuzzy,
		"member_mfa_phone_number_fuzzy": q.MemberMFAPhoneNumberFuzz,
	} {
		if err := validFuzzy(field, v); err != nil {
			return nil, nil, err
		}
	}
	if len(q.Statuses) > maxListLen {
		return nil, nil, Invalid("statuses", "statuses may have at most %d entries.", maxListLen)
	}
	for _, st := range q.Statuses {
		if err := validSetting("statuses", string(st), string(MemberActive), string(MemberPending), string(MemberInvited), string(MemberDeleted)); err != nil {
			return nil, nil, err
		}
	}
	q.MemberEmails = lowerAll(q.MemberEmails)
	q.MemberPhoneNumbers = normalizePhones(q.MemberPhoneNumbers)
	q.MemberMFAPhoneNumbers = normalizePhones(q.MemberMFAPhoneNumbers)

	var sess *Session
	if !caller.IsProject() {
		var err error
		if sess, err = s.findMemberSession(ctx, p, caller.SessionToken, caller.SessionJWT); err != nil {
			return nil, nil, err
		}
		for _, id := range ids {
			if id != sess.OrganizationID {
				return nil, nil, forbidden()
			}
		}
	}
	page, err := s.store.SearchOrganizations(ctx, p.ID, OrganizationQuery{OrganizationIDs: ids, Limit: maxListLen})
	if err != nil {
		return nil, nil, err
	}
	orgs := make(map[string]*Organization, len(page.Organizations))
	for _, o := range page.Organizations {
		orgs[o.ID] = o
	}
	for _, id := range ids {
		if orgs[id] == nil {
			return nil, nil, &Error{Code: EOrganizationNotFound, Field: "organization_ids", Message: "Organization could not be found."}
		}
	}
	if sess != nil {
		if _, err := s.memberOfSession(ctx, p, orgs[sess.OrganizationID], sess); err != nil {
			return nil, nil, err
		}
	}
	members, err := s.store.SearchMembers(ctx, p.ID, q)
	if err != nil {
		return nil, nil, err
	}
	return members, orgs, nil
}

// normalizePhones returns phone numbers in E.164 where they parse, as
// given otherwise (they then match nothing).
func normalizePhones(vs []string) []string {
	if vs == nil {
		return nil
	}
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v
		if num, err := NormalizePhone(v); err == nil {
			out[i] = num
		}
	}
	return out
}

// DangerouslyGetMember returns a member of any organization of the
// project by member id, with its organization; a deleted member only with
// includeDeleted. Returns EInvalid or EMemberNotFound.
func (s *Service) DangerouslyGetMember(ctx context.Context, p *Project, memberID string, includeDeleted bool) (*Member, *Organization, error) {
	if err := validID("member_id", memberID, EInvalid); err != nil {
		return nil, nil, err
	}
	m, org, err := s.store.FindMemberAnyOrg(ctx, p.ID, memberID)
	if err != nil {
		return nil, nil, err
	}
	if m.Status == MemberDeleted && !includeDeleted {
		return nil, nil, Errorf(EMemberNotFound, "Member could not be found.")
	}
	return m, org, nil
}
