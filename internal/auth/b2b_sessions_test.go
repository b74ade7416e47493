package auth_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/authtest"
)

// session runs a primary factor for m in o (which must not require MFA)
// and returns the result with its session.
func (f *flowEnv) session(o *auth.Organization, m *auth.Member) *auth.MemberAuthResult {
	f.t.Helper()
	res := f.primary(o, m)
	if !res.Authenticated || res.SessionToken == "" {
		f.t.Fatalf("primary result = %+v, want a session", res)
	}
	return res
}

func TestAuthenticateMemberSession(t *testing.T) {
	f := newFlowEnv(t)
	o := f.org(nil)
	admin := f.member(o, flowEmail("acme.test"), func(in *auth.MemberInput) { in.RoleIDs = []string{auth.RoleAdmin} })
	plain := f.member(o, flowEmail("acme.test"), nil)
	adminRes, plainRes := f.session(o, admin), f.session(o, plain)
	other := f.org(nil)
	check := func(org, resource string) *auth.AuthorizationCheck {
		return &auth.AuthorizationCheck{OrganizationID: org, ResourceID: resource, Action: "update"}
	}
	tests := []struct {
		name       string
		in         auth.MemberSessionInput
		code       auth.Code
		wantRoles  []string
		wantGrants []string
	}{
		{"OKToken", auth.MemberSessionInput{Token: plainRes.SessionToken}, "", []string{"stytch_member"}, nil},
		{"OKJWTAdminRoles", auth.MemberSessionInput{JWT: adminRes.SessionJWT}, "", []string{"stytch_member", "stytch_admin"}, nil},
		{"OKAdminAuthorizedForOrganization", auth.MemberSessionInput{Token: adminRes.SessionToken, Authorization: check(o.ID, "stytch.organization")}, "", []string{"stytch_member", "stytch_admin"}, []string{"stytch_admin"}},
		{"OKMemberAuthorizedForSelfBySlug", auth.MemberSessionInput{Token: plainRes.SessionToken, Authorization: check(o.Slug, "stytch.self")}, "", []string{"stytch_member"}, []string{"stytch_member"}},
		{"ErrMemberNotAuthorizedForOrganization", auth.MemberSessionInput{Token: plainRes.SessionToken, Authorization: check(o.ID, "stytch.organization")}, auth.EForbidden, nil, nil},
		{"ErrCheckNamesAnotherOrganization", auth.MemberSessionInput{Token: adminRes.SessionToken, Authorization: check(other.ID, "stytch.organization")}, auth.EForbidden, nil, nil},
		{"ErrCheckWithoutResource", auth.MemberSessionInput{Token: adminRes.SessionToken, Authorization: check(o.ID, "")}, auth.EInvalid, nil, nil},
		{"ErrBothTokenAndJWT", auth.MemberSessionInput{Token: plainRes.SessionToken, JWT: plainRes.SessionJWT}, auth.ETooManySessionArgs, nil, nil},
		{"ErrNoArguments", auth.MemberSessionInput{}, auth.ENoSessionArgs, nil, nil},
		{"ErrConsumerSession", auth.MemberSessionInput{Token: consumerToken(t, f)}, auth.ESessionNotFound, nil, nil},
		{"ErrUnknownToken", auth.MemberSessionInput{Token: auth.NewToken()}, auth.ESessionNotFound, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := f.Service.AuthenticateMemberSession(t.Context(), f.Project, tt.in)
			wantErr(t, err, tt.code)
			if tt.code != "" {
				return
			}
			if !reflect.DeepEqual(res.Session.Roles, tt.wantRoles) || res.Session.OrganizationSlug != o.Slug || res.Organization.ID != o.ID {
				t.Fatalf("session roles = %v, slug = %q", res.Session.Roles, res.Session.OrganizationSlug)
			}
			if tt.wantGrants != nil && (res.Verdict == nil || !res.Verdict.Authorized || !reflect.DeepEqual(res.Verdict.GrantingRoles, tt.wantGrants)) {
				t.Fatalf("verdict = %+v, want granted by %v", res.Verdict, tt.wantGrants)
			}
			claims := jwtPayload(t, res.SessionJWT)
			roles := claims["https://stytch.com/session"].(map[string]any)["roles"]
			want := []any{}
			for _, r := range tt.wantRoles {
				want = append(want, r)
			}
			if !reflect.DeepEqual(roles, want) || claims["sub"] != res.Member.ID {
				t.Fatalf("JWT roles = %v sub = %v", roles, claims["sub"])
			}
		})
	}
}

func TestAuthenticateMemberSessionExtendsAndMergesClaims(t *testing.T) {
	f := newFlowEnv(t)
	o := f.org(nil)
	m := f.member(o, flowEmail("acme.test"), nil)
	s := f.session(o, m)
	res, err := f.Service.AuthenticateMemberSession(t.Context(), f.Project, auth.MemberSessionInput{
		Token: s.SessionToken, Duration: 3 * time.Hour,
		CustomClaims: map[string]any{"team": "red", "https://stytch.com/organization": "evil", "sub": "evil"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := time.Until(res.Session.ExpiresAt); got < 179*time.Minute {
		t.Fatalf("expires in %v, want 3h", got)
	}
	if !reflect.DeepEqual(res.Session.CustomClaims, map[string]any{"team": "red"}) {
		t.Fatalf("custom claims = %v", res.Session.CustomClaims)
	}
	claims := jwtPayload(t, res.SessionJWT)
	if claims["team"] != "red" || claims["sub"] != m.ID {
		t.Fatalf("claims = %v", claims)
	}
	if org := claims["https://stytch.com/organization"].(map[string]any); org["organization_id"] != o.ID {
		t.Fatalf("organization claim = %v", org)
	}
}

func TestConsumerAndMemberSessionsStayApart(t *testing.T) {
	f := newFlowEnv(t)
	o := f.org(nil)
	m := f.member(o, flowEmail("acme.test"), nil)
	member := f.session(o, m)
	consumer := consumerToken(t, f)
	tests := []struct {
		name string
		run  func() error
		code auth.Code
	}{
		{"ErrConsumerAuthenticateWithMemberToken", func() error {
			_, err := f.Service.AuthenticateSession(t.Context(), f.Project, auth.AuthenticateSessionInput{Token: member.SessionToken})
			return err
		}, auth.ESessionNotFound},
		{"ErrConsumerAuthenticateWithMemberJWT", func() error {
			_, err := f.Service.AuthenticateSession(t.Context(), f.Project, auth.AuthenticateSessionInput{JWT: member.SessionJWT})
			return err
		}, auth.ESessionNotFound},
		{"ErrConsumerRevokeOfMemberSessionID", func() error {
			return f.Service.RevokeSession(t.Context(), f.Project, auth.RevokeSessionInput{SessionID: member.Session.ID})
		}, auth.ESessionNotFound},
		{"ErrMemberAuthenticateWithConsumerToken", func() error {
			_, err := f.Service.AuthenticateMemberSession(t.Context(), f.Project, auth.MemberSessionInput{Token: consumer})
			return err
		}, auth.ESessionNotFound},
		{"ErrMemberRevokeOfConsumerToken", func() error {
			return f.Service.RevokeMemberSession(t.Context(), f.Project, auth.RevokeMemberSessionInput{Token: consumer})
		}, auth.ESessionNotFound},
		{"ErrMemberSessionInAnotherProject", func() error {
			p2, _ := f.NewProject(t, false)
			_, err := f.Service.AuthenticateMemberSession(t.Context(), p2, auth.MemberSessionInput{Token: member.SessionToken})
			return err
		}, auth.ESessionNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantErr(t, tt.run(), tt.code) })
	}
	// Both sessions are still live.
	if _, err := f.Service.AuthenticateMemberSession(t.Context(), f.Project, auth.MemberSessionInput{Token: member.SessionToken}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Service.AuthenticateSession(t.Context(), f.Project, auth.AuthenticateSessionInput{Token: consumer}); err != nil {
		t.Fatal(err)
	}
}

func TestRevokeMemberSession(t *testing.T) {
	tests := []struct {
		name string
		// run returns the revoke input; victim is the session it should end.
		in   func(f *flowEnv, o *auth.Organization, victim, caller *auth.MemberAuthResult, admin *auth.MemberAuthResult) auth.RevokeMemberSessionInput
		code auth.Code
	}{
		{"OKByID", func(f *flowEnv, o *auth.Organization, v, c, a *auth.MemberAuthResult) auth.RevokeMemberSessionInput {
			return auth.RevokeMemberSessionInput{MemberSessionID: v.Session.ID}
		}, ""},
		{"OKByJWT", func(f *flowEnv, o *auth.Organization, v, c, a *auth.MemberAuthResult) auth.RevokeMemberSessionInput {
			return auth.RevokeMemberSessionInput{JWT: v.SessionJWT}
		}, ""},
		{"OKEveryOneOfMember", func(f *flowEnv, o *auth.Organization, v, c, a *auth.MemberAuthResult) auth.RevokeMemberSessionInput {
			return auth.RevokeMemberSessionInput{MemberID: v.Member.ID}
		}, ""},
		{"OKSelfAsCaller", func(f *flowEnv, o *auth.Organization, v, c, a *auth.MemberAuthResult) auth.RevokeMemberSessionInput {
			return auth.RevokeMemberSessionInput{MemberID: v.Member.ID, Caller: auth.Caller{SessionToken: v.SessionToken}}
		}, ""},
		{"OKAdminCallerRevokesOther", func(f *flowEnv, o *auth.Organization, v, c, a *auth.MemberAuthResult) auth.RevokeMemberSessionInput {
			return auth.RevokeMemberSessionInput{MemberSessionID: v.Session.ID, Caller: auth.Caller{SessionJWT: a.SessionJWT}}
		}, ""},
		{"ErrNonAdminCallerRevokesOther", func(f *flowEnv, o *auth.Organization, v, c, a *auth.MemberAuthResult) auth.RevokeMemberSessionInput {
			return auth.RevokeMemberSessionInput{MemberID: v.Member.ID, Caller: auth.Caller{SessionToken: c.SessionToken}}
		}, auth.EForbidden},
		{"ErrAdminOfAnotherOrganization", func(f *flowEnv, o *auth.Organization, v, c, a *auth.MemberAuthResult) auth.RevokeMemberSessionInput {
			o2 := f.org(nil)
			boss := f.session(o2, f.member(o2, flowEmail("acme.test"), func(in *auth.MemberInput) { in.RoleIDs = []string{auth.RoleAdmin} }))
			return auth.RevokeMemberSessionInput{MemberID: v.Member.ID, Caller: auth.Caller{SessionToken: boss.SessionToken}}
		}, auth.EForbidden},
		{"ErrTwoArguments", func(f *flowEnv, o *auth.Organization, v, c, a *auth.MemberAuthResult) auth.RevokeMemberSessionInput {
			return auth.RevokeMemberSessionInput{MemberID: v.Member.ID, Token: v.SessionToken}
		}, auth.ETooManySessionArgs},
		{"ErrNoArgument", func(f *flowEnv, o *auth.Organization, v, c, a *auth.MemberAuthResult) auth.RevokeMemberSessionInput {
			return auth.RevokeMemberSessionInput{}
		}, auth.ENoSessionArgs},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFlowEnv(t)
			o := f.org(nil)
			vm := f.member(o, flowEmail("acme.test"), nil)
			victim, victim2 := f.session(o, vm), f.session(o, vm)
			caller := f.session(o, f.member(o, flowEmail("acme.test"), nil))
			admin := f.session(o, f.member(o, flowEmail("acme.test"), func(in *auth.MemberInput) { in.RoleIDs = []string{auth.RoleAdmin} }))
			in := tt.in(f, o, victim, caller, admin)
			wantErr(t, f.Service.RevokeMemberSession(t.Context(), f.Project, in), tt.code)
			live := func(tok string) bool {
				_, err := f.Service.AuthenticateMemberSession(t.Context(), f.Project, auth.MemberSessionInput{Token: tok})
				return err == nil
			}
			all := in.MemberID != "" && tt.code == ""
			if live(victim.SessionToken) != (tt.code != "") || live(victim2.SessionToken) != !all || !live(caller.SessionToken) {
				t.Fatalf("live after revoke: victim %v, victim's other %v, caller %v", live(victim.SessionToken), live(victim2.SessionToken), live(caller.SessionToken))
			}
			list, err := f.Service.ListMemberSessions(t.Context(), f.Project, o.ID, vm.ID)
			if err != nil {
				t.Fatal(err)
			}
			want := 2
			switch {
			case all:
				want = 0
			case tt.code == "":
				want = 1
			}
			if len(list) != want {
				t.Fatalf("ListMemberSessions = %d sessions, want %d", len(list), want)
			}
			for _, s := range list {
				if s.Token == "" || s.OrganizationSlug != o.Slug || s.MemberID != vm.ID {
					t.Fatalf("listed session = %+v", s)
				}
			}
		})
	}
}

func TestB2BInvite(t *testing.T) {
	tests := []struct {
		name   string
		mods   func(in *auth.OrganizationInput)
		email  func(f *flowEnv, o *auth.Organization) string
		caller func(f *flowEnv, o *auth.Organization) auth.Caller
		code   auth.Code
	}{
		{"OKNewEmail", nil, func(*flowEnv, *auth.Organization) string { return flowEmail("acme.test") }, nil, ""},
		{"OKPendingMember", nil, func(f *flowEnv, o *auth.Organization) string {
			return f.member(o, flowEmail("acme.test"), func(in *auth.MemberInput) { in.CreatePending = true }).EmailAddress
		}, nil, ""},
		{"OKAdminCaller", nil, func(*flowEnv, *auth.Organization) string { return flowEmail("acme.test") }, func(f *flowEnv, o *auth.Organization) auth.Caller {
			a := f.session(o, f.member(o, flowEmail("acme.test"), func(in *auth.MemberInput) { in.RoleIDs = []string{auth.RoleAdmin} }))
			return auth.Caller{SessionToken: a.SessionToken}
		}, ""},
		{"ErrNonAdminCaller", nil, func(*flowEnv, *auth.Organization) string { return flowEmail("acme.test") }, func(f *flowEnv, o *auth.Organization) auth.Caller {
			return auth.Caller{SessionToken: f.session(o, f.member(o, flowEmail("acme.test"), nil)).SessionToken}
		}, auth.EForbidden},
		{"ErrActiveMember", nil, func(f *flowEnv, o *auth.Organization) string {
			return f.member(o, flowEmail("acme.test"), nil).EmailAddress
		}, nil, auth.EMemberAlreadyActive},
		{"ErrInvitesNotAllowed", func(in *auth.OrganizationInput) { in.EmailInvites = flowStr(auth.NotAllowed) },
			func(*flowEnv, *auth.Organization) string { return flowEmail("acme.test") }, nil, auth.EInviteNotAllowed},
		{"ErrRestrictedInviteOtherDomain", func(in *auth.OrganizationInput) {
			in.EmailInvites, in.EmailAllowedDomains = flowStr(auth.Restricted), []string{"acme.test"}
		}, func(*flowEnv, *auth.Organization) string { return flowEmail("other.test") }, nil, auth.EInviteNotAllowed},
		{"OKRestrictedInviteAllowedDomain", func(in *auth.OrganizationInput) {
			in.EmailInvites, in.EmailAllowedDomains = flowStr(auth.Restricted), []string{"acme.test"}
		}, func(*flowEnv, *auth.Organization) string { return flowEmail("acme.test") }, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFlowEnv(t)
			o := f.org(tt.mods)
			email := tt.email(f, o)
			var caller auth.Caller
			if tt.caller != nil {
				caller = tt.caller(f, o)
			}
			res, err := f.Service.B2BInvite(t.Context(), f.Project, auth.B2BInviteInput{
				OrganizationID: o.ID, EmailAddress: email, Name: flowStr("Ada"), RoleIDs: []string{auth.RoleAdmin}, Caller: caller})
			wantErr(t, err, tt.code)
			if tt.code != "" {
				if f.Publisher.Last(email, auth.KindMagicLink) != nil {
					t.Fatal("a refused invite published a link")
				}
				return
			}
			ev := f.Publisher.Last(email, auth.KindMagicLink)
			if res.Member.Status != auth.MemberInvited || res.Member.Name != "Ada" || ev == nil || ev.LinkKind != auth.MagicLinkInvite {
				t.Fatalf("result = %+v, event = %+v", res.Member, ev)
			}
			if d := ev.ExpiresAt.Sub(ev.CreatedAt); d != 7*24*time.Hour {
				t.Fatalf("invite lasts %v, want 7 days", d)
			}
			ar, err := f.Service.B2BAuthenticateMagicLink(t.Context(), f.Project, auth.B2BAuthenticateMagicLinkInput{Token: f.LastToken(email)})
			if err != nil || ar.Member.Status != auth.MemberActive || !reflect.DeepEqual(ar.Session.Roles, []string{"stytch_member", "stytch_admin"}) {
				t.Fatalf("authenticate invite = %+v, %v", ar, err)
			}
		})
	}
}

func TestExchangeMemberSession(t *testing.T) {
	tests := []struct {
		name string
		// target makes the organization to exchange into for email.
		target      func(f *flowEnv, email string) *auth.Organization
		code        auth.Code
		wantSession bool
	}{
		{"OKSessionInOptionalOrganization", func(f *flowEnv, email string) *auth.Organization {
			o := f.org(nil)
			f.member(o, email, nil)
			return o
		}, "", true},
		{"OKISTWhenTargetRequiresMFA", func(f *flowEnv, email string) *auth.Organization {
			o := f.org(requireMFA)
			f.member(o, email, nil)
			return o
		}, "", false},
		{"OKJITMemberByAllowedDomain", func(f *flowEnv, email string) *auth.Organization {
			return f.org(func(in *auth.OrganizationInput) {
				in.EmailJITProvisioning, in.EmailAllowedDomains = flowStr(auth.Restricted), []string{"acme.test"}
			})
		}, "", true},
		{"ErrNotAMember", func(f *flowEnv, email string) *auth.Organization { return f.org(nil) }, auth.EMemberNotFound, false},
		{"ErrDeletedMember", func(f *flowEnv, email string) *auth.Organization {
			o := f.org(nil)
			m := f.member(o, email, nil)
			if _, err := f.Service.DeleteMember(f.t.Context(), f.Project, o.ID, m.ID, auth.Caller{}); err != nil {
				f.t.Fatal(err)
			}
			return o
		}, auth.EMemberDeleted, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFlowEnv(t)
			a := f.org(nil)
			email := flowEmail("acme.test")
			src := f.session(a, f.member(a, email, nil))
			b := tt.target(f, email)
			res, err := f.Service.ExchangeMemberSession(t.Context(), f.Project, auth.ExchangeSessionInput{OrganizationID: b.Slug, Token: src.SessionToken})
			wantErr(t, err, tt.code)
			if tt.code != "" {
				return
			}
			if res.Organization.ID != b.ID || res.Member.OrganizationID != b.ID || res.Member.EmailAddress != email || res.Authenticated != tt.wantSession {
				t.Fatalf("result = %+v", res)
			}
			if !tt.wantSession {
				if res.IST == "" || res.MFARequired == nil || res.SessionToken != "" {
					t.Fatalf("result = %+v, want an IST with mfa_required", res)
				}
				return
			}
			if res.Session.OrganizationID != b.ID || res.Session.ID == src.Session.ID || res.Session.Factors[0].MethodID != res.Member.EmailID {
				t.Fatalf("session = %+v", res.Session)
			}
			// The original session stays.
			if _, err := f.Service.AuthenticateMemberSession(t.Context(), f.Project, auth.MemberSessionInput{Token: src.SessionToken}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestExchangeCarriesVerifiedSMSFactor(t *testing.T) {
	f := newFlowEnv(t)
	email := flowEmail("acme.test")
	a, b := f.org(requireMFA), f.org(requireMFA)
	ma, mb := f.member(a, email, nil), f.member(b, email, nil)
	f.enroll(b, mb, "+14155550171")
	src := f.enroll(a, ma, "+14155550171")
	res, err := f.Service.ExchangeMemberSession(t.Context(), f.Project, auth.ExchangeSessionInput{OrganizationID: b.ID, JWT: src.SessionJWT})
	if err != nil || !res.Authenticated {
		t.Fatalf("exchange = %+v, %v", res, err)
	}
	if got := factorKinds(res.Session.Factors); !reflect.DeepEqual(got, []string{"magic_link/email", "otp/sms"}) {
		t.Fatalf("factors = %v", got)
	}
	// Another phone in the target does not count: MFA is asked again.
	c := f.org(requireMFA)
	mc := f.member(c, email, nil)
	f.enroll(c, mc, "+14155550172")
	res, err = f.Service.ExchangeMemberSession(t.Context(), f.Project, auth.ExchangeSessionInput{OrganizationID: c.ID, JWT: src.SessionJWT})
	if err != nil || res.Authenticated || res.MFARequired == nil || res.MFARequired.SecondaryAuthInitiated != auth.MFAMethodSMS {
		t.Fatalf("exchange into other phone = %+v, %v", res, err)
	}
}

func TestDiscovery(t *testing.T) {
	f := newFlowEnv(t)
	ctx := t.Context()
	email := flowEmail("acme.test")
	member := f.org(nil)
	f.member(member, email, nil)
	mfa := f.org(requireMFA)
	f.member(mfa, email, func(in *auth.MemberInput) { in.CreatePending = true })
	jit := f.org(func(in *auth.OrganizationInput) {
		in.EmailJITProvisioning, in.EmailAllowedDomains = flowStr(auth.Restricted), []string{"acme.test"}
	})
	f.org(func(in *auth.OrganizationInput) { in.EmailAllowedDomains = []string{"acme.test"} }) // JIT off: not listed
	f.member(f.org(nil), flowEmail("acme.test"), nil)                                          // another email: not listed

	if err := f.Service.SendDiscoveryMagicLink(ctx, f.Project, auth.DiscoverySendInput{EmailAddress: email}); err != nil {
		t.Fatal(err)
	}
	ev := f.Publisher.Last(email, auth.KindMagicLink)
	if ev == nil || ev.LinkKind != auth.MagicLinkDiscovery {
		t.Fatalf("event = %+v", ev)
	}
	// A member link is not a discovery link.
	_, err := f.Service.AuthenticateDiscoveryMagicLink(ctx, f.Project, f.link(member, email), "")
	wantErr(t, err, auth.EMagicLinkNotFound)

	res, err := f.Service.AuthenticateDiscoveryMagicLink(ctx, f.Project, authtest.TokenFromURL(ev.URL), "")
	if err != nil {
		t.Fatal(err)
	}
	if res.IST == "" || res.EmailAddress != email {
		t.Fatalf("result = %+v", res)
	}
	byOrg := map[string]auth.DiscoveredOrganization{}
	for _, d := range res.Organizations {
		byOrg[d.Organization.ID] = d
	}
	if len(byOrg) != 3 {
		t.Fatalf("discovered %d organizations, want 3: %+v", len(byOrg), res.Organizations)
	}
	if d := byOrg[member.ID]; d.MembershipType != auth.MembershipActive || d.Member == nil || d.MFARequired != nil || d.MemberAuthenticated {
		t.Fatalf("member org = %+v", d)
	}
	if d := byOrg[mfa.ID]; d.MembershipType != auth.MembershipPending || d.MFARequired == nil {
		t.Fatalf("MFA org = %+v", d)
	}
	if d := byOrg[jit.ID]; d.MembershipType != auth.MembershipEligibleByJIT || d.Member != nil {
		t.Fatalf("JIT org = %+v", d)
	}
	// Listing with the IST does not consume it.
	list, err := f.Service.ListDiscoveredOrganizations(ctx, f.Project, auth.DiscoveryListInput{IST: res.IST})
	if err != nil || len(list.Organizations) != 3 || list.EmailAddress != email {
		t.Fatalf("list = %+v, %v", list, err)
	}
	// Exchange into the MFA organization: a new IST bound to the member.
	ex, err := f.Service.ExchangeIntermediateSession(ctx, f.Project, auth.IntermediateExchangeInput{IST: res.IST, OrganizationID: mfa.ID})
	if err != nil || ex.Authenticated || ex.IST == "" || ex.IST == res.IST || ex.MFARequired == nil || ex.MFARequired.SecondaryAuthInitiated != "" {
		t.Fatalf("exchange = %+v, %v", ex, err)
	}
	if ex.Member.Status != auth.MemberActive || !ex.Member.EmailVerified {
		t.Fatalf("member = %+v", ex.Member)
	}
	// The discovery IST is spent.
	_, err = f.Service.ExchangeIntermediateSession(ctx, f.Project, auth.IntermediateExchangeInput{IST: res.IST, OrganizationID: member.ID})
	wantErr(t, err, auth.EISTNotFound)
	// The org-bound IST finishes with an SMS code.
	code := f.sendSMS(mfa, ex.Member, "+14155550181", "")
	fin, err := f.Service.B2BAuthenticateSMS(ctx, f.Project, auth.B2BAuthenticateSMSInput{OrganizationID: mfa.ID, MemberID: ex.Member.ID, Code: code, Session: auth.B2BSessionRequest{IST: ex.IST}})
	if err != nil || !fin.Authenticated {
		t.Fatalf("SMS after discovery = %+v, %v", fin, err)
	}
	if got := factorKinds(fin.Session.Factors); !reflect.DeepEqual(got, []string{"magic_link/email", "otp/sms"}) {
		t.Fatalf("factors = %v", got)
	}
	// With the session, its own organization is authenticated.
	list, err = f.Service.ListDiscoveredOrganizations(ctx, f.Project, auth.DiscoveryListInput{SessionToken: fin.SessionToken})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range list.Organizations {
		if d.MemberAuthenticated != (d.Organization.ID == mfa.ID) {
			t.Fatalf("discovered %s authenticated = %v", d.Organization.ID, d.MemberAuthenticated)
		}
	}
}

func TestDiscoveryExchangeAndCreate(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, f *flowEnv, ist, email string) (*auth.MemberAuthResult, error)
		code auth.Code
		// wantAdmin: the member is stytch_admin of a new organization.
		wantAdmin bool
	}{
		{"OKExchangeJITCreatesActiveMember", func(t *testing.T, f *flowEnv, ist, email string) (*auth.MemberAuthResult, error) {
			o := f.org(func(in *auth.OrganizationInput) {
				in.EmailJITProvisioning, in.EmailAllowedDomains = flowStr(auth.Restricted), []string{"acme.test"}
			})
			return f.Service.ExchangeIntermediateSession(t.Context(), f.Project, auth.IntermediateExchangeInput{IST: ist, OrganizationID: o.ID})
		}, "", false},
		{"ErrExchangeIntoOrganizationWithoutJIT", func(t *testing.T, f *flowEnv, ist, email string) (*auth.MemberAuthResult, error) {
			return f.Service.ExchangeIntermediateSession(t.Context(), f.Project, auth.IntermediateExchangeInput{IST: ist, OrganizationID: f.org(nil).ID})
		}, auth.EJITNotAllowed, false},
		{"ErrExchangeExpiredIST", func(t *testing.T, f *flowEnv, ist, email string) (*auth.MemberAuthResult, error) {
			o := f.org(nil)
			f.member(o, email, nil)
			later := func() time.Time { return time.Now().Add(11 * time.Minute) }
			f.Service.SetClock(later)
			f.Store.SetClock(later)
			return f.Service.ExchangeIntermediateSession(t.Context(), f.Project, auth.IntermediateExchangeInput{IST: ist, OrganizationID: o.ID})
		}, auth.EISTNotFound, false},
		{"OKCreateOrganization", func(t *testing.T, f *flowEnv, ist, email string) (*auth.MemberAuthResult, error) {
			return f.Service.CreateOrganizationViaDiscovery(t.Context(), f.Project, auth.DiscoveryCreateInput{IST: ist,
				Organization: auth.OrganizationInput{Name: flowStr("New Co " + auth.NewUUID()[:6])}})
		}, "", true},
		{"OKCreateOrganizationRequiringMFAGivesIST", func(t *testing.T, f *flowEnv, ist, email string) (*auth.MemberAuthResult, error) {
			return f.Service.CreateOrganizationViaDiscovery(t.Context(), f.Project, auth.DiscoveryCreateInput{IST: ist,
				Organization: auth.OrganizationInput{Name: flowStr("MFA Co " + auth.NewUUID()[:6]), MFAPolicy: flowStr(auth.MFARequiredForAll)}})
		}, "", true},
		{"ErrCreateWithTakenSlugKeepsIST", func(t *testing.T, f *flowEnv, ist, email string) (*auth.MemberAuthResult, error) {
			taken := f.org(nil)
			_, err := f.Service.CreateOrganizationViaDiscovery(t.Context(), f.Project, auth.DiscoveryCreateInput{IST: ist,
				Organization: auth.OrganizationInput{Name: flowStr("Dup"), Slug: flowStr(taken.Slug)}})
			if _, lerr := f.Service.ListDiscoveredOrganizations(t.Context(), f.Project, auth.DiscoveryListInput{IST: ist}); lerr != nil {
				t.Fatalf("IST spent by a refused create: %v", lerr)
			}
			return nil, err
		}, auth.EDuplicateSlug, false},
		{"ErrCreateWithMemberSessionIST", func(t *testing.T, f *flowEnv, ist, email string) (*auth.MemberAuthResult, error) {
			return f.Service.CreateOrganizationViaDiscovery(t.Context(), f.Project, auth.DiscoveryCreateInput{IST: auth.NewToken(),
				Organization: auth.OrganizationInput{Name: flowStr("X")}})
		}, auth.EISTNotFound, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFlowEnv(t)
			email := flowEmail("acme.test")
			if err := f.Service.SendDiscoveryMagicLink(t.Context(), f.Project, auth.DiscoverySendInput{EmailAddress: email}); err != nil {
				t.Fatal(err)
			}
			d, err := f.Service.AuthenticateDiscoveryMagicLink(t.Context(), f.Project, f.LastToken(email), "")
			if err != nil {
				t.Fatal(err)
			}
			res, err := tt.run(t, f, d.IST, email)
			wantErr(t, err, tt.code)
			if tt.code != "" {
				return
			}
			m := res.Member
			if m.EmailAddress != email || m.Status != auth.MemberActive || !m.EmailVerified || m.OrganizationID != res.Organization.ID {
				t.Fatalf("member = %+v", m)
			}
			if m.IsAdmin(res.Organization) != tt.wantAdmin {
				t.Fatalf("admin = %v, want %v", m.IsAdmin(res.Organization), tt.wantAdmin)
			}
			if res.Organization.MFAPolicy == auth.MFARequiredForAll {
				if res.Authenticated || res.IST == "" || res.MFARequired == nil {
					t.Fatalf("result = %+v, want an IST", res)
				}
				return
			}
			if !res.Authenticated || res.Session.Factors[0].MethodID != m.EmailID {
				t.Fatalf("result = %+v", res)
			}
			if tt.wantAdmin && !reflect.DeepEqual(res.Session.Roles, []string{"stytch_member", "stytch_admin"}) {
				t.Fatalf("roles = %v", res.Session.Roles)
			}
		})
	}
}
