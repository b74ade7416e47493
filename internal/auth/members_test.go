package auth_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/authtest"
)

const mfaPhone = "+12025550162"

// sessionLive reports whether the session of token still authenticates.
func sessionLive(t *testing.T, env *authtest.Env, p *auth.Project, token string) bool {
	t.Helper()
	_, _, err := env.Store.FindSessionByToken(t.Context(), p.ID, env.Keys.TokenHashes(token))
	if err != nil && auth.ErrorCode(err) != auth.ESessionNotFound {
		t.Fatal(err)
	}
	return err == nil
}

func TestCreateMember(t *testing.T) {
	env := authtest.New(t)
	o := mustOrg(t, env, env.Project, auth.OrganizationInput{Name: ptr("Acme")})
	tests := []struct {
		name  string
		in    auth.MemberInput
		check func(t *testing.T, m *auth.Member)
	}{
		{"OKActiveUnverifiedByDefault", auth.MemberInput{EmailAddress: ptr(" Ada@Acme.TEST ")}, func(t *testing.T, m *auth.Member) {
			if m.Status != auth.MemberActive || m.EmailAddress != "ada@acme.test" || m.EmailVerified ||
				!strings.HasPrefix(m.ID, "member-test-") || !strings.HasPrefix(m.EmailID, "member-email-test-") ||
				m.MFAPhoneNumber != "" || m.MFAPhoneID != "" || m.MFAEnrolled || m.IsBreakglass || m.DefaultMFAMethod != "" ||
				len(m.RoleIDs) != 0 || string(m.TrustedMetadata) != "{}" || string(m.UntrustedMetadata) != "{}" {
				t.Fatalf("member = %+v", m)
			}
		}},
		{"OKPendingWhenAsked", auth.MemberInput{EmailAddress: ptr("pending@acme.test"), CreatePending: true}, func(t *testing.T, m *auth.Member) {
			if m.Status != auth.MemberPending {
				t.Fatalf("status = %q", m.Status)
			}
		}},
		{"OKEverySetting", auth.MemberInput{
			EmailAddress: ptr("grace@acme.test"), Name: ptr("Grace"), IsBreakglass: ptr(true), MFAPhoneNumber: ptr("+1 202 555 0162"),
			MFAEnrolled: ptr(true), DefaultMFAMethod: ptr(auth.MFAMethodSMS), ExternalID: ptr("hr-7"),
			TrustedMetadata: json.RawMessage(`{"t":1}`), UntrustedMetadata: json.RawMessage(`{"u":2}`),
		}, func(t *testing.T, m *auth.Member) {
			if m.Name != "Grace" || !m.IsBreakglass || m.MFAPhoneNumber != mfaPhone || m.MFAPhoneVerified ||
				!strings.HasPrefix(m.MFAPhoneID, "member-phone-number-test-") || !m.MFAEnrolled ||
				m.DefaultMFAMethod != auth.MFAMethodSMS || m.ExternalID != "hr-7" {
				t.Fatalf("member = %+v", m)
			}
		}},
		{"OKAdminRoleKeptMemberRoleDropped", auth.MemberInput{EmailAddress: ptr("boss@acme.test"), RoleIDs: []string{auth.RoleMember, auth.RoleAdmin, auth.RoleAdmin}}, func(t *testing.T, m *auth.Member) {
			if !reflect.DeepEqual(m.RoleIDs, []string{auth.RoleAdmin}) || !m.IsAdmin(o) {
				t.Fatalf("roles = %v", m.RoleIDs)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, org, err := env.Service.CreateMember(t.Context(), env.Project, "acme", tt.in, auth.Caller{})
			if err != nil {
				t.Fatal(err)
			}
			if org.ID != o.ID || m.OrganizationID != o.ID || m.ProjectID != env.Project.ID {
				t.Fatalf("member of %q in %q", m.OrganizationID, org.ID)
			}
			tt.check(t, m)
			got, _, err := env.Service.GetMember(t.Context(), env.Project, o.ID, m.ID, "")
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, got)
		})
	}
}

func TestCreateMemberRefusesInvalidInput(t *testing.T) {
	env := authtest.New(t)
	o := mustOrg(t, env, env.Project, auth.OrganizationInput{Name: ptr("Acme")})
	other := mustOrg(t, env, env.Project, auth.OrganizationInput{Name: ptr("Other")})
	mustMember(t, env, env.Project, o, auth.MemberInput{EmailAddress: ptr("ada@acme.test"), ExternalID: ptr("ext-ada")})
	email := ptr("new@acme.test")
	tests := []struct {
		name  string
		org   string
		in    auth.MemberInput
		code  auth.Code
		field string
	}{
		{"ErrEmailMissing", o.ID, auth.MemberInput{Name: ptr("x")}, auth.EInvalidEmail, "email_address"},
		{"ErrEmailBlank", o.ID, auth.MemberInput{EmailAddress: ptr(" ")}, auth.EInvalidEmail, "email_address"},
		{"ErrEmailMalformed", o.ID, auth.MemberInput{EmailAddress: ptr("ada@")}, auth.EInvalidEmail, "email_address"},
		{"ErrNameTooLong", o.ID, auth.MemberInput{EmailAddress: email, Name: ptr(strings.Repeat("n", 257))}, auth.EInvalid, "name"},
		{"ErrNameInvalidUTF8", o.ID, auth.MemberInput{EmailAddress: email, Name: ptr("\xff")}, auth.EInvalid, "name"},
		{"ErrPhoneNotE164", o.ID, auth.MemberInput{EmailAddress: email, MFAPhoneNumber: ptr("202-555-0162")}, auth.EInvalidPhone, "mfa_phone_number"},
		{"ErrDefaultMFAMethodEmail", o.ID, auth.MemberInput{EmailAddress: email, DefaultMFAMethod: ptr("email_otp")}, auth.EInvalid, "default_mfa_method"},
		{"ErrUnknownRole", o.ID, auth.MemberInput{EmailAddress: email, RoleIDs: []string{"billing_admin"}}, auth.EInvalid, "roles"},
		{"ErrRoleWithNUL", o.ID, auth.MemberInput{EmailAddress: email, RoleIDs: []string{"a\x00"}}, auth.EInvalid, "roles"},
		{"ErrExternalIDTooLong", o.ID, auth.MemberInput{EmailAddress: email, ExternalID: ptr(strings.Repeat("e", 129))}, auth.EInvalid, "external_id"},
		{"ErrTrustedMetadataNotObject", o.ID, auth.MemberInput{EmailAddress: email, TrustedMetadata: json.RawMessage(`"x"`)}, auth.EInvalid, "trusted_metadata"},
		{"ErrUntrustedMetadataNotJSON", o.ID, auth.MemberInput{EmailAddress: email, UntrustedMetadata: json.RawMessage(`{`)}, auth.EInvalid, "untrusted_metadata"},
		{"ErrUnknownOrganization", "no-such-org", auth.MemberInput{EmailAddress: email}, auth.EOrganizationNotFound, ""},
		{"ErrMalformedOrganization", "a b", auth.MemberInput{EmailAddress: email}, auth.EInvalid, "organization_id"},
		{"ErrDuplicateEmailAnyCase", o.ID, auth.MemberInput{EmailAddress: ptr("ADA@acme.test")}, auth.EDuplicateMemberEmail, ""},
		{"ErrDuplicateExternalID", o.ID, auth.MemberInput{EmailAddress: email, ExternalID: ptr("ext-ada")}, auth.EDuplicateExternalID, ""},
		{"OKSameEmailInAnotherOrganization", other.ID, auth.MemberInput{EmailAddress: ptr("ada@acme.test"), ExternalID: ptr("ext-ada")}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := env.Service.CreateMember(t.Context(), env.Project, tt.org, tt.in, auth.Caller{})
			if auth.ErrorCode(err) != tt.code || (tt.field != "" && errField(err) != tt.field) {
				t.Fatalf("err = %v (field %q), want %q on %q", err, errField(err), tt.code, tt.field)
			}
		})
	}
	if n, err := env.Service.OrganizationMetrics(t.Context(), env.Project, o.ID); err != nil || n != 1 {
		t.Fatalf("members of acme = %d, %v; refused creates must store nothing", n, err)
	}
}

func TestGetMember(t *testing.T) {
	env := authtest.New(t)
	o := mustOrg(t, env, env.Project, auth.OrganizationInput{Name: ptr("Acme")})
	other := mustOrg(t, env, env.Project, auth.OrganizationInput{Name: ptr("Other")})
	m := mustMember(t, env, env.Project, o, auth.MemberInput{EmailAddress: ptr("ada@acme.test"), ExternalID: ptr("hr-1")})
	elsewhere := mustMember(t, env, env.Project, other, auth.MemberInput{EmailAddress: ptr("bob@acme.test")})
	gone := mustMember(t, env, env.Project, o, auth.MemberInput{EmailAddress: ptr("gone@acme.test")})
	if _, err := env.Service.DeleteMember(t.Context(), env.Project, o.ID, gone.ID, auth.Caller{}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, org, ref, email string
		code                  auth.Code
	}{
		{"OKByID", o.ID, m.ID, "", ""},
		{"OKByExternalIDAndSlug", "acme", "hr-1", "", ""},
		{"OKByEmailAnyCase", o.ID, "", "ADA@acme.test", ""},
		{"ErrBothIDAndEmail", o.ID, m.ID, "ada@acme.test", auth.EInvalid},
		{"ErrNeither", o.ID, "", "", auth.EInvalid},
		{"ErrMemberOfAnotherOrganization", o.ID, elsewhere.ID, "", auth.EMemberNotFound},
		{"ErrEmailOnlyInAnotherOrganization", o.ID, "", "bob@acme.test", auth.EMemberNotFound},
		{"ErrDeletedMember", o.ID, gone.ID, "", auth.EMemberNotFound},
		{"ErrMalformedEmail", o.ID, "", "ada", auth.EInvalidEmail},
		{"ErrMalformedMemberID", o.ID, "a\nb", "", auth.EInvalid},
		{"ErrUnknownOrganization", "nope", m.ID, "", auth.EOrganizationNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, org, err := env.Service.GetMember(t.Context(), env.Project, tt.org, tt.ref, tt.email)
			if auth.ErrorCode(err) != tt.code {
				t.Fatalf("err = %v, want %q", err, tt.code)
			}
			if tt.code == "" && (got.ID != m.ID || org.ID != o.ID) {
				t.Fatalf("got %s of %s", got.ID, org.ID)
			}
		})
	}
}

func TestUpdateMember(t *testing.T) {
	env := authtest.New(t)
	ctx := t.Context()
	p := env.Project
	o := mustOrg(t, env, p, auth.OrganizationInput{Name: ptr("Acme")})
	newMember := func(t *testing.T) (*auth.Member, string) {
		m := mustMember(t, env, p, o, auth.MemberInput{
			EmailAddress: ptr("m-" + auth.NewUUID()[:8] + "@acme.test"), Name: ptr("Ada"), RoleIDs: []string{auth.RoleAdmin},
			MFAPhoneNumber: ptr(mfaPhone), MFAEnrolled: ptr(true), UntrustedMetadata: json.RawMessage(`{"k":"v"}`),
		})
		_, token := memberSession(t, env, p, m)
		return m, token
	}
	update := func(t *testing.T, m *auth.Member, in auth.MemberInput) *auth.Member {
		t.Helper()
		got, _, err := env.Service.UpdateMember(ctx, p, o.ID, m.ID, in, auth.Caller{})
		if err != nil {
			t.Fatal(err)
		}
		stored, _, err := env.Service.GetMember(ctx, p, o.ID, m.ID, "")
		if err != nil {
			t.Fatal(err)
		}
		if stored.EmailID != got.EmailID || stored.MFAPhoneID != got.MFAPhoneID || stored.Name != got.Name {
			t.Fatalf("returned %+v, stored %+v", got, stored)
		}
		return stored
	}

	t.Run("OKUnsetFieldsUnchangedSessionsKept", func(t *testing.T) {
		m, token := newMember(t)
		got := update(t, m, auth.MemberInput{Name: ptr("Ada L.")})
		if got.Name != "Ada L." || got.EmailAddress != m.EmailAddress || got.EmailID != m.EmailID || got.MFAPhoneNumber != mfaPhone ||
			got.MFAPhoneID != m.MFAPhoneID || !got.MFAEnrolled || !reflect.DeepEqual(got.RoleIDs, []string{auth.RoleAdmin}) ||
			!strings.Contains(string(got.UntrustedMetadata), `"k"`) {
			t.Fatalf("after a name update: %+v", got)
		}
		if !sessionLive(t, env, p, token) {
			t.Fatal("a name update revoked the session")
		}
	})
	t.Run("OKEmailChangeUnverifiesAndRevokesSessions", func(t *testing.T) {
		m, token := newMember(t)
		got := update(t, m, auth.MemberInput{EmailAddress: ptr("Renamed-" + m.ID[len(m.ID)-6:] + "@Acme.test")})
		if got.EmailAddress != "renamed-"+m.ID[len(m.ID)-6:]+"@acme.test" || got.EmailVerified || got.EmailID == m.EmailID ||
			!strings.HasPrefix(got.EmailID, "member-email-test-") {
			t.Fatalf("after an email change: %+v", got)
		}
		if sessionLive(t, env, p, token) {
			t.Fatal("an email change kept the session")
		}
	})
	t.Run("OKEmailChangePreservingSessions", func(t *testing.T) {
		m, token := newMember(t)
		update(t, m, auth.MemberInput{EmailAddress: ptr("kept-" + m.ID[len(m.ID)-6:] + "@acme.test"), PreserveExistingSessions: true})
		if !sessionLive(t, env, p, token) {
			t.Fatal("preserve_existing_sessions revoked the session")
		}
	})
	t.Run("OKSameEmailKeepsEverything", func(t *testing.T) {
		m, token := newMember(t)
		got := update(t, m, auth.MemberInput{EmailAddress: ptr(strings.ToUpper(m.EmailAddress))})
		if got.EmailID != m.EmailID || !sessionLive(t, env, p, token) {
			t.Fatalf("re-setting the same email changed it: %+v", got)
		}
	})
	t.Run("OKRemovingAdminRevokesSessions", func(t *testing.T) {
		m, token := newMember(t)
		got := update(t, m, auth.MemberInput{RoleIDs: []string{}})
		if len(got.RoleIDs) != 0 || got.IsAdmin(o) {
			t.Fatalf("roles = %v", got.RoleIDs)
		}
		if sessionLive(t, env, p, token) {
			t.Fatal("removing stytch_admin kept the session")
		}
	})
	t.Run("OKNewPhoneUnverifiedNewID", func(t *testing.T) {
		m, token := newMember(t)
		got := update(t, m, auth.MemberInput{MFAPhoneNumber: ptr("+14155550123")})
		if got.MFAPhoneNumber != "+14155550123" || got.MFAPhoneVerified || got.MFAPhoneID == m.MFAPhoneID || got.MFAPhoneID == "" {
			t.Fatalf("after a phone change: %+v", got)
		}
		if !sessionLive(t, env, p, token) {
			t.Fatal("a phone change revoked the session")
		}
	})
	t.Run("OKEmptyPhoneRemovesIt", func(t *testing.T) {
		m, _ := newMember(t)
		got := update(t, m, auth.MemberInput{MFAPhoneNumber: ptr("")})
		if got.MFAPhoneNumber != "" || got.MFAPhoneID != "" || got.MFAPhoneVerified {
			t.Fatalf("after removing the phone: %+v", got)
		}
	})
	t.Run("ErrInvalidValueChangesNothing", func(t *testing.T) {
		m, _ := newMember(t)
		_, _, err := env.Service.UpdateMember(ctx, p, o.ID, m.ID, auth.MemberInput{Name: ptr("X"), RoleIDs: []string{"owner"}}, auth.Caller{})
		if auth.ErrorCode(err) != auth.EInvalid || errField(err) != "roles" {
			t.Fatalf("err = %v", err)
		}
		got, _, _ := env.Service.GetMember(ctx, p, o.ID, m.ID, "")
		if got.Name != "Ada" {
			t.Fatalf("name = %q after a refused update", got.Name)
		}
	})
	t.Run("ErrEmailOfAnotherMember", func(t *testing.T) {
		m, _ := newMember(t)
		n, _ := newMember(t)
		_, _, err := env.Service.UpdateMember(ctx, p, o.ID, m.ID, auth.MemberInput{EmailAddress: ptr(n.EmailAddress)}, auth.Caller{})
		if auth.ErrorCode(err) != auth.EDuplicateMemberEmail {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestDeleteAndReactivateMember(t *testing.T) {
	env := authtest.New(t)
	ctx := t.Context()
	p := env.Project
	o := mustOrg(t, env, p, auth.OrganizationInput{Name: ptr("Acme")})
	m := mustMember(t, env, p, o, auth.MemberInput{EmailAddress: ptr("ada@acme.test"), MFAPhoneNumber: ptr(mfaPhone)})
	_, token1 := memberSession(t, env, p, m)
	_, token2 := memberSession(t, env, p, m)

	id, err := env.Service.DeleteMember(ctx, p, "acme", m.ID, auth.Caller{})
	if err != nil || id != m.ID {
		t.Fatalf("DeleteMember = %q, %v", id, err)
	}
	if sessionLive(t, env, p, token1) || sessionLive(t, env, p, token2) {
		t.Fatal("a deleted member kept a session")
	}
	steps := []struct {
		name string
		run  func() error
		code auth.Code
	}{
		{"ErrDeleteAgain", func() error { _, err := env.Service.DeleteMember(ctx, p, o.ID, m.ID, auth.Caller{}); return err }, auth.EMemberDeleted},
		{"ErrUpdateDeleted", func() error {
			_, _, err := env.Service.UpdateMember(ctx, p, o.ID, m.ID, auth.MemberInput{Name: ptr("x")}, auth.Caller{})
			return err
		}, auth.EMemberDeleted},
		{"ErrDeletePhoneOfDeleted", func() error {
			_, _, err := env.Service.DeleteMemberMFAPhone(ctx, p, o.ID, m.ID, auth.Caller{})
			return err
		}, auth.EMemberDeleted},
		{"ErrDangerouslyGetWithoutIncludeDeleted", func() error { _, _, err := env.Service.DangerouslyGetMember(ctx, p, m.ID, false); return err }, auth.EMemberNotFound},
		{"OKDangerouslyGetWithIncludeDeleted", func() error {
			got, org, err := env.Service.DangerouslyGetMember(ctx, p, m.ID, true)
			if err == nil && (got.Status != auth.MemberDeleted || org.ID != o.ID) {
				t.Errorf("dangerously_get = %+v of %s", got, org.ID)
			}
			return err
		}, ""},
		{"OKReactivate", func() error {
			got, org, err := env.Service.ReactivateMember(ctx, p, o.ID, m.ID, auth.Caller{})
			if err == nil && (got.Status != auth.MemberActive || org.ID != o.ID) {
				t.Errorf("reactivated = %+v", got)
			}
			return err
		}, ""},
		{"ErrReactivateActive", func() error { _, _, err := env.Service.ReactivateMember(ctx, p, o.ID, m.ID, auth.Caller{}); return err }, auth.EInvalid},
		{"OKGetAfterReactivate", func() error { _, _, err := env.Service.GetMember(ctx, p, o.ID, m.ID, ""); return err }, ""},
		{"ErrDeleteUnknown", func() error {
			_, err := env.Service.DeleteMember(ctx, p, o.ID, "member-test-nope", auth.Caller{})
			return err
		}, auth.EMemberNotFound},
	}
	for _, st := range steps {
		if err := st.run(); auth.ErrorCode(err) != st.code {
			t.Fatalf("%s: err = %v, want %q", st.name, err, st.code)
		}
	}
}

func TestDeleteMemberMFAPhone(t *testing.T) {
	env := authtest.New(t)
	ctx := t.Context()
	p := env.Project
	tests := []struct {
		name         string
		policy       string
		wantEnrolled bool
	}{
		{"OKOptionalPolicyUnenrolls", auth.MFAOptional, false},
		{"OKRequiredForAllStaysEnrolled", auth.MFARequiredForAll, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := mustOrg(t, env, p, auth.OrganizationInput{Name: ptr("Org " + tt.policy), MFAPolicy: ptr(tt.policy)})
			m := mustMember(t, env, p, o, auth.MemberInput{EmailAddress: ptr("ada@acme.test"), MFAPhoneNumber: ptr(mfaPhone),
				MFAEnrolled: ptr(true), DefaultMFAMethod: ptr(auth.MFAMethodSMS)})
			_, token := memberSession(t, env, p, m)
			got, org, err := env.Service.DeleteMemberMFAPhone(ctx, p, o.ID, m.ID, auth.Caller{})
			if err != nil || org.ID != o.ID {
				t.Fatal(err)
			}
			stored, _, _ := env.Service.GetMember(ctx, p, o.ID, m.ID, "")
			for _, x := range []*auth.Member{got, stored} {
				if x.MFAPhoneNumber != "" || x.MFAPhoneID != "" || x.MFAPhoneVerified || x.MFAEnrolled != tt.wantEnrolled || x.DefaultMFAMethod != "" {
					t.Fatalf("after deleting the phone: %+v", x)
				}
			}
			if !sessionLive(t, env, p, token) {
				t.Fatal("deleting the MFA phone revoked the session")
			}
			again, _, err := env.Service.DeleteMemberMFAPhone(ctx, p, o.ID, m.ID, auth.Caller{})
			if err != nil || again.MFAPhoneNumber != "" {
				t.Fatalf("second delete: %v", err)
			}
		})
	}
}

func TestMemberRolesFromDirectAndEmailDomainSources(t *testing.T) {
	env := authtest.New(t)
	o := mustOrg(t, env, env.Project, auth.OrganizationInput{Name: ptr("Acme"),
		RBACEmailImplicitRoleAssignments: []auth.RoleAssignment{{Domain: "admins.acme.test", RoleID: auth.RoleAdmin}}})
	member := []auth.MemberRole{{RoleID: auth.RoleMember, Sources: []string{auth.RoleSourceDirect}}}
	tests := []struct {
		name      string
		email     string
		roles     []string
		want      []auth.MemberRole
		wantAdmin bool
	}{
		{"OKPlainMemberOnlyStytchMember", "ada@acme.test", nil, member, false},
		{"OKDirectAdmin", "bob@acme.test", []string{auth.RoleAdmin},
			append(member, auth.MemberRole{RoleID: auth.RoleAdmin, Sources: []string{auth.RoleSourceDirect}}), true},
		{"OKAdminByEmailDomain", "cy@admins.acme.test", nil,
			append(member, auth.MemberRole{RoleID: auth.RoleAdmin, Sources: []string{auth.RoleSourceEmail}}), true},
		{"OKAdminByBothSourcesMerged", "di@ADMINS.acme.test", []string{auth.RoleAdmin},
			append(member, auth.MemberRole{RoleID: auth.RoleAdmin, Sources: []string{auth.RoleSourceDirect, auth.RoleSourceEmail}}), true},
		{"OKParentDomainDoesNotMatch", "ed@sub.admins.acme.test", nil, member, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mustMember(t, env, env.Project, o, auth.MemberInput{EmailAddress: ptr(tt.email), RoleIDs: tt.roles})
			if got := m.Roles(o); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("roles = %+v, want %+v", got, tt.want)
			}
			if m.IsAdmin(o) != tt.wantAdmin {
				t.Fatalf("IsAdmin = %v", m.IsAdmin(o))
			}
		})
	}
}

func TestSearchMembers(t *testing.T) {
	env := authtest.New(t)
	other, _ := env.NewProject(t, false)
	o := mustOrg(t, env, env.Project, auth.OrganizationInput{Name: ptr("Acme")})
	o2 := mustOrg(t, env, env.Project, auth.OrganizationInput{Name: ptr("Beta")})
	foreign := mustOrg(t, env, other, auth.OrganizationInput{Name: ptr("Foreign")})
	a := mustMember(t, env, env.Project, o, auth.MemberInput{EmailAddress: ptr("ada@acme.test")})
	b := mustMember(t, env, env.Project, o2, auth.MemberInput{EmailAddress: ptr("bob@beta.test")})
	mustMember(t, env, other, foreign, auth.MemberInput{EmailAddress: ptr("ada@acme.test")})
	many := make([]string, 101)
	for i := range many {
		many[i] = o.ID
	}
	tests := []struct {
		name     string
		q        auth.MemberQuery
		code     auth.Code
		field    string
		want     []string
		wantOrgs []string
	}{
		{"OKOneOrganization", auth.MemberQuery{OrganizationIDs: []string{o.ID}}, "", "", []string{a.ID}, []string{o.ID}},
		{"OKTwoOrganizationsDuplicatesIgnored", auth.MemberQuery{OrganizationIDs: []string{o.ID, o2.ID, o.ID}}, "", "", []string{a.ID, b.ID}, []string{o.ID, o2.ID}},
		{"OKEmailAnyCase", auth.MemberQuery{OrganizationIDs: []string{o.ID, o2.ID}, MemberEmails: []string{"BOB@beta.test"}}, "", "", []string{b.ID}, []string{o.ID, o2.ID}},
		{"ErrNoOrganizations", auth.MemberQuery{}, auth.EInvalid, "organization_ids", nil, nil},
		{"ErrTooManyOrganizations", auth.MemberQuery{OrganizationIDs: many}, auth.EInvalid, "organization_ids", nil, nil},
		{"ErrUnknownOrganization", auth.MemberQuery{OrganizationIDs: []string{o.ID, "organization-test-nope"}}, auth.EOrganizationNotFound, "organization_ids", nil, nil},
		{"ErrAnotherProjectsOrganization", auth.MemberQuery{OrganizationIDs: []string{foreign.ID}}, auth.EOrganizationNotFound, "organization_ids", nil, nil},
		{"ErrSlugInsteadOfID", auth.MemberQuery{OrganizationIDs: []string{"acme"}}, auth.EOrganizationNotFound, "organization_ids", nil, nil},
		{"ErrUnknownStatus", auth.MemberQuery{OrganizationIDs: []string{o.ID}, Statuses: []auth.MemberStatus{"banned"}}, auth.EInvalid, "statuses", nil, nil},
		{"ErrLimitTooLarge", auth.MemberQuery{OrganizationIDs: []string{o.ID}, Limit: 1001}, auth.EInvalid, "limit", nil, nil},
		{"ErrFuzzyTooLong", auth.MemberQuery{OrganizationIDs: []string{o.ID}, MemberEmailFuzzy: strings.Repeat("a", 129)}, auth.EInvalid, "member_email_fuzzy", nil, nil},
		{"ErrTooManyMemberIDs", auth.MemberQuery{OrganizationIDs: []string{o.ID}, MemberIDs: many}, auth.EInvalid, "member_ids", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page, orgs, err := env.Service.SearchMembers(t.Context(), env.Project, tt.q, auth.Caller{})
			if auth.ErrorCode(err) != tt.code || errField(err) != tt.field {
				t.Fatalf("err = %v (field %q), want %q on %q", err, errField(err), tt.code, tt.field)
			}
			if tt.code != "" {
				return
			}
			var ids []string
			for _, m := range page.Members {
				ids = append(ids, m.ID)
			}
			if !reflect.DeepEqual(ids, tt.want) {
				t.Fatalf("members = %v, want %v", ids, tt.want)
			}
			if len(orgs) != len(tt.wantOrgs) {
				t.Fatalf("organizations = %v, want %v", orgs, tt.wantOrgs)
			}
			for _, id := range tt.wantOrgs {
				if orgs[id] == nil || orgs[id].ID != id {
					t.Fatalf("organization %s missing from %v", id, orgs)
				}
			}
		})
	}
}

func TestMemberSessionCallerRBAC(t *testing.T) {
	env := authtest.New(t)
	ctx := t.Context()
	p := env.Project
	a := mustOrg(t, env, p, auth.OrganizationInput{Name: ptr("Org A"),
		RBACEmailImplicitRoleAssignments: []auth.RoleAssignment{{Domain: "it.a.test", RoleID: auth.RoleAdmin}}})
	b := mustOrg(t, env, p, auth.OrganizationInput{Name: ptr("Org B")})
	adminA := mustMember(t, env, p, a, auth.MemberInput{EmailAddress: ptr("admin@a.test"), RoleIDs: []string{auth.RoleAdmin}})
	domainAdminA := mustMember(t, env, p, a, auth.MemberInput{EmailAddress: ptr("ops@it.a.test")})
	userA := mustMember(t, env, p, a, auth.MemberInput{EmailAddress: ptr("user@a.test"), MFAPhoneNumber: ptr(mfaPhone)})
	peerA := mustMember(t, env, p, a, auth.MemberInput{EmailAddress: ptr("peer@a.test"), MFAPhoneNumber: ptr(mfaPhone)})
	adminB := mustMember(t, env, p, b, auth.MemberInput{EmailAddress: ptr("admin@a.test"), RoleIDs: []string{auth.RoleAdmin}})
	memberB := mustMember(t, env, p, b, auth.MemberInput{EmailAddress: ptr("member@b.test")})

	tok := func(m *auth.Member) auth.Caller {
		_, token := memberSession(t, env, p, m)
		return auth.Caller{SessionToken: token}
	}
	asAdminA, asDomainAdminA, asUserA, asAdminB := tok(adminA), tok(domainAdminA), tok(userA), tok(adminB)
	revokedSess, revokedToken := memberSession(t, env, p, adminA)
	if err := env.Store.RevokeSession(ctx, p.ID, revokedSess.ID); err != nil {
		t.Fatal(err)
	}
	asRevoked := auth.Caller{SessionToken: revokedToken}
	asConsumer := auth.Caller{SessionToken: consumerSessionToken(t, env, p)}
	jwtSess, _ := memberSession(t, env, p, adminA)
	jwtSess.OrganizationSlug, jwtSess.Roles = a.Slug, []string{auth.RoleMember, auth.RoleAdmin}
	jwt, err := env.Signer.SignSession(ctx, jwtSess)
	if err != nil {
		t.Fatal(err)
	}
	asAdminAJWT := auth.Caller{SessionJWT: jwt}

	updOrg := func(org *auth.Organization) func(auth.Caller) error {
		return func(c auth.Caller) error {
			_, err := env.Service.UpdateOrganization(ctx, p, org.ID, auth.OrganizationInput{LogoURL: ptr("https://x.test/l.png")}, c)
			return err
		}
	}
	updMember := func(org *auth.Organization, m *auth.Member, in auth.MemberInput) func(auth.Caller) error {
		return func(c auth.Caller) error {
			_, _, err := env.Service.UpdateMember(ctx, p, org.ID, m.ID, in, c)
			return err
		}
	}
	delPhone := func(m *auth.Member) func(auth.Caller) error {
		return func(c auth.Caller) error {
			_, _, err := env.Service.DeleteMemberMFAPhone(ctx, p, a.ID, m.ID, c)
			return err
		}
	}
	createMember := func(org *auth.Organization) func(auth.Caller) error {
		return func(c auth.Caller) error {
			_, _, err := env.Service.CreateMember(ctx, p, org.ID, auth.MemberInput{EmailAddress: ptr("n-" + auth.NewUUID()[:8] + "@a.test")}, c)
			return err
		}
	}
	delMember := func(org *auth.Organization, m *auth.Member) func(auth.Caller) error {
		return func(c auth.Caller) error { _, err := env.Service.DeleteMember(ctx, p, org.ID, m.ID, c); return err }
	}
	reactivate := func(org *auth.Organization, m *auth.Member) func(auth.Caller) error {
		return func(c auth.Caller) error {
			_, _, err := env.Service.ReactivateMember(ctx, p, org.ID, m.ID, c)
			return err
		}
	}
	search := func(orgs ...*auth.Organization) func(auth.Caller) error {
		return func(c auth.Caller) error {
			var ids []string
			for _, o := range orgs {
				ids = append(ids, o.ID)
			}
			_, _, err := env.Service.SearchMembers(ctx, p, auth.MemberQuery{OrganizationIDs: ids}, c)
			return err
		}
	}
	delOrg := func(org *auth.Organization) func(auth.Caller) error {
		return func(c auth.Caller) error { _, err := env.Service.DeleteOrganization(ctx, p, org.ID, c); return err }
	}

	tests := []struct {
		name   string
		caller auth.Caller
		op     func(auth.Caller) error
		code   auth.Code
	}{
		{"OKNoHeadersUpdatesOrganization", auth.Caller{}, updOrg(a), ""},
		{"OKNoHeadersUpdatesAnyMember", auth.Caller{}, updMember(b, memberB, auth.MemberInput{Name: ptr("x")}), ""},
		{"OKAdminOfAUpdatesA", asAdminA, updOrg(a), ""},
		{"OKAdminOfAByJWTUpdatesA", asAdminAJWT, updOrg(a), ""},
		{"OKEmailDomainAdminUpdatesA", asDomainAdminA, updOrg(a), ""},
		{"OKAdminOfACreatesMember", asAdminA, createMember(a), ""},
		{"OKAdminOfAUpdatesPeerSettings", asAdminA, updMember(a, peerA, auth.MemberInput{Name: ptr("Peer"), IsBreakglass: ptr(false)}), ""},
		{"OKAdminOfADeletesPeerPhone", asAdminA, delPhone(peerA), ""},
		{"ErrAdminOfAUpdatesB", asAdminA, updOrg(b), auth.EForbidden},
		{"ErrAdminOfBUpdatesA", asAdminB, updOrg(a), auth.EForbidden},
		{"ErrAdminOfBDeletesA", asAdminB, delOrg(a), auth.EForbidden},
		{"ErrAdminOfAUpdatesMemberOfB", asAdminA, updMember(b, memberB, auth.MemberInput{Name: ptr("x")}), auth.EForbidden},
		{"ErrAdminOfACreatesMemberInB", asAdminA, createMember(b), auth.EForbidden},
		{"ErrAdminOfAReachesMemberOfBThroughA", asAdminA, updMember(a, memberB, auth.MemberInput{Name: ptr("x")}), auth.EMemberNotFound},
		{"ErrMemberUpdatesSettings", asUserA, updOrg(a), auth.EForbidden},
		{"ErrMemberDeletesOrganization", asUserA, delOrg(a), auth.EForbidden},
		{"ErrMemberCreatesMember", asUserA, createMember(a), auth.EForbidden},
		{"ErrMemberUpdatesPeer", asUserA, updMember(a, peerA, auth.MemberInput{Name: ptr("x")}), auth.EForbidden},
		{"ErrMemberDeletesPeerPhone", asUserA, delPhone(peerA), auth.EForbidden},
		{"ErrMemberDeletesPeer", asUserA, delMember(a, peerA), auth.EForbidden},
		{"ErrMemberDeletesSelf", asUserA, delMember(a, userA), auth.EForbidden},
		{"ErrMemberReactivates", asUserA, reactivate(a, peerA), auth.EForbidden},
		{"ErrMemberMakesSelfAdmin", asUserA, updMember(a, userA, auth.MemberInput{RoleIDs: []string{auth.RoleAdmin}}), auth.EForbidden},
		{"ErrMemberMakesSelfBreakglass", asUserA, updMember(a, userA, auth.MemberInput{IsBreakglass: ptr(true)}), auth.EForbidden},
		{"ErrMemberChangesOwnEmail", asUserA, updMember(a, userA, auth.MemberInput{EmailAddress: ptr("other@a.test")}), auth.EForbidden},
		{"ErrMemberChangesOwnTrustedMetadata", asUserA, updMember(a, userA, auth.MemberInput{TrustedMetadata: json.RawMessage(`{"plan":"pro"}`)}), auth.EForbidden},
		{"OKMemberUpdatesOwnName", asUserA, updMember(a, userA, auth.MemberInput{Name: ptr("Me"), UntrustedMetadata: json.RawMessage(`{"theme":"dark"}`)}), ""},
		{"OKMemberResendsOwnRolesUnchanged", asUserA, updMember(a, userA, auth.MemberInput{RoleIDs: []string{auth.RoleMember}, EmailAddress: ptr("USER@a.test")}), ""},
		{"OKMemberDeletesOwnPhone", asUserA, delPhone(userA), ""},
		{"OKMemberSearchesOwnOrganization", asUserA, search(a), ""},
		{"ErrMemberSearchesOtherOrganization", asUserA, search(a, b), auth.EForbidden},
		{"ErrAdminOfASearchesB", asAdminA, search(b), auth.EForbidden},
		{"ErrConsumerSessionToken", asConsumer, updOrg(a), auth.ESessionNotFound},
		{"ErrUnknownSessionToken", auth.Caller{SessionToken: auth.NewToken()}, updOrg(a), auth.ESessionNotFound},
		{"ErrRevokedSessionToken", asRevoked, updOrg(a), auth.ESessionNotFound},
		{"ErrGarbageJWT", auth.Caller{SessionJWT: "not.a.jwt"}, updOrg(a), auth.EJWTInvalid},
		{"ErrBothHeaders", auth.Caller{SessionToken: asAdminA.SessionToken, SessionJWT: jwt}, updOrg(a), auth.ETooManySessionArgs},
		{"ErrConsumerSessionSearches", asConsumer, search(a), auth.ESessionNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.op(tt.caller); auth.ErrorCode(err) != tt.code {
				t.Fatalf("err = %v, want %q", err, tt.code)
			}
		})
	}

	t.Run("ErrRefusedUpdateChangesNothing", func(t *testing.T) {
		got, _ := env.Service.GetOrganization(ctx, p, b.ID)
		if got.LogoURL != "" {
			t.Fatalf("org B logo = %q after refused updates", got.LogoURL)
		}
		m, _, _ := env.Service.GetMember(ctx, p, a.ID, userA.ID, "")
		if m.IsAdmin(a) || m.IsBreakglass || m.EmailAddress != "user@a.test" || m.Name != "Me" {
			t.Fatalf("member after refused self-updates: %+v", m)
		}
	})
	t.Run("ErrDeletedAdminLosesAccess", func(t *testing.T) {
		// A deleted member's sessions are revoked; a session created
		// around that (a race) is still refused.
		if _, err := env.Service.DeleteMember(ctx, p, a.ID, domainAdminA.ID, auth.Caller{}); err != nil {
			t.Fatal(err)
		}
		_, token := memberSession(t, env, p, domainAdminA)
		if err := updOrg(a)(auth.Caller{SessionToken: token}); auth.ErrorCode(err) != auth.EForbidden {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("OKNoHeadersReadsStayAllowed", func(t *testing.T) {
		if _, _, err := env.Service.GetMember(ctx, p, b.ID, memberB.ID, ""); err != nil {
			t.Fatal(err)
		}
	})
}
