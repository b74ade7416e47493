package auth_test

import (
	"slices"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/auth"
)

// b2bTOTPEnv is a flow environment with a controllable clock.
type b2bTOTPEnv struct {
	*flowEnv
	now time.Time
}

func newB2BTOTPEnv(t *testing.T) *b2bTOTPEnv {
	e := &b2bTOTPEnv{flowEnv: newFlowEnv(t), now: time.Now().UTC().Truncate(30 * time.Second).Add(15 * time.Second)}
	e.Service.SetClock(func() time.Time { return e.now })
	e.Store.SetClock(func() time.Time { return e.now })
	return e
}

func (e *b2bTOTPEnv) code(secret string) string {
	e.t.Helper()
	c, err := auth.TOTPCode(secret, e.now)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// createTOTP registers a TOTP for m proven by ist or token.
func (e *b2bTOTPEnv) createTOTP(o *auth.Organization, m *auth.Member, ist, token string) *auth.TOTPCreateResult {
	e.t.Helper()
	res, err := e.Service.B2BCreateTOTP(e.t.Context(), e.Project, auth.B2BCreateTOTPInput{OrganizationID: o.ID, MemberID: m.ID, IST: ist, SessionToken: token})
	if err != nil {
		e.t.Fatalf("B2BCreateTOTP: %v", err)
	}
	return res
}

// enrollTOTP runs primary → IST → TOTP create → TOTP authenticate for m in
// o (which must require MFA) and returns the registration and the result.
func (e *b2bTOTPEnv) enrollTOTP(o *auth.Organization, m *auth.Member) (*auth.TOTPCreateResult, *auth.MemberAuthResult) {
	e.t.Helper()
	ist := e.mfaIST(o, m)
	reg := e.createTOTP(o, m, ist, "")
	res, err := e.Service.B2BAuthenticateTOTP(e.t.Context(), e.Project, auth.B2BAuthenticateTOTPInput{
		OrganizationID: o.ID, MemberID: m.ID, Code: e.code(reg.Secret), Session: auth.B2BSessionRequest{IST: ist}})
	if err != nil {
		e.t.Fatalf("B2BAuthenticateTOTP: %v", err)
	}
	e.now = e.now.Add(30 * time.Second) // the next code is of a new step
	return reg, res
}

func TestB2BTOTPCompletesIST(t *testing.T) {
	e := newB2BTOTPEnv(t)
	o := e.org(requireMFA)
	m := e.member(o, flowEmail("acme.test"), nil)
	ist := e.mfaIST(o, m)
	reg := e.createTOTP(o, m, ist, "")
	if reg.Member.ID != m.ID || reg.Organization.ID != o.ID || len(reg.RecoveryCodes) != auth.RecoveryCodeCount {
		t.Fatalf("create result %+v", reg)
	}
	in := auth.B2BAuthenticateTOTPInput{OrganizationID: o.ID, MemberID: m.ID, Session: auth.B2BSessionRequest{IST: ist}}
	// A wrong code is counted and leaves the IST usable.
	in.Code = "000000"
	if in.Code == e.code(reg.Secret) {
		in.Code = "111111"
	}
	_, err := e.Service.B2BAuthenticateTOTP(t.Context(), e.Project, in)
	wantErr(t, err, auth.ETOTPWrong)
	in.Code = e.code(reg.Secret)
	res, err := e.Service.B2BAuthenticateTOTP(t.Context(), e.Project, in)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Authenticated || res.SessionToken == "" || res.IST != "" {
		t.Fatalf("result %+v, want a member session", res)
	}
	if got := factorKinds(res.Session.Factors); !slices.Equal(got, []string{"magic_link/email", "totp/authenticator_app"}) {
		t.Fatalf("factors %v", got)
	}
	if res.Member.TOTPRegistrationID != reg.TOTPID || !res.Member.MFAEnrolled || res.Member.DefaultMFAMethod != auth.MFAMethodTOTP {
		t.Fatalf("member totp=%q enrolled=%v default=%q", res.Member.TOTPRegistrationID, res.Member.MFAEnrolled, res.Member.DefaultMFAMethod)
	}
	got, _, err := e.Service.GetMember(t.Context(), e.Project, o.ID, m.ID, "")
	if err != nil || got.TOTPRegistrationID != reg.TOTPID {
		t.Fatalf("stored member totp_registration_id = %q (%v)", got.TOTPRegistrationID, err)
	}
	// The IST was consumed with the code; the same code is a replay.
	e.now = e.now.Add(30 * time.Second)
	in.Code = e.code(reg.Secret)
	_, err = e.Service.B2BAuthenticateTOTP(t.Context(), e.Project, in)
	wantErr(t, err, auth.EISTNotFound)

	// The next login offers the TOTP and sends no SMS.
	sent := len(e.Events())
	next := e.primary(o, m)
	if next.Authenticated || next.MFARequired == nil || next.MFARequired.TOTPRegistrationID != reg.TOTPID || next.MFARequired.SecondaryAuthInitiated != "" {
		t.Fatalf("next login mfa_required = %+v", next.MFARequired)
	}
	if len(e.Events()) != sent+1 { // the login link only
		t.Fatalf("%d messages sent, want only the link", len(e.Events())-sent)
	}
}

func TestB2BRecoveryCodeCompletesIST(t *testing.T) {
	e := newB2BTOTPEnv(t)
	o := e.org(requireMFA)
	m := e.member(o, flowEmail("acme.test"), nil)
	reg, _ := e.enrollTOTP(o, m)
	ist := e.mfaIST(o, m)
	in := auth.B2BRecoverInput{OrganizationID: o.ID, MemberID: m.ID, RecoveryCode: reg.RecoveryCodes[3], Session: auth.B2BSessionRequest{IST: ist}}
	res, err := e.Service.B2BRecover(t.Context(), e.Project, in)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Authenticated || res.RecoveryCodesRemaining != auth.RecoveryCodeCount-1 {
		t.Fatalf("authenticated=%v remaining=%d", res.Authenticated, res.RecoveryCodesRemaining)
	}
	if got := factorKinds(res.Session.Factors); !slices.Equal(got, []string{"magic_link/email", "recovery_codes/recovery_code"}) {
		t.Fatalf("factors %v", got)
	}
	tests := []struct {
		name string
		in   auth.B2BRecoverInput
		want auth.Code
	}{
		{"the consumed IST is refused", in, auth.EISTNotFound},
		{"a used code is refused", auth.B2BRecoverInput{OrganizationID: o.ID, MemberID: m.ID, RecoveryCode: reg.RecoveryCodes[3], Session: auth.B2BSessionRequest{Token: res.SessionToken}}, auth.ERecoveryCodeWrong},
		{"no IST or session is refused", auth.B2BRecoverInput{OrganizationID: o.ID, MemberID: m.ID, RecoveryCode: reg.RecoveryCodes[4]}, auth.EPrimaryRequired},
		{"an unused code with the member's session works", auth.B2BRecoverInput{OrganizationID: o.ID, MemberID: m.ID, RecoveryCode: reg.RecoveryCodes[4], Session: auth.B2BSessionRequest{Token: res.SessionToken}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.Service.B2BRecover(t.Context(), e.Project, tt.in)
			wantErr(t, err, tt.want)
		})
	}
}

func TestB2BRotateRecoveryCodesInvalidatesOldOnes(t *testing.T) {
	e := newB2BTOTPEnv(t)
	o := e.org(requireMFA)
	m := e.member(o, flowEmail("acme.test"), nil)
	reg, res := e.enrollTOTP(o, m)
	got, err := e.Service.B2BGetRecoveryCodes(t.Context(), e.Project, o.ID, m.ID)
	if err != nil || !slices.Equal(got.RecoveryCodes, reg.RecoveryCodes) {
		t.Fatalf("get = %v (%v), want the created codes", got, err)
	}
	rot, err := e.Service.B2BRotateRecoveryCodes(t.Context(), e.Project, o.ID, m.ID)
	if err != nil || len(rot.RecoveryCodes) != auth.RecoveryCodeCount {
		t.Fatalf("rotate: %v %v", rot, err)
	}
	for _, c := range reg.RecoveryCodes {
		if slices.Contains(rot.RecoveryCodes, c) {
			t.Fatalf("old code %q survived the rotation", c)
		}
	}
	sess := auth.B2BSessionRequest{Token: res.SessionToken}
	_, err = e.Service.B2BRecover(t.Context(), e.Project, auth.B2BRecoverInput{OrganizationID: o.ID, MemberID: m.ID, RecoveryCode: reg.RecoveryCodes[0], Session: sess})
	wantErr(t, err, auth.ERecoveryCodeWrong)
	if _, err := e.Service.B2BRecover(t.Context(), e.Project, auth.B2BRecoverInput{OrganizationID: o.ID, MemberID: m.ID, RecoveryCode: rot.RecoveryCodes[0], Session: sess}); err != nil {
		t.Fatalf("new code: %v", err)
	}
	got, err = e.Service.B2BGetRecoveryCodes(t.Context(), e.Project, o.ID, m.ID)
	if err != nil || len(got.RecoveryCodes) != auth.RecoveryCodeCount-1 || slices.Contains(got.RecoveryCodes, rot.RecoveryCodes[0]) {
		t.Fatalf("get after use = %v (%v)", got, err)
	}
}

func TestB2BTOTPOnlyOrganizationOffersOnlyTOTP(t *testing.T) {
	e := newB2BTOTPEnv(t)
	o := e.org(requireMFA)
	m := e.member(o, flowEmail("acme.test"), nil)
	enrolled := e.enroll(o, m, "+12025550123") // a verified phone first (SMS allowed then)
	e.now = e.now.Add(30 * time.Second)
	reg := e.createTOTP(o, m, "", enrolled.SessionToken)
	if _, err := e.Service.B2BAuthenticateTOTP(t.Context(), e.Project, auth.B2BAuthenticateTOTPInput{
		OrganizationID: o.ID, MemberID: m.ID, Code: e.code(reg.Secret), Session: auth.B2BSessionRequest{Token: enrolled.SessionToken}}); err != nil {
		t.Fatal(err)
	}
	restricted := auth.Restricted
	if _, err := e.Service.UpdateOrganization(t.Context(), e.Project, o.ID, auth.OrganizationInput{MFAMethods: &restricted, AllowedMFAMethods: []string{auth.MFAMethodTOTP}}, auth.Caller{}); err != nil {
		t.Fatal(err)
	}
	sent := len(e.Events())
	res := e.primary(o, m)
	if res.MFARequired == nil || res.MFARequired.MFAPhoneNumber != "" || res.MFARequired.TOTPRegistrationID != reg.TOTPID || res.MFARequired.SecondaryAuthInitiated != "" {
		t.Fatalf("mfa_required = %+v, want only the TOTP", res.MFARequired)
	}
	if len(e.Events()) != sent+1 {
		t.Fatalf("an SMS was sent (%d messages)", len(e.Events())-sent)
	}
	_, err := e.Service.B2BSendSMS(t.Context(), e.Project, auth.B2BSendSMSInput{OrganizationID: o.ID, MemberID: m.ID, IST: res.IST})
	wantErr(t, err, auth.EMFAMethodNotAllowed)
	e.now = e.now.Add(30 * time.Second)
	if _, err := e.Service.B2BAuthenticateTOTP(t.Context(), e.Project, auth.B2BAuthenticateTOTPInput{
		OrganizationID: o.ID, MemberID: m.ID, Code: e.code(reg.Secret), Session: auth.B2BSessionRequest{IST: res.IST}}); err != nil {
		t.Fatalf("TOTP in a totp-only organization: %v", err)
	}
}

func TestB2BTOTPRefusals(t *testing.T) {
	e := newB2BTOTPEnv(t)
	o := e.org(requireMFA)
	other := e.org(requireMFA)
	m := e.member(o, flowEmail("acme.test"), nil)
	n := e.member(o, flowEmail("acme.test"), nil)
	reg, res := e.enrollTOTP(o, m)
	nIST := e.mfaIST(o, n)
	mIST := e.mfaIST(o, m)
	restricted := auth.Restricted
	smsOnly := e.org(func(in *auth.OrganizationInput) {
		requireMFA(in)
		in.MFAMethods, in.AllowedMFAMethods = &restricted, []string{auth.MFAMethodSMS}
	})
	s := e.member(smsOnly, flowEmail("acme.test"), nil)
	code := func() string { return e.code(reg.Secret) }
	tests := []struct {
		name string
		run  func() error
		want auth.Code
	}{
		{"create without proof for a member with a TOTP is a bypass", func() error {
			_, err := e.Service.B2BCreateTOTP(t.Context(), e.Project, auth.B2BCreateTOTPInput{OrganizationID: o.ID, MemberID: m.ID})
			return err
		}, auth.EMFABypass},
		{"create with proof while verified needs a delete first", func() error {
			_, err := e.Service.B2BCreateTOTP(t.Context(), e.Project, auth.B2BCreateTOTPInput{OrganizationID: o.ID, MemberID: m.ID, SessionToken: res.SessionToken})
			return err
		}, auth.ETOTPExists},
		{"an SMS to a new phone without proof is a bypass", func() error {
			_, err := e.Service.B2BSendSMS(t.Context(), e.Project, auth.B2BSendSMSInput{OrganizationID: o.ID, MemberID: m.ID, MFAPhoneNumber: "+12025550188"})
			return err
		}, auth.EMFABypass},
		{"another member's IST is refused", func() error {
			_, err := e.Service.B2BAuthenticateTOTP(t.Context(), e.Project, auth.B2BAuthenticateTOTPInput{OrganizationID: o.ID, MemberID: m.ID, Code: code(), Session: auth.B2BSessionRequest{IST: nIST}})
			return err
		}, auth.EISTOrgMismatch},
		{"another organization does not know the member", func() error {
			_, err := e.Service.B2BAuthenticateTOTP(t.Context(), e.Project, auth.B2BAuthenticateTOTPInput{OrganizationID: other.ID, MemberID: m.ID, Code: code(), Session: auth.B2BSessionRequest{IST: mIST}})
			return err
		}, auth.EMemberNotFound},
		{"another member has no registration", func() error {
			_, err := e.Service.B2BAuthenticateTOTP(t.Context(), e.Project, auth.B2BAuthenticateTOTPInput{OrganizationID: o.ID, MemberID: n.ID, Code: code(), Session: auth.B2BSessionRequest{IST: nIST}})
			return err
		}, auth.ETOTPNotFound},
		{"no IST or session asks for the primary factor", func() error {
			_, err := e.Service.B2BAuthenticateTOTP(t.Context(), e.Project, auth.B2BAuthenticateTOTPInput{OrganizationID: o.ID, MemberID: m.ID, Code: code()})
			return err
		}, auth.EPrimaryRequired},
		{"an sms-only organization refuses a TOTP", func() error {
			_, err := e.Service.B2BCreateTOTP(t.Context(), e.Project, auth.B2BCreateTOTPInput{OrganizationID: smsOnly.ID, MemberID: s.ID})
			return err
		}, auth.EMFAMethodNotAllowed},
		{"another project does not know the organization", func() error {
			p2, _ := e.NewProject(t, false)
			_, err := e.Service.B2BAuthenticateTOTP(t.Context(), p2, auth.B2BAuthenticateTOTPInput{OrganizationID: o.ID, MemberID: m.ID, Code: code(), Session: auth.B2BSessionRequest{IST: mIST}})
			return err
		}, auth.EOrganizationNotFound},
		{"the member's own IST still works after all that", func() error {
			_, err := e.Service.B2BAuthenticateTOTP(t.Context(), e.Project, auth.B2BAuthenticateTOTPInput{OrganizationID: o.ID, MemberID: m.ID, Code: code(), Session: auth.B2BSessionRequest{IST: mIST}})
			return err
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, tt.run(), tt.want)
		})
	}
}

func TestDeleteMemberTOTP(t *testing.T) {
	e := newB2BTOTPEnv(t)
	o := e.org(nil) // OPTIONAL: enrollment follows set_mfa_enrollment
	m := e.member(o, flowEmail("acme.test"), nil)
	first := e.primary(o, m)
	reg := e.createTOTP(o, m, "", first.SessionToken)
	res, err := e.Service.B2BAuthenticateTOTP(t.Context(), e.Project, auth.B2BAuthenticateTOTPInput{
		OrganizationID: o.ID, MemberID: m.ID, Code: e.code(reg.Secret), SetMFAEnrollment: "enroll", Session: auth.B2BSessionRequest{Token: first.SessionToken}})
	if err != nil || !res.Member.MFAEnrolled {
		t.Fatalf("enroll: %v %+v", err, res)
	}
	got, _, err := e.Service.DeleteMemberTOTP(t.Context(), e.Project, o.ID, m.ID, auth.Caller{})
	if err != nil || got.TOTPRegistrationID != "" || got.MFAEnrolled || got.DefaultMFAMethod != "" {
		t.Fatalf("after delete: %+v (%v)", got, err)
	}
	_, err = e.Service.B2BGetRecoveryCodes(t.Context(), e.Project, o.ID, m.ID)
	wantErr(t, err, auth.ETOTPNotFound)
	// No factor left: a new registration needs no proof.
	e.createTOTP(o, m, "", "")
}

func TestB2BDefaultMFAMethodDecidesTheAutomaticSMS(t *testing.T) {
	tests := []struct {
		name        string
		setDefault  bool
		wantDefault string
		wantSMS     bool
	}{
		{"sms_otp stays the default: a code is texted at once", false, auth.MFAMethodSMS, true},
		{"totp made the default: nothing is texted", true, auth.MFAMethodTOTP, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newB2BTOTPEnv(t)
			o := e.org(requireMFA)
			m := e.member(o, flowEmail("acme.test"), nil)
			enrolled := e.enroll(o, m, "+12025550142")
			e.now = e.now.Add(30 * time.Second)
			reg := e.createTOTP(o, m, "", enrolled.SessionToken)
			res, err := e.Service.B2BAuthenticateTOTP(t.Context(), e.Project, auth.B2BAuthenticateTOTPInput{OrganizationID: o.ID, MemberID: m.ID,
				Code: e.code(reg.Secret), SetDefaultMFA: tt.setDefault, Session: auth.B2BSessionRequest{Token: enrolled.SessionToken}})
			if err != nil || res.Member.DefaultMFAMethod != tt.wantDefault {
				t.Fatalf("authenticate: %v, default %q", err, res.Member.DefaultMFAMethod)
			}
			sent := len(e.Events())
			next := e.primary(o, m)
			mr := next.MFARequired
			if mr == nil || mr.MFAPhoneNumber != "+12025550142" || mr.TOTPRegistrationID != reg.TOTPID {
				t.Fatalf("mfa_required = %+v, want both factors named", mr)
			}
			texted := len(e.Events()) == sent+2 // the link and a code
			if texted != tt.wantSMS || (mr.SecondaryAuthInitiated == auth.MFAMethodSMS) != tt.wantSMS {
				t.Fatalf("texted=%v initiated=%q, want texted=%v", texted, mr.SecondaryAuthInitiated, tt.wantSMS)
			}
		})
	}
}

// A secret as another service's enrolment would hold it: 80 bits, padded,
// lower case with spaces.
const migratedSecret = "jbsw y3dp ehpk 3pxp===="

func TestB2BMigrateTOTPIsVerifiedAtOnceWithItsRecoveryCodes(t *testing.T) {
	e := newB2BTOTPEnv(t)
	o := e.org(requireMFA)
	m := e.member(o, flowEmail("acme.test"), nil)
	res, err := e.Service.B2BMigrateTOTP(t.Context(), e.Project, auth.B2BMigrateTOTPInput{
		OrganizationID: o.ID, MemberID: m.ID, Secret: migratedSecret, RecoveryCodes: []string{"OLD-CODE-1", "old code 2"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Member.TOTPRegistrationID != res.TOTPID || !slices.Equal(res.RecoveryCodes, []string{"old-code-1", "oldcode2"}) {
		t.Fatalf("migrate result %+v", res)
	}
	// The member's existing app works at once: its code completes an IST.
	ist := e.mfaIST(o, m)
	code, err := auth.TOTPCode("JBSWY3DPEHPK3PXP", e.now)
	if err != nil {
		t.Fatal(err)
	}
	a, err := e.Service.B2BAuthenticateTOTP(t.Context(), e.Project, auth.B2BAuthenticateTOTPInput{
		OrganizationID: o.ID, MemberID: m.ID, Code: code, Session: auth.B2BSessionRequest{IST: ist}})
	if err != nil || !a.Authenticated {
		t.Fatalf("authenticate with the migrated secret: %v", err)
	}
	// An imported recovery code completes an IST once, typed as the member had it.
	recover := func() error {
		_, err := e.Service.B2BRecover(t.Context(), e.Project, auth.B2BRecoverInput{
			OrganizationID: o.ID, MemberID: m.ID, RecoveryCode: "old code 2", Session: auth.B2BSessionRequest{IST: e.mfaIST(o, m)}})
		return err
	}
	wantErr(t, recover(), "")
	wantErr(t, recover(), auth.ERecoveryCodeWrong)
	// Without recovery codes, RecoveryCodeCount new ones are minted.
	n := e.member(o, flowEmail("acme.test"), nil)
	res, err = e.Service.B2BMigrateTOTP(t.Context(), e.Project, auth.B2BMigrateTOTPInput{OrganizationID: o.ID, MemberID: n.ID, Secret: migratedSecret})
	if err != nil || len(res.RecoveryCodes) != auth.RecoveryCodeCount {
		t.Fatalf("migrate without codes: %+v, %v", res, err)
	}
}

func TestB2BMigrateTOTPRefusals(t *testing.T) {
	e := newB2BTOTPEnv(t)
	o := e.org(requireMFA)
	m := e.member(o, flowEmail("acme.test"), nil)
	e.enrollTOTP(o, m)
	fresh := e.member(o, flowEmail("acme.test"), nil)
	restricted := auth.Restricted
	smsOnly := e.org(func(in *auth.OrganizationInput) {
		in.MFAMethods, in.AllowedMFAMethods = &restricted, []string{auth.MFAMethodSMS}
	})
	s := e.member(smsOnly, flowEmail("acme.test"), nil)
	p2, _ := e.NewProject(t, false)
	many := make([]string, auth.MaxMigratedRecoveryCodes+1)
	for i := range many {
		many[i] = auth.NewUUID()[:8]
	}
	in := func(orgID, memberID, secret string, codes ...string) auth.B2BMigrateTOTPInput {
		return auth.B2BMigrateTOTPInput{OrganizationID: orgID, MemberID: memberID, Secret: secret, RecoveryCodes: codes}
	}
	tests := []struct {
		name    string
		project *auth.Project
		in      auth.B2BMigrateTOTPInput
		want    auth.Code
	}{
		{"no secret", e.Project, in(o.ID, fresh.ID, ""), auth.EInvalid},
		{"a secret that is not base32", e.Project, in(o.ID, fresh.ID, "not base32 at all!"), auth.EInvalid},
		{"a secret under 80 bits", e.Project, in(o.ID, fresh.ID, "JBSWY3DP"), auth.EInvalid},
		{"repeated recovery codes", e.Project, in(o.ID, fresh.ID, migratedSecret, "abcd-efgh", "ABCD-EFGH"), auth.EInvalid},
		{"a blank recovery code", e.Project, in(o.ID, fresh.ID, migratedSecret, "   "), auth.EInvalid},
		{"a recovery code with a NUL", e.Project, in(o.ID, fresh.ID, migratedSecret, "ab\x00cd"), auth.EInvalid},
		{"too many recovery codes", e.Project, in(o.ID, fresh.ID, migratedSecret, many...), auth.EInvalid},
		{"a member with a verified registration", e.Project, in(o.ID, m.ID, migratedSecret), auth.ETOTPExists},
		{"an sms-only organization", e.Project, in(smsOnly.ID, s.ID, migratedSecret), auth.EMFAMethodNotAllowed},
		{"another project does not know the organization", p2, in(o.ID, fresh.ID, migratedSecret), auth.EOrganizationNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.Service.B2BMigrateTOTP(t.Context(), tt.project, tt.in)
			wantErr(t, err, tt.want)
		})
	}
	// Nothing of the refusals was written: the fresh member has no registration.
	if _, err := e.Service.B2BGetRecoveryCodes(t.Context(), e.Project, o.ID, fresh.ID); auth.ErrorCode(err) != auth.ETOTPNotFound {
		t.Fatalf("after the refusals: %v, want totp_not_found", err)
	}
}
