package auth_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/auth"
)

func TestB2BPrimaryRequiredWhenMethodNoLongerAllowed(t *testing.T) {
	f := newFlowEnv(t)
	o := f.org(nil)
	m := f.member(o, flowEmail("acme.test"), nil)
	tok := f.link(o, m.EmailAddress)
	if _, err := f.Service.UpdateOrganization(t.Context(), f.Project, o.ID, auth.OrganizationInput{
		AuthMethods: flowStr(auth.Restricted), AllowedAuthMethods: []string{auth.AuthMethodEmailOTP}}, auth.Caller{}); err != nil {
		t.Fatal(err)
	}
	res, err := f.Service.B2BAuthenticateMagicLink(t.Context(), f.Project, auth.B2BAuthenticateMagicLinkInput{Token: tok})
	if err != nil {
		t.Fatal(err)
	}
	if res.Authenticated || res.IST == "" || res.PrimaryRequired == nil || !reflect.DeepEqual(res.PrimaryRequired.AllowedAuthMethods, []string{"email_otp"}) {
		t.Fatalf("result = %+v, want primary_required [email_otp]", res)
	}
	// The IST cannot finish with an SMS code: the primary factor is missing.
	_, err = f.Service.B2BAuthenticateSMS(t.Context(), f.Project, auth.B2BAuthenticateSMSInput{OrganizationID: o.ID, MemberID: m.ID, Code: "123456", Session: auth.B2BSessionRequest{IST: res.IST}})
	wantErr(t, err, auth.EPrimaryRequired)
	// An email code with the IST completes it.
	if _, err := f.Service.B2BEmailOTPLoginOrSignup(t.Context(), f.Project, auth.B2BEmailLoginInput{OrganizationID: o.ID, EmailAddress: m.EmailAddress}); err != nil {
		t.Fatal(err)
	}
	res, err = f.Service.B2BAuthenticateEmailOTP(t.Context(), f.Project, auth.B2BAuthenticateEmailOTPInput{
		OrganizationID: o.ID, EmailAddress: m.EmailAddress, Code: f.LastCode(m.EmailAddress), Session: auth.B2BSessionRequest{IST: res.IST}})
	if err != nil || !res.Authenticated {
		t.Fatalf("email OTP with IST = %+v, %v", res, err)
	}
	if got := factorKinds(res.Session.Factors); !reflect.DeepEqual(got, []string{"magic_link/email", "otp/email"}) {
		t.Fatalf("factors = %v", got)
	}
}

func TestB2BEmailOTP(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, f *flowEnv, o *auth.Organization, email string) (*auth.MemberAuthResult, error)
		code auth.Code
	}{
		{"OKRightCodeStartsSession", func(t *testing.T, f *flowEnv, o *auth.Organization, email string) (*auth.MemberAuthResult, error) {
			return f.Service.B2BAuthenticateEmailOTP(t.Context(), f.Project, auth.B2BAuthenticateEmailOTPInput{OrganizationID: o.ID, EmailAddress: email, Code: f.LastCode(email)})
		}, ""},
		{"ErrWrongCode", func(t *testing.T, f *flowEnv, o *auth.Organization, email string) (*auth.MemberAuthResult, error) {
			return f.Service.B2BAuthenticateEmailOTP(t.Context(), f.Project, auth.B2BAuthenticateEmailOTPInput{OrganizationID: o.ID, EmailAddress: email, Code: wrong(f.LastCode(email))})
		}, auth.EOTPWrong},
		{"ErrExpiredAfterTenMinutes", func(t *testing.T, f *flowEnv, o *auth.Organization, email string) (*auth.MemberAuthResult, error) {
			later := func() time.Time { return time.Now().Add(11 * time.Minute) }
			f.Service.SetClock(later)
			f.Store.SetClock(later)
			return f.Service.B2BAuthenticateEmailOTP(t.Context(), f.Project, auth.B2BAuthenticateEmailOTPInput{OrganizationID: o.ID, EmailAddress: email, Code: f.LastCode(email)})
		}, auth.EOTPExpired},
		{"ErrOtherOrganization", func(t *testing.T, f *flowEnv, o *auth.Organization, email string) (*auth.MemberAuthResult, error) {
			o2 := f.org(nil)
			f.member(o2, email, nil)
			return f.Service.B2BAuthenticateEmailOTP(t.Context(), f.Project, auth.B2BAuthenticateEmailOTPInput{OrganizationID: o2.ID, EmailAddress: email, Code: f.LastCode(email)})
		}, auth.EOTPNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFlowEnv(t)
			o := f.org(func(in *auth.OrganizationInput) {
				in.EmailJITProvisioning, in.EmailAllowedDomains = flowStr(auth.Restricted), []string{"acme.test"}
			})
			email := flowEmail("acme.test")
			sent, err := f.Service.B2BEmailOTPLoginOrSignup(t.Context(), f.Project, auth.B2BEmailLoginInput{OrganizationID: o.ID, EmailAddress: email})
			if err != nil || !sent.MemberCreated {
				t.Fatalf("send = %+v, %v", sent, err)
			}
			if ev := f.Publisher.Last(email, auth.KindOTP); ev == nil || ev.Channel != auth.ChannelEmail || ev.ExpiresAt.Sub(ev.CreatedAt) != 10*time.Minute {
				t.Fatalf("event = %+v", ev)
			}
			res, err := tt.run(t, f, o, email)
			wantErr(t, err, tt.code)
			if tt.code != "" {
				return
			}
			if !res.Authenticated || res.Member.Status != auth.MemberActive || !res.Member.EmailVerified || res.MethodID != sent.Member.EmailID {
				t.Fatalf("result = %+v", res)
			}
			if got := factorKinds(res.Session.Factors); !reflect.DeepEqual(got, []string{"otp/email"}) {
				t.Fatalf("factors = %v", got)
			}
		})
	}
}

// TestB2BSandboxValues: in a test project the sandbox phone and email
// authenticate with 000000 and nothing is sent to them.
func TestB2BSandboxValues(t *testing.T) {
	f := newFlowEnv(t)
	o := f.org(requireMFA)
	m := f.member(o, flowEmail("acme.test"), nil)
	ist := f.mfaIST(o, m)
	before := len(f.Events())
	sent, err := f.Service.B2BSendSMS(t.Context(), f.Project, auth.B2BSendSMSInput{OrganizationID: o.ID, MemberID: m.ID, MFAPhoneNumber: auth.SandboxPhone})
	if err != nil || sent.Member.MFAPhoneNumber != auth.SandboxPhone || len(f.Events()) != before {
		t.Fatalf("sandbox send = %+v, %v (events %d, want %d)", sent, err, len(f.Events()), before)
	}
	res, err := f.Service.B2BAuthenticateSMS(t.Context(), f.Project, auth.B2BAuthenticateSMSInput{OrganizationID: o.ID, MemberID: m.ID, Code: auth.SandboxCode, Session: auth.B2BSessionRequest{IST: ist}})
	if err != nil || !res.Authenticated || !res.Member.MFAPhoneVerified || !res.Member.MFAEnrolled {
		t.Fatalf("sandbox authenticate = %+v, %v", res, err)
	}
	// The IST was consumed.
	_, err = f.Service.B2BAuthenticateSMS(t.Context(), f.Project, auth.B2BAuthenticateSMSInput{OrganizationID: o.ID, MemberID: m.ID, Code: auth.SandboxCode, Session: auth.B2BSessionRequest{IST: ist}})
	wantErr(t, err, auth.EISTNotFound)

	// A live project has no sandbox: 000000 is an ordinary wrong code.
	live, _ := f.NewProject(t, true)
	lo, err := f.Service.CreateOrganization(t.Context(), live, auth.OrganizationInput{Name: flowStr("Live Org")})
	if err != nil {
		t.Fatal(err)
	}
	email := auth.SandboxEmail
	lm, _, err := f.Service.CreateMember(t.Context(), live, lo.ID, auth.MemberInput{EmailAddress: &email}, auth.Caller{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Service.B2BEmailOTPLoginOrSignup(t.Context(), live, auth.B2BEmailLoginInput{OrganizationID: lo.ID, EmailAddress: email}); err != nil {
		t.Fatal(err)
	}
	_, err = f.Service.B2BAuthenticateEmailOTP(t.Context(), live, auth.B2BAuthenticateEmailOTPInput{OrganizationID: lo.ID, EmailAddress: lm.EmailAddress, Code: wrong(f.LastCode(email))})
	wantErr(t, err, auth.EOTPWrong)
}

// TestB2BProjectsAreIsolated: nothing of one project is found from another.
func TestB2BProjectsAreIsolated(t *testing.T) {
	f := newFlowEnv(t)
	o := f.org(requireMFA)
	m := f.member(o, flowEmail("acme.test"), nil)
	ist := f.mfaIST(o, m)
	p2, _ := f.NewProject(t, false)
	tests := []struct {
		name string
		run  func() error
		code auth.Code
	}{
		{"ErrLinkOfAnotherProject", func() error {
			_, err := f.Service.B2BAuthenticateMagicLink(t.Context(), p2, auth.B2BAuthenticateMagicLinkInput{Token: f.link(o, m.EmailAddress)})
			return err
		}, auth.EMagicLinkNotFound},
		{"ErrISTOfAnotherProject", func() error {
			_, err := f.Service.ListDiscoveredOrganizations(t.Context(), p2, auth.DiscoveryListInput{IST: ist})
			return err
		}, auth.EISTNotFound},
		{"ErrOrganizationOfAnotherProject", func() error {
			_, err := f.Service.B2BSendSMS(t.Context(), p2, auth.B2BSendSMSInput{OrganizationID: o.ID, MemberID: m.ID, MFAPhoneNumber: "+14155550199"})
			return err
		}, auth.EOrganizationNotFound},
		{"ErrSessionsOfAnotherProject", func() error {
			_, err := f.Service.ListMemberSessions(t.Context(), p2, o.ID, m.ID)
			return err
		}, auth.EOrganizationNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantErr(t, tt.run(), tt.code) })
	}
}

// TestB2BPrimaryNamesButDoesNotTextAnUnverifiedPhone: member_options
// show the phone on file, but only a verified phone gets a code at once.
func TestB2BPrimaryNamesButDoesNotTextAnUnverifiedPhone(t *testing.T) {
	f := newFlowEnv(t)
	o := f.org(requireMFA)
	m := f.member(o, flowEmail("acme.test"), func(in *auth.MemberInput) { in.MFAPhoneNumber = flowStr("+14155550201") })
	res := f.primary(o, m)
	if res.MFARequired == nil || res.MFARequired.MFAPhoneNumber != "+14155550201" || res.MFARequired.SecondaryAuthInitiated != "" {
		t.Fatalf("mfa_required = %+v", res.MFARequired)
	}
	if f.LastCode("+14155550201") != "" {
		t.Fatal("a code was sent to an unverified phone")
	}
}
