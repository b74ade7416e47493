package auth

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
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

// Limits on organization fields and searches.
const (
	maxOrgName    = 256
	minSlug       = 2
	maxSlug       = 128
	maxLogoURL    = 2048
	maxListLen    = 100 // entries of any list setting or search filter
	maxFuzzy      = 128 // characters of a fuzzy search filter
	maxDomainLen  = 253
	maxCursorLen  = 1024
	maxSearchItem = 256 // bytes of one entry of a search filter list
)

// commonDomains are the consumer email domains refused in
// email_allowed_domains and claimed_email_domains: letting "anyone at
// gmail.com" join an organization is never what an admin means.
var commonDomains = map[string]bool{
	"gmail.com": true, "googlemail.com": true,
	"yahoo.com": true, "yahoo.co.uk": true, "yahoo.fr": true, "ymail.com": true, "rocketmail.com": true,
	"hotmail.com": true, "hotmail.co.uk": true, "hotmail.fr": true, "outlook.com": true, "live.com": true, "msn.com": true,
	"icloud.com": true, "me.com": true, "mac.com": true,
	"aol.com": true, "proton.me": true, "protonmail.com": true, "pm.me": true,
	"gmx.com": true, "gmx.de": true, "gmx.net": true, "mail.com": true, "web.de": true,
	"yandex.com": true, "yandex.ru": true, "mail.ru": true,
	"zoho.com": true, "qq.com": true, "163.com": true, "126.com": true,
	"fastmail.com": true, "tutanota.com": true, "hey.com": true,
	"comcast.net": true, "verizon.net": true, "att.net": true, "sbcglobal.net": true,
}

// IsCommonDomain reports whether domain (lower-case) is a common consumer
// email domain, which no organization may allow or claim.
func IsCommonDomain(domain string) bool { return commonDomains[domain] }

// emailDomain returns the lower-cased part of addr after its last "@".
func emailDomain(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return ""
	}
	return strings.ToLower(addr[at+1:])
}

// normalizeDomain lower-cases a domain name and checks its syntax: at
// least two dot-separated labels of 1-63 characters of [a-z0-9-], not
// starting or ending with "-", a top-level label that is not all digits.
// With refuseCommon, a common consumer domain is ECommonDomain.
func normalizeDomain(field, d string, refuseCommon bool) (string, error) {
	d = strings.ToLower(strings.TrimSpace(d))
	bad := Invalid(field, "%s must contain valid domain names (e.g. example.com).", field)
	if d == "" || len(d) > maxDomainLen {
		return "", bad
	}
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return "", bad
	}
	for _, l := range labels {
		if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return "", bad
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return "", bad
			}
		}
	}
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return "", bad
	}
	if refuseCommon && commonDomains[d] {
		return "", &Error{Code: ECommonDomain, Field: field, Message: fmt.Sprintf("%s may not contain the common email domain %s.", field, d)}
	}
	return d, nil
}

// normalizeDomains normalizes a list of domains, dropping duplicates.
func normalizeDomains(field string, ds []string, refuseCommon bool) ([]string, error) {
	if len(ds) > maxListLen {
		return nil, Invalid(field, "%s may have at most %d entries.", field, maxListLen)
	}
	out := make([]string, 0, len(ds))
	seen := map[string]bool{}
	for _, d := range ds {
		n, err := normalizeDomain(field, d, refuseCommon)
		if err != nil {
			return nil, err
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out, nil
}

// validSlug checks the slug rules: 2-128 characters of [A-Za-z0-9-._~].
func validSlug(slug string) error {
	if len(slug) < minSlug || len(slug) > maxSlug {
		return &Error{Code: EInvalidOrganizationSlug, Field: "organization_slug", Message: fmt.Sprintf("organization_slug must be %d to %d characters long.", minSlug, maxSlug)}
	}
	for i := 0; i < len(slug); i++ {
		if !slugChar(slug[i]) {
			return &Error{Code: EInvalidOrganizationSlug, Field: "organization_slug", Message: "organization_slug may contain only letters, digits and the characters - . _ ~."}
		}
	}
	return nil
}

func slugChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

// slugFromName derives a slug from an organization name: lower-cased,
// every run of other characters replaced by one "-", no "-" at either
// end (nor "."), at most maxSlug characters. It may be shorter than
// minSlug.
func slugFromName(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if r < utf8.RuneSelf && slugChar(byte(r)) && r != '-' {
			b.WriteRune(r)
			dash = false
			continue
		}
		if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	s := b.String()
	if len(s) > maxSlug {
		s = s[:maxSlug]
	}
	return strings.Trim(s, "-.")
}

// validSetting checks that v is one of allowed.
func validSetting(field, v string, allowed ...string) error {
	if slices.Contains(allowed, v) {
		return nil
	}
	return Invalid(field, "%s must be one of %s.", field, strings.Join(allowed, ", "))
}

// validLength checks the byte length and text of v.
func validLength(field, v string, max int) error {
	if len(v) > max {
		return Invalid(field, "%s must be at most %d characters.", field, max)
	}
	return validText(field, v)
}

// validIDList checks a list of opaque ids (connection ids, app ids) and
// returns it without duplicates, never nil.
func validIDList(field string, ids []string) ([]string, error) {
	if len(ids) > maxListLen {
		return nil, Invalid(field, "%s may have at most %d entries.", field, maxListLen)
	}
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if err := validID(field, id, EInvalid); err != nil {
			return nil, err
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out, nil
}

// validSubset checks that every entry of vs is in allowed and returns vs
// without duplicates, never nil.
func validSubset(field string, vs, allowed []string) ([]string, error) {
	if len(vs) > maxListLen {
		return nil, Invalid(field, "%s may have at most %d entries.", field, maxListLen)
	}
	out := make([]string, 0, len(vs))
	for _, v := range vs {
		if !slices.Contains(allowed, v) {
			return nil, Invalid(field, "%s may contain only %s.", field, strings.Join(allowed, ", "))
		}
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out, nil
}

// validLogoURL accepts "" or an absolute http(s) URL.
func validLogoURL(v string) error {
	if v == "" {
		return nil
	}
	if err := validLength("organization_logo_url", v, maxLogoURL); err != nil {
		return err
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return Invalid("organization_logo_url", "organization_logo_url must be an absolute http or https URL.")
	}
	return nil
}

// validOAuthTenants checks allowed_oauth_tenants: a JSON object mapping
// a provider to a list of tenant ids.
func validOAuthTenants(raw json.RawMessage) error {
	const field = "allowed_oauth_tenants"
	if err := validMetadata(field, raw); err != nil {
		return err
	}
	var m map[string][]string
	if err := json.Unmarshal(raw, &m); err != nil {
		return Invalid(field, "%s must map each provider to a list of tenant ids.", field)
	}
	if len(m) > maxListLen {
		return Invalid(field, "%s may have at most %d providers.", field, maxListLen)
	}
	for _, ids := range m {
		if _, err := validIDList(field, ids); err != nil {
			return err
		}
	}
	return nil
}

// validRoleAssignments checks rbac_email_implicit_role_assignments: each
// a valid domain and an existing role (stytch_admin; stytch_member, held
// by everyone anyway, is dropped). Duplicates are dropped; never nil.
func validRoleAssignments(as []RoleAssignment) ([]RoleAssignment, error) {
	const field = "rbac_email_implicit_role_assignments"
	if len(as) > maxListLen {
		return nil, Invalid(field, "%s may have at most %d entries.", field, maxListLen)
	}
	out := make([]RoleAssignment, 0, len(as))
	for _, a := range as {
		d, err := normalizeDomain(field, a.Domain, false)
		if err != nil {
			return nil, err
		}
		switch a.RoleID {
		case RoleMember:
			continue
		case RoleAdmin:
		default:
			if err := validText(field, a.RoleID); err != nil {
				return nil, err
			}
			return nil, Invalid(field, "Role %q does not exist.", truncate(a.RoleID, maxExternalID))
		}
		ra := RoleAssignment{Domain: d, RoleID: a.RoleID}
		if !slices.Contains(out, ra) {
			out = append(out, ra)
		}
	}
	return out, nil
}

// truncate cuts s to at most n bytes, on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// defaultOrganization returns an organization of p with every setting at
// its documented default and every list empty.
func defaultOrganization(p *Project) *Organization {
	return &Organization{
		ID: NewID(PrefixOrganization, p), ProjectID: p.ID,
		TrustedMetadata:                      json.RawMessage(`{}`),
		EmailAllowedDomains:                  []string{},
		EmailJITProvisioning:                 NotAllowed,
		EmailInvites:                         AllAllowed,
		AuthMethods:                          AllAllowed,
		AllowedAuthMethods:                   []string{},
		MFAPolicy:                            MFAOptional,
		MFAMethods:                           AllAllowed,
		AllowedMFAMethods:                    []string{},
		SSOJITProvisioning:                   AllAllowed,
		SSOJITProvisioningAllowedConnections: []string{},
		RBACEmailImplicitRoleAssignments:     []RoleAssignment{},
		OAuthTenantJITProvisioning:           NotAllowed,
		AllowedOAuthTenants:                  json.RawMessage(`{}`),
		ClaimedEmailDomains:                  []string{},
		FirstPartyConnectedAppsAllowedType:   AllAllowed,
		AllowedFirstPartyConnectedApps:       []string{},
		ThirdPartyConnectedAppsAllowedType:   AllAllowed,
		AllowedThirdPartyConnectedApps:       []string{},
	}
}

// newOrganization validates in and returns a new organization of p (not
// yet stored) with its id set and every unset setting at its default. The
// slug, when unset, is derived from the name. EInvalid,
// EInvalidOrganizationSlug, ECommonDomain.
func newOrganization(p *Project, in OrganizationInput) (*Organization, error) {
	if in.Name == nil || strings.TrimSpace(*in.Name) == "" {
		return nil, Invalid("organization_name", "organization_name is required.")
	}
	o := defaultOrganization(p)
	if in.Slug == nil {
		slug := slugFromName(*in.Name)
		if len(slug) < minSlug {
			return nil, &Error{Code: EInvalidOrganizationSlug, Field: "organization_slug", Message: "organization_slug is required: no slug of at least 2 letters or digits can be derived from organization_name."}
		}
		in.Slug = &slug
	}
	if err := applyOrganizationInput(o, in); err != nil {
		return nil, err
	}
	return o, nil
}

// applyOrganizationInput validates every set field of in and copies it
// into o. Nothing of o changes when it returns an error.
func applyOrganizationInput(o *Organization, in OrganizationInput) error {
	n := *o
	var err error
	if in.Name != nil {
		if strings.TrimSpace(*in.Name) == "" {
			return Invalid("organization_name", "organization_name must not be empty.")
		}
		if err := validLength("organization_name", *in.Name, maxOrgName); err != nil {
			return err
		}
		n.Name = *in.Name
	}
	if in.Slug != nil {
		if err := validSlug(*in.Slug); err != nil {
			return err
		}
		n.Slug = *in.Slug
	}
	if in.LogoURL != nil {
		if err := validLogoURL(*in.LogoURL); err != nil {
			return err
		}
		n.LogoURL = *in.LogoURL
	}
	if in.ExternalID != nil {
		if err := validLength("organization_external_id", *in.ExternalID, maxExternalID); err != nil {
			return err
		}
		n.ExternalID = *in.ExternalID
	}
	if in.TrustedMetadata != nil {
		if err := validMetadata("trusted_metadata", in.TrustedMetadata); err != nil {
			return err
		}
		n.TrustedMetadata = in.TrustedMetadata
	}
	if in.AllowedOAuthTenants != nil {
		if err := validOAuthTenants(in.AllowedOAuthTenants); err != nil {
			return err
		}
		n.AllowedOAuthTenants = in.AllowedOAuthTenants
	}
	settings := []struct {
		field   string
		in      *string
		dst     *string
		allowed []string
	}{
		{"email_jit_provisioning", in.EmailJITProvisioning, &n.EmailJITProvisioning, []string{Restricted, NotAllowed}},
		{"email_invites", in.EmailInvites, &n.EmailInvites, []string{AllAllowed, Restricted, NotAllowed}},
		{"auth_methods", in.AuthMethods, &n.AuthMethods, []string{AllAllowed, Restricted}},
		{"mfa_policy", in.MFAPolicy, &n.MFAPolicy, []string{MFARequiredForAll, MFAOptional}},
		{"mfa_methods", in.MFAMethods, &n.MFAMethods, []string{AllAllowed, Restricted}},
		{"sso_jit_provisioning", in.SSOJITProvisioning, &n.SSOJITProvisioning, []string{AllAllowed, Restricted, NotAllowed}},
		{"oauth_tenant_jit_provisioning", in.OAuthTenantJITProvisioning, &n.OAuthTenantJITProvisioning, []string{Restricted, NotAllowed}},
		{"first_party_connected_apps_allowed_type", in.FirstPartyConnectedAppsAllowedType, &n.FirstPartyConnectedAppsAllowedType, []string{AllAllowed, Restricted, NotAllowed}},
		{"third_party_connected_apps_allowed_type", in.ThirdPartyConnectedAppsAllowedType, &n.ThirdPartyConnectedAppsAllowedType, []string{AllAllowed, Restricted, NotAllowed}},
	}
	for _, s := range settings {
		if s.in == nil {
			continue
		}
		if err := validSetting(s.field, *s.in, s.allowed...); err != nil {
			return err
		}
		*s.dst = *s.in
	}
	if in.SSODefaultConnectionID != nil {
		if *in.SSODefaultConnectionID != "" {
			if err := validID("sso_default_connection_id", *in.SSODefaultConnectionID, EInvalid); err != nil {
				return err
			}
		}
		n.SSODefaultConnectionID = *in.SSODefaultConnectionID
	}
	if in.EmailAllowedDomains != nil {
		if n.EmailAllowedDomains, err = normalizeDomains("email_allowed_domains", in.EmailAllowedDomains, true); err != nil {
			return err
		}
	}
	if in.ClaimedEmailDomains != nil {
		if n.ClaimedEmailDomains, err = normalizeDomains("claimed_email_domains", in.ClaimedEmailDomains, true); err != nil {
			return err
		}
	}
	if in.AllowedAuthMethods != nil {
		if n.AllowedAuthMethods, err = validSubset("allowed_auth_methods", in.AllowedAuthMethods, AuthMethods); err != nil {
			return err
		}
	}
	if in.AllowedMFAMethods != nil {
		if n.AllowedMFAMethods, err = validSubset("allowed_mfa_methods", in.AllowedMFAMethods, []string{MFAMethodSMS, MFAMethodTOTP}); err != nil {
			return err
		}
	}
	if in.RBACEmailImplicitRoleAssignments != nil {
		if n.RBACEmailImplicitRoleAssignments, err = validRoleAssignments(in.RBACEmailImplicitRoleAssignments); err != nil {
			return err
		}
	}
	ids := []struct {
		field string
		in    []string
		dst   *[]string
	}{
		{"sso_jit_provisioning_allowed_connections", in.SSOJITProvisioningAllowedConnections, &n.SSOJITProvisioningAllowedConnections},
		{"allowed_first_party_connected_apps", in.AllowedFirstPartyConnectedApps, &n.AllowedFirstPartyConnectedApps},
		{"allowed_third_party_connected_apps", in.AllowedThirdPartyConnectedApps, &n.AllowedThirdPartyConnectedApps},
	}
	for _, l := range ids {
		if l.in == nil {
			continue
		}
		if *l.dst, err = validIDList(l.field, l.in); err != nil {
			return err
		}
	}
	*o = n
	return nil
}

// validOrgRef checks an organization id, slug or external id.
func validOrgRef(ref string) error {
	return validID("organization_id", ref, EInvalid)
}

// CreateOrganization validates in and creates an organization with every
// unset setting at its default (documented on Organization); the slug,
// when unset, is derived from the name. Returns EInvalid (Field names the
// setting), EInvalidOrganizationSlug, ECommonDomain (a consumer domain in
// email_allowed_domains or claimed_email_domains), EDuplicateSlug,
// EDuplicateExternalID.
func (s *Service) CreateOrganization(ctx context.Context, p *Project, in OrganizationInput) (*Organization, error) {
	o, err := newOrganization(p, in)
	if err != nil {
		return nil, err
	}
	if err := s.store.CreateOrganization(ctx, o); err != nil {
		return nil, err
	}
	return o, nil
}

// GetOrganization returns an organization by id, slug or external id.
// Returns EInvalid (malformed ref) or EOrganizationNotFound.
func (s *Service) GetOrganization(ctx context.Context, p *Project, ref string) (*Organization, error) {
	if err := validOrgRef(ref); err != nil {
		return nil, err
	}
	return s.store.FindOrganization(ctx, p.ID, ref)
}

// UpdateOrganization changes the set fields of in; unset ones keep their
// value. With a member-session caller, the caller must be an admin of the
// organization. Returns EInvalid, EInvalidOrganizationSlug, ECommonDomain,
// EOrganizationNotFound, EDuplicateSlug, EDuplicateExternalID, and for a
// caller EForbidden, ESessionNotFound, EJWTInvalid, ETooManySessionArgs.
func (s *Service) UpdateOrganization(ctx context.Context, p *Project, ref string, in OrganizationInput, caller Caller) (*Organization, error) {
	o, err := s.GetOrganization(ctx, p, ref)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, p, o, caller, true, ""); err != nil {
		return nil, err
	}
	if err := applyOrganizationInput(o, in); err != nil {
		return nil, err
	}
	if err := s.store.UpdateOrganization(ctx, o); err != nil {
		return nil, err
	}
	return o, nil
}

// DeleteOrganization deletes the organization with its members, their
// sessions, intermediate sessions, codes and links, and returns its id.
// With a member-session caller, the caller must be an admin of it.
// Returns EInvalid, EOrganizationNotFound, and for a caller EForbidden,
// ESessionNotFound, EJWTInvalid, ETooManySessionArgs.
func (s *Service) DeleteOrganization(ctx context.Context, p *Project, ref string, caller Caller) (string, error) {
	o, err := s.GetOrganization(ctx, p, ref)
	if err != nil {
		return "", err
	}
	if err := s.authorize(ctx, p, o, caller, true, ""); err != nil {
		return "", err
	}
	if err := s.store.DeleteOrganization(ctx, p.ID, o.ID); err != nil {
		return "", err
	}
	return o.ID, nil
}

// validSearchList checks one list filter of a search.
func validSearchList(field string, vs []string) error {
	if len(vs) > maxListLen {
		return Invalid(field, "%s may have at most %d entries.", field, maxListLen)
	}
	for _, v := range vs {
		if err := validLength(field, v, maxSearchItem); err != nil {
			return err
		}
	}
	return nil
}

// validFuzzy checks one fuzzy filter of a search.
func validFuzzy(field, v string) error {
	if len(v) > maxFuzzy {
		return Invalid(field, "%s must be at most %d characters.", field, maxFuzzy)
	}
	return validText(field, v)
}

// validPage checks a search's limit (0 becomes 100) and cursor.
func validPage(limit *int, cursor string) error {
	if *limit < 0 || *limit > 1000 {
		return Invalid("limit", "limit must be between 1 and 1000.")
	}
	if *limit == 0 {
		*limit = 100
	}
	return validLength("cursor", cursor, maxCursorLen)
}

// lowerAll returns vs trimmed and lower-cased (a new slice).
func lowerAll(vs []string) []string {
	if vs == nil {
		return nil
	}
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = strings.ToLower(strings.TrimSpace(v))
	}
	return out
}

// SearchOrganizations returns one page of the project's organizations
// matching q, ordered by creation time then id. Returns EInvalid for a
// limit outside 1..1000, a list filter of more than 100 entries, a fuzzy
// filter over 128 characters, or a bad cursor.
func (s *Service) SearchOrganizations(ctx context.Context, p *Project, q OrganizationQuery) (*OrganizationPage, error) {
	if err := validPage(&q.Limit, q.Cursor); err != nil {
		return nil, err
	}
	for field, l := range map[string][]string{
		"organization_ids": q.OrganizationIDs, "organization_slugs": q.OrganizationSlugs, "member_emails": q.MemberEmails,
		"allowed_domains": q.AllowedDomains, "claimed_email_domains": q.ClaimedEmailDomains,
	} {
		if err := validSearchList(field, l); err != nil {
			return nil, err
		}
	}
	for field, v := range map[string]string{
		"organization_name_fuzzy": q.OrganizationNameFuzzy, "organization_slug_fuzzy": q.OrganizationSlugFuzzy,
		"member_email_fuzzy": q.MemberEmailFuzzy, "allowed_domain_fuzzy": q.AllowedDomainFuzzy, "sso_connection_id": q.SSOConnectionID,
	} {
		if err := validFuzzy(field, v); err != nil {
			return nil, err
		}
	}
	q.MemberEmails = lowerAll(q.MemberEmails)
	q.AllowedDomains = lowerAll(q.AllowedDomains)
	q.ClaimedEmailDomains = lowerAll(q.ClaimedEmailDomains)
	return s.store.SearchOrganizations(ctx, p.ID, q)
}

// OrganizationMetrics returns how many members (deleted ones excluded)
// the organization has. Returns EInvalid or EOrganizationNotFound.
func (s *Service) OrganizationMetrics(ctx context.Context, p *Project, ref string) (int, error) {
	o, err := s.GetOrganization(ctx, p, ref)
	if err != nil {
		return 0, err
	}
	return s.store.CountMembers(ctx, p.ID, o.ID)
}
