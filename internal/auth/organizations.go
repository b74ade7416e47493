package auth

import (
	"context"
	"encoding/json"
	"time"
)

// B2B organization settings. The values are Stytch's; each setting
// documents its default on Organization.
const (
	AllAllowed = "ALL_ALLOWED"
	Restricted = "RESTRICTED"
	NotAllowed = "NOT_ALLOWED"

	MFARequiredForAll = "REQUIRED_FOR_ALL"
	MFAOptional       = "OPTIONAL"

	MFAMethodSMS  = "sms_otp"
	MFAMethodTOTP = "totp"

	AuthMethodMagicLink = "magic_link"
	AuthMethodEmailOTP  = "email_otp"
)

// AuthMethods lists every value allowed_auth_methods accepts.
var AuthMethods = []string{"sso", "magic_link", "email_otp", "password", "google_oauth", "microsoft_oauth", "slack_oauth", "github_oauth", "hubspot_oauth"}

// RoleAssignment grants RoleID to every member whose email is in Domain.
type RoleAssignment struct {
	Domain string `json:"domain"`
	RoleID string `json:"role_id"`
}

// Organization is a B2B tenant inside a project. Members, intermediate
// sessions and member sessions belong to exactly one organization.
type Organization struct {
	ID         string
	ProjectID  string
	Name       string
	Slug       string // unique per project; 2-128 of [A-Za-z0-9-._~]
	LogoURL    string
	ExternalID string // unique per project when not ""
	// TrustedMetadata is a JSON object, never nil after load.
	TrustedMetadata json.RawMessage

	EmailAllowedDomains []string // lower-cased; never a common consumer domain
	// EmailJITProvisioning is RESTRICTED (verified emails of an allowed
	// domain may join) or NOT_ALLOWED (default).
	EmailJITProvisioning string
	// EmailInvites is ALL_ALLOWED (default), RESTRICTED (allowed domains
	// only) or NOT_ALLOWED.
	EmailInvites string
	// AuthMethods is ALL_ALLOWED (default) or RESTRICTED (only
	// AllowedAuthMethods are primary factors; breakglass members exempt).
	AuthMethods        string
	AllowedAuthMethods []string
	// MFAPolicy is OPTIONAL (default: MFA only for mfa_enrolled members) or
	// REQUIRED_FOR_ALL.
	MFAPolicy string
	// MFAMethods is ALL_ALLOWED (default) or RESTRICTED (AllowedMFAMethods).
	MFAMethods        string
	AllowedMFAMethods []string

	// Stored and returned, without effect in Sesame (no SSO, OAuth or
	// connected apps yet). Defaults: SSOJITProvisioning ALL_ALLOWED,
	// OAuthTenantJITProvisioning NOT_ALLOWED, both connected-app types
	// ALL_ALLOWED, lists empty, AllowedOAuthTenants {}.
	SSOJITProvisioning                   string
	SSOJITProvisioningAllowedConnections []string
	SSODefaultConnectionID               string
	RBACEmailImplicitRoleAssignments     []RoleAssignment
	OAuthTenantJITProvisioning           string
	AllowedOAuthTenants                  json.RawMessage // a JSON object, never nil after load
	ClaimedEmailDomains                  []string
	FirstPartyConnectedAppsAllowedType   string
	AllowedFirstPartyConnectedApps       []string
	ThirdPartyConnectedAppsAllowedType   string
	AllowedThirdPartyConnectedApps       []string

	CreatedAt time.Time
	UpdatedAt time.Time
}

// OrganizationInput creates or updates an organization. nil (or a nil
// slice) leaves a setting unchanged on update and at its default on
// create; a non-nil empty slice clears a list.
type OrganizationInput struct {
	Name                                 *string
	Slug                                 *string
	LogoURL                              *string
	ExternalID                           *string
	TrustedMetadata                      json.RawMessage
	EmailAllowedDomains                  []string
	EmailJITProvisioning                 *string
	EmailInvites                         *string
	AuthMethods                          *string
	AllowedAuthMethods                   []string
	MFAPolicy                            *string
	MFAMethods                           *string
	AllowedMFAMethods                    []string
	SSOJITProvisioning                   *string
	SSOJITProvisioningAllowedConnections []string
	SSODefaultConnectionID               *string
	RBACEmailImplicitRoleAssignments     []RoleAssignment
	OAuthTenantJITProvisioning           *string
	AllowedOAuthTenants                  json.RawMessage
	ClaimedEmailDomains                  []string
	FirstPartyConnectedAppsAllowedType   *string
	AllowedFirstPartyConnectedApps       []string
	ThirdPartyConnectedAppsAllowedType   *string
	AllowedThirdPartyConnectedApps       []string
}

// OrganizationQuery filters an organization search (§C.2). Zero fields do
// not filter; filters combine with AND, or OR when Or is set.
type OrganizationQuery struct {
	Or                     bool
	OrganizationIDs        []string
	OrganizationSlugs      []string
	MemberEmails           []string
	AllowedDomains         []string
	ClaimedEmailDomains    []string
	OrganizationNameFuzzy  string
	OrganizationSlugFuzzy  string
	MemberEmailFuzzy       string
	AllowedDomainFuzzy     string
	SSOConnectionID        string // matches nothing: Sesame has no SSO connections
	HasActiveSSOConnection *bool  // true matches nothing, false matches all
	// Cursor is the opaque next_cursor of a previous page; "" starts at the beginning.
	Cursor string
	// Limit is the page size (1..1000); 0 means 100.
	Limit int
}

// OrganizationPage is one page of an organization search, ordered by
// creation time then id (keyset on an index).
type OrganizationPage struct {
	Organizations []*Organization
	Total         int
	NextCursor    string // "" on the last page
}

// OrganizationStore stores organizations. Every method is scoped by project.
type OrganizationStore interface {
	// CreateOrganization inserts o (id set by the caller, timestamps set
	// by the store when zero). EDuplicateSlug, EDuplicateExternalID.
	CreateOrganization(ctx context.Context, o *Organization) error
	// FindOrganization returns the organization whose id, slug or
	// external id is ref (in that order of preference).
	// EOrganizationNotFound.
	FindOrganization(ctx context.Context, projectID, ref string) (*Organization, error)
	// UpdateOrganization stores every field of o (found by o.ID) and sets
	// its UpdatedAt. EOrganizationNotFound, EDuplicateSlug, EDuplicateExternalID.
	UpdateOrganization(ctx context.Context, o *Organization) error
	// DeleteOrganization deletes the organization and, by cascade, its
	// members, their sessions, intermediate sessions, codes and links.
	// EOrganizationNotFound.
	DeleteOrganization(ctx context.Context, projectID, orgID string) error
	// SearchOrganizations returns one page of organizations matching q.
	SearchOrganizations(ctx context.Context, projectID string, q OrganizationQuery) (*OrganizationPage, error)
	// CountMembers returns how many members (deleted excluded) the
	// organization has.
	CountMembers(ctx context.Context, projectID, orgID string) (int, error)
	// OrganizationsByAllowedDomain returns the organizations whose
	// email_allowed_domains contains domain (lower-case), for discovery.
	OrganizationsByAllowedDomain(ctx context.Context, projectID, domain string) ([]*Organization, error)
}
