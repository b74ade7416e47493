package auth_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/authtest"
)

func ptr[T any](v T) *T { return &v }

// errField returns the Field of a domain error ("" otherwise).
func errField(err error) string {
	if e, ok := err.(*auth.Error); ok {
		return e.Field
	}
	return ""
}

func mustOrg(t *testing.T, env *authtest.Env, p *auth.Project, in auth.OrganizationInput) *auth.Organization {
	t.Helper()
	o, err := env.Service.CreateOrganization(t.Context(), p, in)
	if err != nil {
		t.Fatalf("CreateOrganization: %v", err)
	}
	return o
}

func mustMember(t *testing.T, env *authtest.Env, p *auth.Project, org *auth.Organization, in auth.MemberInput) *auth.Member {
	t.Helper()
	m, _, err := env.Service.CreateMember(t.Context(), p, org.ID, in, auth.Caller{})
	if err != nil {
		t.Fatalf("CreateMember: %v", err)
	}
	return m
}

// memberSession stores a live session of m and returns it with its token.
func memberSession(t *testing.T, env *authtest.Env, p *auth.Project, m *auth.Member) (*auth.Session, string) {
	t.Helper()
	token := auth.NewToken()
	now := time.Now().UTC()
	sess := &auth.Session{
		ID: auth.NewID(auth.PrefixMemberSession, p), ProjectID: p.ID, MemberID: m.ID, OrganizationID: m.OrganizationID,
		TokenHash: env.Keys.TokenHash(token), StartedAt: now, LastAccessedAt: now, ExpiresAt: now.Add(time.Hour),
		Factors: []auth.Factor{{Type: "magic_link", DeliveryMethod: "email", MethodID: m.EmailID, Value: m.EmailAddress,
			LastAuthenticatedAt: now, CreatedAt: now, UpdatedAt: now}},
	}
	if err := env.Store.CreateSession(t.Context(), sess, env.Keys.Encrypt([]byte(token), []byte(sess.ID))); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	return sess, token
}

// consumerSessionToken stores a live consumer session and returns its token.
func consumerSessionToken(t *testing.T, env *authtest.Env, p *auth.Project) string {
	t.Helper()
	u, err := env.Service.CreateUser(t.Context(), p, auth.CreateUserInput{Email: "consumer-" + auth.NewUUID()[:8] + "@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	token := auth.NewToken()
	now := time.Now().UTC()
	sess := &auth.Session{ID: auth.NewID(auth.PrefixSession, p), ProjectID: p.ID, UserID: u.ID, TokenHash: env.Keys.TokenHash(token),
		StartedAt: now, LastAccessedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := env.Store.CreateSession(t.Context(), sess, env.Keys.Encrypt([]byte(token), []byte(sess.ID))); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	return token
}

func TestCreateOrganizationDefaultsEverySetting(t *testing.T) {
	env := authtest.New(t)
	o := mustOrg(t, env, env.Project, auth.OrganizationInput{Name: ptr("Acme Corp, Inc.")})
	got, err := env.Service.GetOrganization(t.Context(), env.Project, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(got.ID, "organization-test-") || got.ProjectID != env.Project.ID || got.Name != "Acme Corp, Inc." {
		t.Fatalf("organization = %+v", got)
	}
	settings := map[string][2]string{
		"organization_slug":                       {got.Slug, "acme-corp-inc"},
		"organization_logo_url":                   {got.LogoURL, ""},
		"organization_external_id":                {got.ExternalID, ""},
		"email_jit_provisioning":                  {got.EmailJITProvisioning, auth.NotAllowed},
		"email_invites":                           {got.EmailInvites, auth.AllAllowed},
		"auth_methods":                            {got.AuthMethods, auth.AllAllowed},
		"mfa_policy":                              {got.MFAPolicy, auth.MFAOptional},
		"mfa_methods":                             {got.MFAMethods, auth.AllAllowed},
		"sso_jit_provisioning":                    {got.SSOJITProvisioning, auth.AllAllowed},
		"sso_default_connection_id":               {got.SSODefaultConnectionID, ""},
		"oauth_tenant_jit_provisioning":           {got.OAuthTenantJITProvisioning, auth.NotAllowed},
		"first_party_connected_apps_allowed_type": {got.FirstPartyConnectedAppsAllowedType, auth.AllAllowed},
		"third_party_connected_apps_allowed_type": {got.ThirdPartyConnectedAppsAllowedType, auth.AllAllowed},
		"trusted_metadata":                        {string(got.TrustedMetadata), "{}"},
		"allowed_oauth_tenants":                   {string(got.AllowedOAuthTenants), "{}"},
	}
	for field, v := range settings {
		if v[0] != v[1] {
			t.Errorf("%s = %q, want %q", field, v[0], v[1])
		}
	}
	lists := map[string][]string{
		"email_allowed_domains": got.EmailAllowedDomains, "allowed_auth_methods": got.AllowedAuthMethods,
		"allowed_mfa_methods": got.AllowedMFAMethods, "sso_jit_provisioning_allowed_connections": got.SSOJITProvisioningAllowedConnections,
		"claimed_email_domains": got.ClaimedEmailDomains, "allowed_first_party_connected_apps": got.AllowedFirstPartyConnectedApps,
		"allowed_third_party_connected_apps": got.AllowedThirdPartyConnectedApps,
	}
	for field, l := range lists {
		if l == nil || len(l) != 0 {
			t.Errorf("%s = %#v, want an empty list", field, l)
		}
	}
	if got.RBACEmailImplicitRoleAssignments == nil || len(got.RBACEmailImplicitRoleAssignments) != 0 {
		t.Errorf("rbac_email_implicit_role_assignments = %#v, want an empty list", got.RBACEmailImplicitRoleAssignments)
	}
	if got.CreatedAt.IsZero() || got.UpdatedAt.IsZero() {
		t.Errorf("timestamps not set: %+v", got)
	}
}

func TestCreateOrganizationStoresAndNormalizesSettings(t *testing.T) {
	env := authtest.New(t)
	in := auth.OrganizationInput{
		Name: ptr("Acme"), Slug: ptr("Acme_HQ~1.x"), LogoURL: ptr("https://acme.test/logo.png"), ExternalID: ptr("acme-ext"),
		TrustedMetadata:      json.RawMessage(`{"tier":"gold"}`),
		EmailAllowedDomains:  []string{" Acme.TEST ", "acme.test", "eu.acme.test"},
		EmailJITProvisioning: ptr(auth.Restricted), EmailInvites: ptr(auth.Restricted),
		AuthMethods: ptr(auth.Restricted), AllowedAuthMethods: []string{"magic_link", "email_otp", "magic_link"},
		MFAPolicy: ptr(auth.MFARequiredForAll), MFAMethods: ptr(auth.Restricted), AllowedMFAMethods: []string{"sms_otp"},
		SSOJITProvisioning: ptr(auth.NotAllowed), SSOJITProvisioningAllowedConnections: []string{"sso-connection-test-1"},
		RBACEmailImplicitRoleAssignments: []auth.RoleAssignment{{Domain: "ACME.test", RoleID: auth.RoleAdmin}, {Domain: "acme.test", RoleID: auth.RoleMember}},
		OAuthTenantJITProvisioning:       ptr(auth.Restricted), AllowedOAuthTenants: json.RawMessage(`{"slack":["T123"]}`),
		ClaimedEmailDomains:                []string{"acme.test"},
		FirstPartyConnectedAppsAllowedType: ptr(auth.Restricted), AllowedFirstPartyConnectedApps: []string{"app-1"},
		ThirdPartyConnectedAppsAllowedType: ptr(auth.NotAllowed), AllowedThirdPartyConnectedApps: []string{},
	}
	o := mustOrg(t, env, env.Project, in)
	got, err := env.Service.GetOrganization(t.Context(), env.Project, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Slug != "Acme_HQ~1.x" || got.LogoURL != "https://acme.test/logo.png" || got.ExternalID != "acme-ext" {
		t.Errorf("identity = %q %q %q", got.Slug, got.LogoURL, got.ExternalID)
	}
	if !reflect.DeepEqual(got.EmailAllowedDomains, []string{"acme.test", "eu.acme.test"}) {
		t.Errorf("email_allowed_domains = %v, want lower-cased without duplicates", got.EmailAllowedDomains)
	}
	if !reflect.DeepEqual(got.AllowedAuthMethods, []string{"magic_link", "email_otp"}) {
		t.Errorf("allowed_auth_methods = %v", got.AllowedAuthMethods)
	}
	if !reflect.DeepEqual(got.RBACEmailImplicitRoleAssignments, []auth.RoleAssignment{{Domain: "acme.test", RoleID: auth.RoleAdmin}}) {
		t.Errorf("rbac_email_implicit_role_assignments = %v, want the admin one (stytch_member is implicit)", got.RBACEmailImplicitRoleAssignments)
	}
	if got.EmailJITProvisioning != auth.Restricted || got.EmailInvites != auth.Restricted || got.AuthMethods != auth.Restricted ||
		got.MFAPolicy != auth.MFARequiredForAll || got.MFAMethods != auth.Restricted || got.SSOJITProvisioning != auth.NotAllowed ||
		got.OAuthTenantJITProvisioning != auth.Restricted || got.FirstPartyConnectedAppsAllowedType != auth.Restricted ||
		got.ThirdPartyConnectedAppsAllowedType != auth.NotAllowed {
		t.Errorf("settings not stored: %+v", got)
	}
	var tenants map[string][]string
	if err := json.Unmarshal(got.AllowedOAuthTenants, &tenants); err != nil || !reflect.DeepEqual(tenants["slack"], []string{"T123"}) {
		t.Errorf("allowed_oauth_tenants = %s", got.AllowedOAuthTenants)
	}
	if !reflect.DeepEqual(got.AllowedMFAMethods, []string{"sms_otp"}) || !reflect.DeepEqual(got.ClaimedEmailDomains, []string{"acme.test"}) ||
		!reflect.DeepEqual(got.AllowedFirstPartyConnectedApps, []string{"app-1"}) ||
		!reflect.DeepEqual(got.SSOJITProvisioningAllowedConnections, []string{"sso-connection-test-1"}) {
		t.Errorf("lists not stored: %+v", got)
	}
}

func TestCreateOrganizationRefusesInvalidValues(t *testing.T) {
	env := authtest.New(t)
	name := ptr("Acme")
	many := make([]string, 101)
	for i := range many {
		many[i] = "d" + strings.Repeat("x", i%5) + ".acme" + string(rune('a'+i%26)) + ".test"
	}
	tests := []struct {
		name  string
		in    auth.OrganizationInput
		code  auth.Code
		field string
	}{
		{"NameMissing", auth.OrganizationInput{}, auth.EInvalid, "organization_name"},
		{"NameBlank", auth.OrganizationInput{Name: ptr("  ")}, auth.EInvalid, "organization_name"},
		{"NameTooLong", auth.OrganizationInput{Name: ptr(strings.Repeat("a", 257))}, auth.EInvalid, "organization_name"},
		{"NameWithNUL", auth.OrganizationInput{Name: ptr("Ac\x00me"), Slug: ptr("acme")}, auth.EInvalid, "organization_name"},
		{"SlugTooShort", auth.OrganizationInput{Name: name, Slug: ptr("a")}, auth.EInvalidOrganizationSlug, "organization_slug"},
		{"SlugTooLong", auth.OrganizationInput{Name: name, Slug: ptr(strings.Repeat("a", 129))}, auth.EInvalidOrganizationSlug, "organization_slug"},
		{"SlugWithSpace", auth.OrganizationInput{Name: name, Slug: ptr("ac me")}, auth.EInvalidOrganizationSlug, "organization_slug"},
		{"SlugWithSlash", auth.OrganizationInput{Name: name, Slug: ptr("ac/me")}, auth.EInvalidOrganizationSlug, "organization_slug"},
		{"SlugNonASCII", auth.OrganizationInput{Name: name, Slug: ptr("acmé")}, auth.EInvalidOrganizationSlug, "organization_slug"},
		{"SlugEmpty", auth.OrganizationInput{Name: name, Slug: ptr("")}, auth.EInvalidOrganizationSlug, "organization_slug"},
		{"NoSlugDerivableFromName", auth.OrganizationInput{Name: ptr("!!")}, auth.EInvalidOrganizationSlug, "organization_slug"},
		{"LogoURLNotHTTP", auth.OrganizationInput{Name: name, LogoURL: ptr("javascript:alert(1)")}, auth.EInvalid, "organization_logo_url"},
		{"LogoURLTooLong", auth.OrganizationInput{Name: name, LogoURL: ptr("https://a.test/" + strings.Repeat("a", 2048))}, auth.EInvalid, "organization_logo_url"},
		{"ExternalIDTooLong", auth.OrganizationInput{Name: name, ExternalID: ptr(strings.Repeat("e", 129))}, auth.EInvalid, "organization_external_id"},
		{"TrustedMetadataNotObject", auth.OrganizationInput{Name: name, TrustedMetadata: json.RawMessage(`[1]`)}, auth.EInvalid, "trusted_metadata"},
		{"EmailJITAllAllowed", auth.OrganizationInput{Name: name, EmailJITProvisioning: ptr(auth.AllAllowed)}, auth.EInvalid, "email_jit_provisioning"},
		{"EmailInvitesUnknown", auth.OrganizationInput{Name: name, EmailInvites: ptr("SOMETIMES")}, auth.EInvalid, "email_invites"},
		{"AuthMethodsNotAllowed", auth.OrganizationInput{Name: name, AuthMethods: ptr(auth.NotAllowed)}, auth.EInvalid, "auth_methods"},
		{"MFAPolicyLowerCase", auth.OrganizationInput{Name: name, MFAPolicy: ptr("optional")}, auth.EInvalid, "mfa_policy"},
		{"MFAMethodsNotAllowed", auth.OrganizationInput{Name: name, MFAMethods: ptr(auth.NotAllowed)}, auth.EInvalid, "mfa_methods"},
		{"SSOJITUnknown", auth.OrganizationInput{Name: name, SSOJITProvisioning: ptr("")}, auth.EInvalid, "sso_jit_provisioning"},
		{"OAuthTenantJITAllAllowed", auth.OrganizationInput{Name: name, OAuthTenantJITProvisioning: ptr(auth.AllAllowed)}, auth.EInvalid, "oauth_tenant_jit_provisioning"},
		{"FirstPartyAppsUnknown", auth.OrganizationInput{Name: name, FirstPartyConnectedAppsAllowedType: ptr("NONE")}, auth.EInvalid, "first_party_connected_apps_allowed_type"},
		{"ThirdPartyAppsUnknown", auth.OrganizationInput{Name: name, ThirdPartyConnectedAppsAllowedType: ptr("NONE")}, auth.EInvalid, "third_party_connected_apps_allowed_type"},
		{"AllowedAuthMethodUnknown", auth.OrganizationInput{Name: name, AllowedAuthMethods: []string{"magic_link", "carrier_pigeon"}}, auth.EInvalid, "allowed_auth_methods"},
		{"AllowedMFAMethodEmail", auth.OrganizationInput{Name: name, AllowedMFAMethods: []string{"email_otp"}}, auth.EInvalid, "allowed_mfa_methods"},
		{"AllowedDomainBadSyntax", auth.OrganizationInput{Name: name, EmailAllowedDomains: []string{"acme..test"}}, auth.EInvalid, "email_allowed_domains"},
		{"AllowedDomainSingleLabel", auth.OrganizationInput{Name: name, EmailAllowedDomains: []string{"localhost"}}, auth.EInvalid, "email_allowed_domains"},
		{"AllowedDomainIPAddress", auth.OrganizationInput{Name: name, EmailAllowedDomains: []string{"10.0.0.1"}}, auth.EInvalid, "email_allowed_domains"},
		{"AllowedDomainWithAt", auth.OrganizationInput{Name: name, EmailAllowedDomains: []string{"ada@acme.test"}}, auth.EInvalid, "email_allowed_domains"},
		{"AllowedDomainCommon", auth.OrganizationInput{Name: name, EmailAllowedDomains: []string{"acme.test", "gmail.com"}}, auth.ECommonDomain, "email_allowed_domains"},
		{"AllowedDomainCommonMixedCase", auth.OrganizationInput{Name: name, EmailAllowedDomains: []string{" Outlook.COM"}}, auth.ECommonDomain, "email_allowed_domains"},
		{"AllowedDomainsTooMany", auth.OrganizationInput{Name: name, EmailAllowedDomains: many}, auth.EInvalid, "email_allowed_domains"},
		{"ClaimedDomainCommon", auth.OrganizationInput{Name: name, ClaimedEmailDomains: []string{"yahoo.com"}}, auth.ECommonDomain, "claimed_email_domains"},
		{"RoleAssignmentBadDomain", auth.OrganizationInput{Name: name, RBACEmailImplicitRoleAssignments: []auth.RoleAssignment{{Domain: "acme", RoleID: auth.RoleAdmin}}}, auth.EInvalid, "rbac_email_implicit_role_assignments"},
		{"RoleAssignmentUnknownRole", auth.OrganizationInput{Name: name, RBACEmailImplicitRoleAssignments: []auth.RoleAssignment{{Domain: "acme.test", RoleID: "billing"}}}, auth.EInvalid, "rbac_email_implicit_role_assignments"},
		{"OAuthTenantsNotLists", auth.OrganizationInput{Name: name, AllowedOAuthTenants: json.RawMessage(`{"slack":"T1"}`)}, auth.EInvalid, "allowed_oauth_tenants"},
		{"SSOConnectionIDWithSpace", auth.OrganizationInput{Name: name, SSODefaultConnectionID: ptr("a b")}, auth.EInvalid, "sso_default_connection_id"},
		{"ConnectedAppIDEmpty", auth.OrganizationInput{Name: name, AllowedThirdPartyConnectedApps: []string{""}}, auth.EInvalid, "allowed_third_party_connected_apps"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := env.Service.CreateOrganization(t.Context(), env.Project, tt.in)
			if auth.ErrorCode(err) != tt.code || errField(err) != tt.field {
				t.Fatalf("err = %v (field %q), want %q on %q", err, errField(err), tt.code, tt.field)
			}
			if o != nil {
				t.Fatalf("organization returned with an error: %+v", o)
			}
		})
	}
	page, err := env.Service.SearchOrganizations(t.Context(), env.Project, auth.OrganizationQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if page.Total != 0 {
		t.Fatalf("%d organizations stored by refused creates", page.Total)
	}
}

func TestOrganizationSlugsAndExternalIDsAreUniquePerProject(t *testing.T) {
	env := authtest.New(t)
	other, _ := env.NewProject(t, false)
	mustOrg(t, env, env.Project, auth.OrganizationInput{Name: ptr("Acme"), ExternalID: ptr("ext-1")})
	tests := []struct {
		name string
		p    *auth.Project
		in   auth.OrganizationInput
		code auth.Code
	}{
		{"ErrSameExplicitSlug", env.Project, auth.OrganizationInput{Name: ptr("Other"), Slug: ptr("acme")}, auth.EDuplicateSlug},
		{"ErrSameDerivedSlug", env.Project, auth.OrganizationInput{Name: ptr("ACME")}, auth.EDuplicateSlug},
		{"ErrSameExternalID", env.Project, auth.OrganizationInput{Name: ptr("Beta"), ExternalID: ptr("ext-1")}, auth.EDuplicateExternalID},
		{"OKSameSlugInAnotherProject", other, auth.OrganizationInput{Name: ptr("Acme"), ExternalID: ptr("ext-1")}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := env.Service.CreateOrganization(t.Context(), tt.p, tt.in)
			if auth.ErrorCode(err) != tt.code {
				t.Fatalf("err = %v, want %q", err, tt.code)
			}
			if tt.code == "" && o.ProjectID != tt.p.ID {
				t.Fatalf("organization in project %q", o.ProjectID)
			}
		})
	}
}

func TestGetOrganizationByRef(t *testing.T) {
	env := authtest.New(t)
	other, _ := env.NewProject(t, false)
	o := mustOrg(t, env, env.Project, auth.OrganizationInput{Name: ptr("Acme"), ExternalID: ptr("crm-42")})
	foreign := mustOrg(t, env, other, auth.OrganizationInput{Name: ptr("Foreign")})
	tests := []struct {
		name string
		ref  string
		code auth.Code
	}{
		{"OKByID", o.ID, ""},
		{"OKBySlug", "acme", ""},
		{"OKByExternalID", "crm-42", ""},
		{"ErrUnknown", "organization-test-00000000-0000-4000-8000-000000000000", auth.EOrganizationNotFound},
		{"ErrAnotherProjectsOrganization", foreign.ID, auth.EOrganizationNotFound},
		{"ErrAnotherProjectsSlug", "foreign", auth.EOrganizationNotFound},
		{"ErrEmpty", "", auth.EInvalid},
		{"ErrTooLong", strings.Repeat("a", 129), auth.EInvalid},
		{"ErrWithSlash", "acme/x", auth.EInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := env.Service.GetOrganization(t.Context(), env.Project, tt.ref)
			if auth.ErrorCode(err) != tt.code {
				t.Fatalf("err = %v, want %q", err, tt.code)
			}
			if tt.code == "" && got.ID != o.ID {
				t.Fatalf("got %s, want %s", got.ID, o.ID)
			}
		})
	}
}

func TestUpdateOrganization(t *testing.T) {
	env := authtest.New(t)
	ctx := t.Context()
	o := mustOrg(t, env, env.Project, auth.OrganizationInput{
		Name: ptr("Acme"), EmailAllowedDomains: []string{"acme.test"}, EmailJITProvisioning: ptr(auth.Restricted),
		MFAPolicy: ptr(auth.MFARequiredForAll), TrustedMetadata: json.RawMessage(`{"a":1}`),
	})
	mustOrg(t, env, env.Project, auth.OrganizationInput{Name: ptr("Beta")})

	t.Run("OKUnsetFieldsUnchanged", func(t *testing.T) {
		updated, err := env.Service.UpdateOrganization(ctx, env.Project, "acme", auth.OrganizationInput{Name: ptr("Acme Two")}, auth.Caller{})
		if err != nil {
			t.Fatal(err)
		}
		if updated.Name != "Acme Two" {
			t.Fatalf("update returned name %q", updated.Name)
		}
		got, _ := env.Service.GetOrganization(ctx, env.Project, o.ID)
		if got.Name != "Acme Two" || got.Slug != "acme" || got.MFAPolicy != auth.MFARequiredForAll ||
			got.EmailJITProvisioning != auth.Restricted || !reflect.DeepEqual(got.EmailAllowedDomains, []string{"acme.test"}) ||
			string(got.TrustedMetadata) != `{"a": 1}` && string(got.TrustedMetadata) != `{"a":1}` {
			t.Fatalf("after a name update: %+v", got)
		}
	})
	t.Run("OKEmptyListClears", func(t *testing.T) {
		got, err := env.Service.UpdateOrganization(ctx, env.Project, o.ID, auth.OrganizationInput{EmailAllowedDomains: []string{}}, auth.Caller{})
		if err != nil {
			t.Fatal(err)
		}
		if len(got.EmailAllowedDomains) != 0 || got.EmailJITProvisioning != auth.Restricted {
			t.Fatalf("after clearing domains: %+v", got)
		}
	})
	t.Run("ErrInvalidValueChangesNothing", func(t *testing.T) {
		_, err := env.Service.UpdateOrganization(ctx, env.Project, o.ID, auth.OrganizationInput{
			Name: ptr("Renamed"), MFAPolicy: ptr("ALWAYS"),
		}, auth.Caller{})
		if auth.ErrorCode(err) != auth.EInvalid || errField(err) != "mfa_policy" {
			t.Fatalf("err = %v", err)
		}
		got, _ := env.Service.GetOrganization(ctx, env.Project, o.ID)
		if got.Name != "Acme Two" {
			t.Fatalf("name = %q after a refused update", got.Name)
		}
	})
	t.Run("ErrCommonDomain", func(t *testing.T) {
		_, err := env.Service.UpdateOrganization(ctx, env.Project, o.ID, auth.OrganizationInput{EmailAllowedDomains: []string{"icloud.com"}}, auth.Caller{})
		if auth.ErrorCode(err) != auth.ECommonDomain {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("ErrEmptyName", func(t *testing.T) {
		_, err := env.Service.UpdateOrganization(ctx, env.Project, o.ID, auth.OrganizationInput{Name: ptr("")}, auth.Caller{})
		if auth.ErrorCode(err) != auth.EInvalid || errField(err) != "organization_name" {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("ErrSlugOfAnotherOrganization", func(t *testing.T) {
		_, err := env.Service.UpdateOrganization(ctx, env.Project, o.ID, auth.OrganizationInput{Slug: ptr("beta")}, auth.Caller{})
		if auth.ErrorCode(err) != auth.EDuplicateSlug {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("OKNewSlugFindsIt", func(t *testing.T) {
		if _, err := env.Service.UpdateOrganization(ctx, env.Project, o.ID, auth.OrganizationInput{Slug: ptr("acme-2")}, auth.Caller{}); err != nil {
			t.Fatal(err)
		}
		got, err := env.Service.GetOrganization(ctx, env.Project, "acme-2")
		if err != nil || got.ID != o.ID {
			t.Fatalf("by new slug: %v %v", got, err)
		}
	})
	t.Run("ErrUnknownOrganization", func(t *testing.T) {
		_, err := env.Service.UpdateOrganization(ctx, env.Project, "nope", auth.OrganizationInput{Name: ptr("x")}, auth.Caller{})
		if auth.ErrorCode(err) != auth.EOrganizationNotFound {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestDeleteOrganizationReturnsIDAndRemovesMembers(t *testing.T) {
	env := authtest.New(t)
	ctx := t.Context()
	o := mustOrg(t, env, env.Project, auth.OrganizationInput{Name: ptr("Acme")})
	m := mustMember(t, env, env.Project, o, auth.MemberInput{EmailAddress: ptr("ada@acme.test")})
	_, token := memberSession(t, env, env.Project, m)
	id, err := env.Service.DeleteOrganization(ctx, env.Project, "acme", auth.Caller{})
	if err != nil || id != o.ID {
		t.Fatalf("DeleteOrganization = %q, %v", id, err)
	}
	if _, err := env.Service.GetOrganization(ctx, env.Project, o.ID); auth.ErrorCode(err) != auth.EOrganizationNotFound {
		t.Fatalf("get after delete: %v", err)
	}
	if _, _, err := env.Service.DangerouslyGetMember(ctx, env.Project, m.ID, true); auth.ErrorCode(err) != auth.EMemberNotFound {
		t.Fatalf("member after organization delete: %v", err)
	}
	if _, _, err := env.Store.FindSessionByToken(ctx, env.Project.ID, env.Keys.TokenHashes(token)); auth.ErrorCode(err) != auth.ESessionNotFound {
		t.Fatalf("member session after organization delete: %v", err)
	}
	if _, err := env.Service.DeleteOrganization(ctx, env.Project, o.ID, auth.Caller{}); auth.ErrorCode(err) != auth.EOrganizationNotFound {
		t.Fatalf("second delete: %v", err)
	}
}

func TestOrganizationMetricsCountsLiveMembers(t *testing.T) {
	env := authtest.New(t)
	ctx := t.Context()
	o := mustOrg(t, env, env.Project, auth.OrganizationInput{Name: ptr("Acme")})
	other := mustOrg(t, env, env.Project, auth.OrganizationInput{Name: ptr("Other")})
	mustMember(t, env, env.Project, o, auth.MemberInput{EmailAddress: ptr("a@acme.test")})
	mustMember(t, env, env.Project, o, auth.MemberInput{EmailAddress: ptr("b@acme.test"), CreatePending: true})
	gone := mustMember(t, env, env.Project, o, auth.MemberInput{EmailAddress: ptr("c@acme.test")})
	mustMember(t, env, env.Project, other, auth.MemberInput{EmailAddress: ptr("a@acme.test")})
	if _, err := env.Service.DeleteMember(ctx, env.Project, o.ID, gone.ID, auth.Caller{}); err != nil {
		t.Fatal(err)
	}
	n, err := env.Service.OrganizationMetrics(ctx, env.Project, "acme")
	if err != nil || n != 2 {
		t.Fatalf("metrics = %d, %v; want 2", n, err)
	}
	if _, err := env.Service.OrganizationMetrics(ctx, env.Project, "missing-org"); auth.ErrorCode(err) != auth.EOrganizationNotFound {
		t.Fatalf("metrics of unknown org: %v", err)
	}
}

func TestSearchOrganizations(t *testing.T) {
	env := authtest.New(t)
	o := mustOrg(t, env, env.Project, auth.OrganizationInput{Name: ptr("Acme"), EmailAllowedDomains: []string{"acme.test"}})
	mustOrg(t, env, env.Project, auth.OrganizationInput{Name: ptr("Beta")})
	many := make([]string, 101)
	for i := range many {
		many[i] = "s"
	}
	tests := []struct {
		name  string
		q     auth.OrganizationQuery
		code  auth.Code
		field string
		want  []string
	}{
		{"OKBySlug", auth.OrganizationQuery{OrganizationSlugs: []string{"acme"}}, "", "", []string{o.ID}},
		{"OKByAllowedDomainAnyCase", auth.OrganizationQuery{AllowedDomains: []string{"ACME.test"}}, "", "", []string{o.ID}},
		{"OKNameFuzzy", auth.OrganizationQuery{OrganizationNameFuzzy: "cm"}, "", "", []string{o.ID}},
		{"ErrLimitNegative", auth.OrganizationQuery{Limit: -1}, auth.EInvalid, "limit", nil},
		{"ErrLimitTooLarge", auth.OrganizationQuery{Limit: 1001}, auth.EInvalid, "limit", nil},
		{"ErrFuzzyTooLong", auth.OrganizationQuery{OrganizationNameFuzzy: strings.Repeat("a", 129)}, auth.EInvalid, "organization_name_fuzzy", nil},
		{"ErrTooManySlugs", auth.OrganizationQuery{OrganizationSlugs: many}, auth.EInvalid, "organization_slugs", nil},
		{"ErrNULInList", auth.OrganizationQuery{MemberEmails: []string{"a\x00@b.c"}}, auth.EInvalid, "member_emails", nil},
		{"ErrListEntryTooLong", auth.OrganizationQuery{OrganizationIDs: []string{strings.Repeat("i", 257)}}, auth.EInvalid, "organization_ids", nil},
		{"ErrCursorTooLong", auth.OrganizationQuery{Cursor: strings.Repeat("c", 1025)}, auth.EInvalid, "cursor", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page, err := env.Service.SearchOrganizations(t.Context(), env.Project, tt.q)
			if auth.ErrorCode(err) != tt.code || errField(err) != tt.field {
				t.Fatalf("err = %v (field %q), want %q on %q", err, errField(err), tt.code, tt.field)
			}
			if tt.code != "" {
				return
			}
			var ids []string
			for _, o := range page.Organizations {
				ids = append(ids, o.ID)
			}
			if !reflect.DeepEqual(ids, tt.want) || page.Total != len(tt.want) {
				t.Fatalf("ids = %v (total %d), want %v", ids, page.Total, tt.want)
			}
		})
	}
}
