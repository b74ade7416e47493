package stytch

import (
	"encoding/json"
	"strings"

	"github.com/sesame-auth/sesame/internal/auth"
)

// organizationJSON is the Organization object (§C.2). Every required field
// is present and every required array is non-nil ([]). SSO, SCIM, custom
// roles and connected apps do not exist in Sesame: their lists are empty
// and their optional objects null.
type organizationJSON struct {
	OrganizationID                       string                `json:"organization_id"`
	OrganizationName                     string                `json:"organization_name"`
	OrganizationLogoURL                  string                `json:"organization_logo_url"`
	OrganizationSlug                     string                `json:"organization_slug"`
	SSOJITProvisioning                   string                `json:"sso_jit_provisioning"`
	SSOJITProvisioningAllowedConnections []string              `json:"sso_jit_provisioning_allowed_connections"`
	SSOActiveConnections                 none                  `json:"sso_active_connections"`
	EmailAllowedDomains                  []string              `json:"email_allowed_domains"`
	EmailJITProvisioning                 string                `json:"email_jit_provisioning"`
	EmailInvites                         string                `json:"email_invites"`
	AuthMethods                          string                `json:"auth_methods"`
	AllowedAuthMethods                   []string              `json:"allowed_auth_methods"`
	MFAPolicy                            string                `json:"mfa_policy"`
	RBACEmailImplicitRoleAssignments     []auth.RoleAssignment `json:"rbac_email_implicit_role_assignments"`
	MFAMethods                           string                `json:"mfa_methods"`
	AllowedMFAMethods                    []string              `json:"allowed_mfa_methods"`
	OAuthTenantJITProvisioning           string                `json:"oauth_tenant_jit_provisioning"`
	ClaimedEmailDomains                  []string              `json:"claimed_email_domains"`
	FirstPartyConnectedAppsAllowedType   string                `json:"first_party_connected_apps_allowed_type"`
	AllowedFirstPartyConnectedApps       []string              `json:"allowed_first_party_connected_apps"`
	ThirdPartyConnectedAppsAllowedType   string                `json:"third_party_connected_apps_allowed_type"`
	AllowedThirdPartyConnectedApps       []string              `json:"allowed_third_party_connected_apps"`
	CustomRoles                          none                  `json:"custom_roles"`
	TrustedMetadata                      json.RawMessage       `json:"trusted_metadata"`
	OrganizationExternalID               string                `json:"organization_external_id"`
	SSODefaultConnectionID               *string               `json:"sso_default_connection_id"`
	SCIMActiveConnection                 *struct{}             `json:"scim_active_connection"`
	AllowedOAuthTenants                  json.RawMessage       `json:"allowed_oauth_tenants"`
	CreatedAt                            string                `json:"created_at,omitempty"`
	UpdatedAt                            string                `json:"updated_at,omitempty"`
}

// strs returns s, or [] when it is nil, so that a required array is never null.
func strs(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func newOrganizationJSON(o *auth.Organization) organizationJSON {
	out := organizationJSON{
		OrganizationID:                       o.ID,
		OrganizationName:                     o.Name,
		OrganizationLogoURL:                  o.LogoURL,
		OrganizationSlug:                     o.Slug,
		SSOJITProvisioning:                   o.SSOJITProvisioning,
		SSOJITProvisioningAllowedConnections: strs(o.SSOJITProvisioningAllowedConnections),
		SSOActiveConnections:                 none{},
		EmailAllowedDomains:                  strs(o.EmailAllowedDomains),
		EmailJITProvisioning:                 o.EmailJITProvisioning,
		EmailInvites:                         o.EmailInvites,
		AuthMethods:                          o.AuthMethods,
		AllowedAuthMethods:                   strs(o.AllowedAuthMethods),
		MFAPolicy:                            o.MFAPolicy,
		RBACEmailImplicitRoleAssignments:     o.RBACEmailImplicitRoleAssignments,
		MFAMethods:                           o.MFAMethods,
		AllowedMFAMethods:                    strs(o.AllowedMFAMethods),
		OAuthTenantJITProvisioning:           o.OAuthTenantJITProvisioning,
		ClaimedEmailDomains:                  strs(o.ClaimedEmailDomains),
		FirstPartyConnectedAppsAllowedType:   o.FirstPartyConnectedAppsAllowedType,
		AllowedFirstPartyConnectedApps:       strs(o.AllowedFirstPartyConnectedApps),
		ThirdPartyConnectedAppsAllowedType:   o.ThirdPartyConnectedAppsAllowedType,
		AllowedThirdPartyConnectedApps:       strs(o.AllowedThirdPartyConnectedApps),
		CustomRoles:                          none{},
		TrustedMetadata:                      jsonObject(o.TrustedMetadata),
		OrganizationExternalID:               o.ExternalID,
		AllowedOAuthTenants:                  jsonObject(o.AllowedOAuthTenants),
		CreatedAt:                            stytchTime(o.CreatedAt),
		UpdatedAt:                            stytchTime(o.UpdatedAt),
	}
	if out.RBACEmailImplicitRoleAssignments == nil {
		out.RBACEmailImplicitRoleAssignments = []auth.RoleAssignment{}
	}
	if o.SSODefaultConnectionID != "" {
		out.SSODefaultConnectionID = &o.SSODefaultConnectionID
	}
	return out
}

// memberRoleJSON is a MemberRole: the role and every reason the member has it.
type memberRoleJSON struct {
	RoleID  string           `json:"role_id"`
	Sources []roleSourceJSON `json:"sources"`
}

// roleSourceJSON is a MemberRoleSource. details is {} for a direct
// assignment and {"email_domain": …} for an email-domain assignment.
type roleSourceJSON struct {
	Type    string            `json:"type"`
	Details map[string]string `json:"details"`
}

// memberJSON is the Member object (§C.3). Every required field is present
// and every required array non-nil. SSO, OAuth, passwords, SCIM and
// locks do not exist in Sesame: their ids are "", their lists [] and
// their optional objects null.
type memberJSON struct {
	OrganizationID         string           `json:"organization_id"`
	MemberID               string           `json:"member_id"`
	EmailAddress           string           `json:"email_address"`
	Status                 string           `json:"status"`
	Name                   string           `json:"name"`
	SSORegistrations       none             `json:"sso_registrations"`
	IsBreakglass           bool             `json:"is_breakglass"`
	MemberPasswordID       string           `json:"member_password_id"`
	OAuthRegistrations     none             `json:"oauth_registrations"`
	EmailAddressVerified   bool             `json:"email_address_verified"`
	MFAPhoneNumberVerified bool             `json:"mfa_phone_number_verified"`
	IsAdmin                bool             `json:"is_admin"`
	TOTPRegistrationID     string           `json:"totp_registration_id"`
	RetiredEmailAddresses  none             `json:"retired_email_addresses"`
	IsLocked               bool             `json:"is_locked"`
	MFAEnrolled            bool             `json:"mfa_enrolled"`
	MFAPhoneNumber         string           `json:"mfa_phone_number"`
	DefaultMFAMethod       string           `json:"default_mfa_method"`
	Roles                  []memberRoleJSON `json:"roles"`
	TrustedMetadata        json.RawMessage  `json:"trusted_metadata"`
	UntrustedMetadata      json.RawMessage  `json:"untrusted_metadata"`
	ExternalID             string           `json:"external_id"`
	SCIMRegistration       *struct{}        `json:"scim_registration"`
	LockCreatedAt          *string          `json:"lock_created_at"`
	LockExpiresAt          *string          `json:"lock_expires_at"`
	CreatedAt              string           `json:"created_at,omitempty"`
	UpdatedAt              string           `json:"updated_at,omitempty"`
}

// newMemberJSON renders m, a member of o (o gives the email-domain roles
// and is_admin).
func newMemberJSON(m *auth.Member, o *auth.Organization) memberJSON {
	roles := m.Roles(o)
	out := memberJSON{
		OrganizationID:         m.OrganizationID,
		MemberID:               m.ID,
		EmailAddress:           m.EmailAddress,
		Status:                 string(m.Status),
		Name:                   m.Name,
		SSORegistrations:       none{},
		IsBreakglass:           m.IsBreakglass,
		OAuthRegistrations:     none{},
		EmailAddressVerified:   m.EmailVerified,
		MFAPhoneNumberVerified: m.MFAPhoneVerified,
		IsAdmin:                m.IsAdmin(o),
		TOTPRegistrationID:     m.TOTPRegistrationID,
		RetiredEmailAddresses:  none{},
		MFAEnrolled:            m.MFAEnrolled,
		MFAPhoneNumber:         m.MFAPhoneNumber,
		DefaultMFAMethod:       m.DefaultMFAMethod,
		Roles:                  make([]memberRoleJSON, 0, len(roles)),
		TrustedMetadata:        jsonObject(m.TrustedMetadata),
		UntrustedMetadata:      jsonObject(m.UntrustedMetadata),
		ExternalID:             m.ExternalID,
		CreatedAt:              stytchTime(m.CreatedAt),
		UpdatedAt:              stytchTime(m.UpdatedAt),
	}
	_, domain, _ := strings.Cut(m.EmailAddress, "@")
	for _, r := range roles {
		rj := memberRoleJSON{RoleID: r.RoleID, Sources: make([]roleSourceJSON, 0, len(r.Sources))}
		for _, src := range r.Sources {
			details := map[string]string{}
			if src == auth.RoleSourceEmail {
				details["email_domain"] = domain
			}
			rj.Sources = append(rj.Sources, roleSourceJSON{Type: src, Details: details})
		}
		out.Roles = append(out.Roles, rj)
	}
	return out
}

// organizationBody is the settings body of organization create and update
// (and of discovery's organization create, which embeds it). Absent or
// null fields leave a setting unchanged (update) or at its default
// (create); an empty list clears one.
type organizationBody struct {
	OrganizationName                     *string               `json:"organization_name"`
	OrganizationSlug                     *string               `json:"organization_slug"`
	OrganizationLogoURL                  *string               `json:"organization_logo_url"`
	TrustedMetadata                      json.RawMessage       `json:"trusted_metadata"`
	OrganizationExternalID               *string               `json:"organization_external_id"`
	SSODefaultConnectionID               *string               `json:"sso_default_connection_id"`
	SSOJITProvisioning                   *string               `json:"sso_jit_provisioning"`
	SSOJITProvisioningAllowedConnections []string              `json:"sso_jit_provisioning_allowed_connections"`
	EmailAllowedDomains                  []string              `json:"email_allowed_domains"`
	EmailJITProvisioning                 *string               `json:"email_jit_provisioning"`
	EmailInvites                         *string               `json:"email_invites"`
	AuthMethods                          *string               `json:"auth_methods"`
	AllowedAuthMethods                   []string              `json:"allowed_auth_methods"`
	MFAPolicy                            *string               `json:"mfa_policy"`
	RBACEmailImplicitRoleAssignments     []auth.RoleAssignment `json:"rbac_email_implicit_role_assignments"`
	MFAMethods                           *string               `json:"mfa_methods"`
	AllowedMFAMethods                    []string              `json:"allowed_mfa_methods"`
	OAuthTenantJITProvisioning           *string               `json:"oauth_tenant_jit_provisioning"`
	AllowedOAuthTenants                  json.RawMessage       `json:"allowed_oauth_tenants"`
	ClaimedEmailDomains                  []string              `json:"claimed_email_domains"`
	FirstPartyConnectedAppsAllowedType   *string               `json:"first_party_connected_apps_allowed_type"`
	AllowedFirstPartyConnectedApps       []string              `json:"allowed_first_party_connected_apps"`
	ThirdPartyConnectedAppsAllowedType   *string               `json:"third_party_connected_apps_allowed_type"`
	AllowedThirdPartyConnectedApps       []string              `json:"allowed_third_party_connected_apps"`
}

// toInput converts the body for the service, which validates every value.
func (b *organizationBody) toInput() auth.OrganizationInput {
	return auth.OrganizationInput{
		Name:                                 b.OrganizationName,
		Slug:                                 b.OrganizationSlug,
		LogoURL:                              b.OrganizationLogoURL,
		ExternalID:                           b.OrganizationExternalID,
		TrustedMetadata:                      metadata(b.TrustedMetadata),
		EmailAllowedDomains:                  b.EmailAllowedDomains,
		EmailJITProvisioning:                 b.EmailJITProvisioning,
		EmailInvites:                         b.EmailInvites,
		AuthMethods:                          b.AuthMethods,
		AllowedAuthMethods:                   b.AllowedAuthMethods,
		MFAPolicy:                            b.MFAPolicy,
		MFAMethods:                           b.MFAMethods,
		AllowedMFAMethods:                    b.AllowedMFAMethods,
		SSOJITProvisioning:                   b.SSOJITProvisioning,
		SSOJITProvisioningAllowedConnections: b.SSOJITProvisioningAllowedConnections,
		SSODefaultConnectionID:               b.SSODefaultConnectionID,
		RBACEmailImplicitRoleAssignments:     b.RBACEmailImplicitRoleAssignments,
		OAuthTenantJITProvisioning:           b.OAuthTenantJITProvisioning,
		AllowedOAuthTenants:                  metadata(b.AllowedOAuthTenants),
		ClaimedEmailDomains:                  b.ClaimedEmailDomains,
		FirstPartyConnectedAppsAllowedType:   b.FirstPartyConnectedAppsAllowedType,
		AllowedFirstPartyConnectedApps:       b.AllowedFirstPartyConnectedApps,
		ThirdPartyConnectedAppsAllowedType:   b.ThirdPartyConnectedAppsAllowedType,
		AllowedThirdPartyConnectedApps:       b.AllowedThirdPartyConnectedApps,
	}
}
