package auth_test

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/authtest"
)

// flowEnv is a real service on a fresh database with helpers for the B2B
// flows; codes and links are read from the events the capturing
// publisher recorded (exactly what the workers would deliver).
type flowEnv struct {
	*authtest.Env
	t *testing.T
}

func newFlowEnv(t *testing.T) *flowEnv {
	return &flowEnv{Env: authtest.New(t), t: t}
}

func flowStr(s string) *string { return &s }

// flowEmail returns a fresh address at domain.
func flowEmail(domain string) string { return "m-" + auth.NewUUID()[:8] + "@" + domain }

// org creates an organization (unique name) after mods.
func (f *flowEnv) org(mods func(in *auth.OrganizationInput)) *auth.Organization {
	f.t.Helper()
	in := auth.OrganizationInput{Name: flowStr("Org " + auth.NewUUID()[:8])}
	if mods != nil {
		mods(&in)
	}
	o, err := f.Service.CreateOrganization(f.t.Context(), f.Project, in)
	if err != nil {
		f.t.Fatalf("CreateOrganization: %v", err)
	}
	return o
}

func requireMFA(in *auth.OrganizationInput) { in.MFAPolicy = flowStr(auth.MFARequiredForAll) }

// member adds an active member with email to o after mods.
func (f *flowEnv) member(o *auth.Organization, email string, mods func(in *auth.MemberInput)) *auth.Member {
	f.t.Helper()
	in := auth.MemberInput{EmailAddress: &email}
	if mods != nil {
		mods(&in)
	}
	m, _, err := f.Service.CreateMember(f.t.Context(), f.Project, o.ID, in, auth.Caller{})
	if err != nil {
		f.t.Fatalf("CreateMember: %v", err)
	}
	return m
}

// link sends a login link to email in o and returns its token.
func (f *flowEnv) link(o *auth.Organization, email string) string {
	f.t.Helper()
	if _, err := f.Service.B2BLoginOrSignup(f.t.Context(), f.Project, auth.B2BEmailLoginInput{OrganizationID: o.ID, EmailAddress: email}); err != nil {
		f.t.Fatalf("B2BLoginOrSignup: %v", err)
	}
	tok := f.LastToken(email)
	if tok == "" {
		f.t.Fatal("no magic link was published")
	}
	return tok
}

// primary authenticates a fresh login link of m.
func (f *flowEnv) primary(o *auth.Organization, m *auth.Member) *auth.MemberAuthResult {
	f.t.Helper()
	res, err := f.Service.B2BAuthenticateMagicLink(f.t.Context(), f.Project, auth.B2BAuthenticateMagicLinkInput{Token: f.link(o, m.EmailAddress)})
	if err != nil {
		f.t.Fatalf("B2BAuthenticateMagicLink: %v", err)
	}
	return res
}

// mfaIST returns the IST of a primary factor of m (MFA must be pending).
func (f *flowEnv) mfaIST(o *auth.Organization, m *auth.Member) string {
	f.t.Helper()
	res := f.primary(o, m)
	if res.Authenticated || res.IST == "" || res.MFARequired == nil {
		f.t.Fatalf("primary factor: authenticated=%v ist=%q mfa=%+v, want MFA pending", res.Authenticated, res.IST, res.MFARequired)
	}
	return res.IST
}

// sendSMS sends an SMS code to m (with phone, if not "") and returns it.
func (f *flowEnv) sendSMS(o *auth.Organization, m *auth.Member, phone, ist string) string {
	f.t.Helper()
	res, err := f.Service.B2BSendSMS(f.t.Context(), f.Project, auth.B2BSendSMSInput{OrganizationID: o.ID, MemberID: m.ID, MFAPhoneNumber: phone, IST: ist})
	if err != nil {
		f.t.Fatalf("B2BSendSMS: %v", err)
	}
	code := f.LastCode(res.Member.MFAPhoneNumber)
	if code == "" {
		f.t.Fatal("no code was published")
	}
	return code
}

// enroll runs the seed's flow for m in o (which must require MFA) and
// returns the final result: m then has a verified MFA phone.
func (f *flowEnv) enroll(o *auth.Organization, m *auth.Member, phone string) *auth.MemberAuthResult {
	f.t.Helper()
	ist := f.mfaIST(o, m)
	code := f.sendSMS(o, m, phone, "")
	res, err := f.Service.B2BAuthenticateSMS(f.t.Context(), f.Project, auth.B2BAuthenticateSMSInput{
		OrganizationID: o.ID, MemberID: m.ID, Code: code, Session: auth.B2BSessionRequest{IST: ist}})
	if err != nil {
		f.t.Fatalf("B2BAuthenticateSMS: %v", err)
	}
	return res
}

// jwtPayload decodes a JWT's payload without verifying it.
func jwtPayload(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("JWT has %d parts", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func wantErr(t *testing.T, err error, code auth.Code) {
	t.Helper()
	if auth.ErrorCode(err) != code {
		t.Fatalf("err = %v, want code %q", err, code)
	}
}

func factorKinds(fs []auth.Factor) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Type+"/"+f.DeliveryMethod)
	}
	return out
}

// TestB2BSeedFlowMagicLinkThenSMS runs seed 004: REQUIRED_FOR_ALL, a
// magic link as the primary factor (IST, no session), an SMS code to a new
// phone, and the SMS authenticate that ends with a session of both factors.
func TestB2BSeedFlowMagicLinkThenSMS(t *testing.T) {
	f := newFlowEnv(t)
	ctx := t.Context()
	o := f.org(nil)
	m := f.member(o, flowEmail("acme.test"), nil)
	// Step 1: the organization requires MFA.
	if _, err := f.Service.UpdateOrganization(ctx, f.Project, o.ID, auth.OrganizationInput{MFAPolicy: flowStr(auth.MFARequiredForAll)}, auth.Caller{}); err != nil {
		t.Fatal(err)
	}
	// Step 2: login_or_signup, the link format, authenticate.
	if _, err := f.Service.B2BLoginOrSignup(ctx, f.Project, auth.B2BEmailLoginInput{OrganizationID: o.ID, EmailAddress: strings.ToUpper(m.EmailAddress)}); err != nil {
		t.Fatal(err)
	}
	ev := f.Publisher.Last(m.EmailAddress, auth.KindMagicLink)
	u, err := url.Parse(ev.URL)
	if err != nil {
		t.Fatal(err)
	}
	if q := u.Query(); q.Get("slug") != o.Slug || q.Get("stytch_token_type") != "multi_tenant_magic_links" || q.Get("token") == "" {
		t.Fatalf("link URL = %s", ev.URL)
	}
	res, err := f.Service.B2BAuthenticateMagicLink(ctx, f.Project, auth.B2BAuthenticateMagicLinkInput{Token: authtest.TokenFromURL(ev.URL)})
	if err != nil {
		t.Fatal(err)
	}
	// Step 3: MFA pending.
	if res.Authenticated || res.IST == "" || res.Session != nil || res.SessionToken != "" || res.SessionJWT != "" {
		t.Fatalf("primary result = %+v, want an IST and no session", res)
	}
	if res.MFARequired == nil || res.MFARequired.SecondaryAuthInitiated != "" || res.MFARequired.MFAPhoneNumber != "" {
		t.Fatalf("mfa_required = %+v, want no phone and nothing sent", res.MFARequired)
	}
	if res.MethodID != m.EmailID || res.Member.Status != auth.MemberActive || !res.Member.EmailVerified {
		t.Fatalf("method_id = %q (want %q), member = %+v", res.MethodID, m.EmailID, res.Member)
	}
	if d := time.Until(res.ISTExpiresAt); d < 9*time.Minute || d > 10*time.Minute {
		t.Fatalf("IST expires in %v, want 10 minutes", d)
	}
	// Step 4: send a code to a new phone, without the IST (as the seed does).
	code := f.sendSMS(o, m, "+1 415 555 0123", "")
	// Step 5: authenticate it with the IST.
	res, err = f.Service.B2BAuthenticateSMS(ctx, f.Project, auth.B2BAuthenticateSMSInput{
		OrganizationID: o.ID, MemberID: m.ID, Code: code, Session: auth.B2BSessionRequest{IST: res.IST}})
	if err != nil {
		t.Fatal(err)
	}
	// Step 6: a session with both factors, primary first.
	if !res.Authenticated || res.Session == nil || res.SessionToken == "" || res.SessionJWT == "" || res.IST != "" {
		t.Fatalf("secondary result = %+v", res)
	}
	if got, want := factorKinds(res.Session.Factors), []string{"magic_link/email", "otp/sms"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("factors = %v, want %v", got, want)
	}
	mem := res.Member
	if !mem.MFAEnrolled || !mem.MFAPhoneVerified || mem.MFAPhoneNumber != "+14155550123" || mem.DefaultMFAMethod != auth.MFAMethodSMS {
		t.Fatalf("member = %+v, want enrolled with a verified phone", mem)
	}
	sms := res.Session.Factors[1]
	if sms.MethodID != mem.MFAPhoneID || sms.Value != mem.MFAPhoneNumber || res.Session.Factors[0].MethodID != m.EmailID {
		t.Fatalf("factors = %+v", res.Session.Factors)
	}
	if d := res.Session.ExpiresAt.Sub(res.Session.StartedAt); d != 60*time.Minute {
		t.Fatalf("session lasts %v, want 60 minutes", d)
	}
	if !strings.HasPrefix(res.Session.ID, "member-session-test-") {
		t.Fatalf("session id = %q", res.Session.ID)
	}
	// The JWT: sub = member, organization claim, roles.
	claims := jwtPayload(t, res.SessionJWT)
	if claims["sub"] != m.ID {
		t.Fatalf("sub = %v", claims["sub"])
	}
	if got, want := claims["https://stytch.com/organization"], map[string]any{"organization_id": o.ID, "slug": o.Slug}; !reflect.DeepEqual(got, want) {
		t.Fatalf("organization claim = %v, want %v", got, want)
	}
	sc := claims["https://stytch.com/session"].(map[string]any)
	if got := sc["roles"]; !reflect.DeepEqual(got, []any{"stytch_member"}) {
		t.Fatalf("roles = %v", got)
	}
	if got := len(sc["authentication_factors"].([]any)); got != 2 {
		t.Fatalf("JWT factors = %d", got)
	}
	// The session token and JWT authenticate as a member session.
	got, err := f.Service.AuthenticateMemberSession(ctx, f.Project, auth.MemberSessionInput{JWT: res.SessionJWT})
	if err != nil || got.Session.ID != res.Session.ID || got.Session.OrganizationSlug != o.Slug {
		t.Fatalf("AuthenticateMemberSession = %+v, %v", got, err)
	}
}

// TestB2BPrimaryAutoSendsSMSToVerifiedPhone: once the member has a
// verified phone, the primary factor sends a code at once.
func TestB2BPrimaryAutoSendsSMSToVerifiedPhone(t *testing.T) {
	f := newFlowEnv(t)
	o := f.org(requireMFA)
	m := f.member(o, flowEmail("acme.test"), nil)
	f.enroll(o, m, "+14155550124")
	before := len(f.Events())
	res := f.primary(o, m)
	if res.MFARequired == nil || res.MFARequired.SecondaryAuthInitiated != auth.MFAMethodSMS || res.MFARequired.MFAPhoneNumber != "+14155550124" {
		t.Fatalf("mfa_required = %+v, want sms_otp sent to the phone", res.MFARequired)
	}
	if got := len(f.Events()); got != before+2 { // the link, then the code
		t.Fatalf("events = %d, want %d", got, before+2)
	}
	res, err := f.Service.B2BAuthenticateSMS(t.Context(), f.Project, auth.B2BAuthenticateSMSInput{
		OrganizationID: o.Slug, MemberID: m.ID, Code: f.LastCode("+14155550124"), Session: auth.B2BSessionRequest{IST: res.IST}})
	if err != nil || !res.Authenticated {
		t.Fatalf("B2BAuthenticateSMS = %+v, %v", res, err)
	}
}

func TestB2BAuthenticateSMSRefusals(t *testing.T) {
	const phone1 = "+14155550131"
	tests := []struct {
		name string
		// run gets a fresh org requiring MFA, a member with a code sent
		// to phone1 and the member's IST; it returns the final error.
		run  func(t *testing.T, f *flowEnv, o *auth.Organization, m *auth.Member, ist, code string) error
		code auth.Code
	}{
		{"ErrISTReused", func(t *testing.T, f *flowEnv, o *auth.Organization, m *auth.Member, ist, code string) error {
			auth1 := auth.B2BAuthenticateSMSInput{OrganizationID: o.ID, MemberID: m.ID, Code: code, Session: auth.B2BSessionRequest{IST: ist}}
			if _, err := f.Service.B2BAuthenticateSMS(t.Context(), f.Project, auth1); err != nil {
				t.Fatal(err)
			}
			auth1.Code = f.sendSMS(o, m, "", "")
			_, err := f.Service.B2BAuthenticateSMS(t.Context(), f.Project, auth1)
			return err
		}, auth.EISTNotFound},
		{"ErrISTExpired", func(t *testing.T, f *flowEnv, o *auth.Organization, m *auth.Member, ist, code string) error {
			later := func() time.Time { return time.Now().Add(11 * time.Minute) }
			f.Service.SetClock(later)
			f.Store.SetClock(later)
			fresh := f.sendSMS(o, m, "", "") // a live code: only the IST is dead
			_, err := f.Service.B2BAuthenticateSMS(t.Context(), f.Project, auth.B2BAuthenticateSMSInput{OrganizationID: o.ID, MemberID: m.ID, Code: fresh, Session: auth.B2BSessionRequest{IST: ist}})
			return err
		}, auth.EISTNotFound},
		{"ErrISTOfAnotherMember", func(t *testing.T, f *flowEnv, o *auth.Organization, m *auth.Member, ist, code string) error {
			other := f.member(o, flowEmail("acme.test"), nil)
			_, err := f.Service.B2BAuthenticateSMS(t.Context(), f.Project, auth.B2BAuthenticateSMSInput{OrganizationID: o.ID, MemberID: m.ID, Code: code, Session: auth.B2BSessionRequest{IST: f.mfaIST(o, other)}})
			return err
		}, auth.EISTOrgMismatch},
		{"ErrISTOfAnotherOrganization", func(t *testing.T, f *flowEnv, o *auth.Organization, m *auth.Member, ist, code string) error {
			o2 := f.org(requireMFA)
			same := f.member(o2, m.EmailAddress, nil)
			_, err := f.Service.B2BAuthenticateSMS(t.Context(), f.Project, auth.B2BAuthenticateSMSInput{OrganizationID: o.ID, MemberID: m.ID, Code: code, Session: auth.B2BSessionRequest{IST: f.mfaIST(o2, same)}})
			return err
		}, auth.EISTOrgMismatch},
		{"ErrOrganizationOfAnotherMember", func(t *testing.T, f *flowEnv, o *auth.Organization, m *auth.Member, ist, code string) error {
			o2 := f.org(requireMFA)
			_, err := f.Service.B2BAuthenticateSMS(t.Context(), f.Project, auth.B2BAuthenticateSMSInput{OrganizationID: o2.ID, MemberID: m.ID, Code: code, Session: auth.B2BSessionRequest{IST: ist}})
			return err
		}, auth.EMemberNotFound},
		{"ErrWrongCode", func(t *testing.T, f *flowEnv, o *auth.Organization, m *auth.Member, ist, code string) error {
			_, err := f.Service.B2BAuthenticateSMS(t.Context(), f.Project, auth.B2BAuthenticateSMSInput{OrganizationID: o.ID, MemberID: m.ID, Code: wrong(code), Session: auth.B2BSessionRequest{IST: ist}})
			return err
		}, auth.EOTPWrong},
		{"ErrRightCodeAfterFiveWrong", func(t *testing.T, f *flowEnv, o *auth.Organization, m *auth.Member, ist, code string) error {
			in := auth.B2BAuthenticateSMSInput{OrganizationID: o.ID, MemberID: m.ID, Code: wrong(code), Session: auth.B2BSessionRequest{IST: ist}}
			for i := 0; i < 5; i++ {
				if _, err := f.Service.B2BAuthenticateSMS(t.Context(), f.Project, in); auth.ErrorCode(err) != auth.EOTPWrong {
					t.Fatalf("attempt %d: %v", i+1, err)
				}
			}
			in.Code = code
			_, err := f.Service.B2BAuthenticateSMS(t.Context(), f.Project, in)
			return err
		}, auth.EOTPExpired},
		{"ErrCodeExpiredAfterTwoMinutes", func(t *testing.T, f *flowEnv, o *auth.Organization, m *auth.Member, ist, code string) error {
			later := func() time.Time { return time.Now().Add(3 * time.Minute) }
			f.Service.SetClock(later)
			f.Store.SetClock(later)
			_, err := f.Service.B2BAuthenticateSMS(t.Context(), f.Project, auth.B2BAuthenticateSMSInput{OrganizationID: o.ID, MemberID: m.ID, Code: code, Session: auth.B2BSessionRequest{IST: ist}})
			return err
		}, auth.EOTPExpired},
		{"ErrSupersededCode", func(t *testing.T, f *flowEnv, o *auth.Organization, m *auth.Member, ist, code string) error {
			for f.LastCode(phone1) == code {
				f.sendSMS(o, m, "", "")
			}
			_, err := f.Service.B2BAuthenticateSMS(t.Context(), f.Project, auth.B2BAuthenticateSMSInput{OrganizationID: o.ID, MemberID: m.ID, Code: code, Session: auth.B2BSessionRequest{IST: ist}})
			return err
		}, auth.EOTPWrong},
		{"ErrNoPrimaryFactor", func(t *testing.T, f *flowEnv, o *auth.Organization, m *auth.Member, ist, code string) error {
			_, err := f.Service.B2BAuthenticateSMS(t.Context(), f.Project, auth.B2BAuthenticateSMSInput{OrganizationID: o.ID, MemberID: m.ID, Code: code})
			return err
		}, auth.EPrimaryRequired},
		{"ErrISTAndSessionToken", func(t *testing.T, f *flowEnv, o *auth.Organization, m *auth.Member, ist, code string) error {
			_, err := f.Service.B2BAuthenticateSMS(t.Context(), f.Project, auth.B2BAuthenticateSMSInput{OrganizationID: o.ID, MemberID: m.ID, Code: code, Session: auth.B2BSessionRequest{IST: ist, Token: "x"}})
			return err
		}, auth.ETooManySessionArgs},
		{"ErrCodeNotDigits", func(t *testing.T, f *flowEnv, o *auth.Organization, m *auth.Member, ist, code string) error {
			_, err := f.Service.B2BAuthenticateSMS(t.Context(), f.Project, auth.B2BAuthenticateSMSInput{OrganizationID: o.ID, MemberID: m.ID, Code: "12a456", Session: auth.B2BSessionRequest{IST: ist}})
			return err
		}, auth.EInvalid},
		{"ErrConsumerSessionInsteadOfIST", func(t *testing.T, f *flowEnv, o *auth.Organization, m *auth.Member, ist, code string) error {
			_, err := f.Service.B2BAuthenticateSMS(t.Context(), f.Project, auth.B2BAuthenticateSMSInput{OrganizationID: o.ID, MemberID: m.ID, Code: code, Session: auth.B2BSessionRequest{Token: consumerToken(t, f)}})
			return err
		}, auth.ESessionNotFound},
		{"OKWithIST", func(t *testing.T, f *flowEnv, o *auth.Organization, m *auth.Member, ist, code string) error {
			_, err := f.Service.B2BAuthenticateSMS(t.Context(), f.Project, auth.B2BAuthenticateSMSInput{OrganizationID: o.ID, MemberID: m.ID, Code: code, Session: auth.B2BSessionRequest{IST: ist}})
			return err
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFlowEnv(t)
			o := f.org(requireMFA)
			m := f.member(o, flowEmail("acme.test"), nil)
			ist := f.mfaIST(o, m)
			code := f.sendSMS(o, m, phone1, "")
			err := tt.run(t, f, o, m, ist, code)
			wantErr(t, err, tt.code)
			if tt.code == "" || tt.name == "ErrISTReused" { // the first use verified it
				return
			}
			// A refusal leaves the phone unverified.
			got, _, gerr := f.Service.GetMember(t.Context(), f.Project, o.ID, m.ID, "")
			if gerr != nil || got.MFAPhoneVerified {
				t.Fatalf("member after refusal = %+v, %v", got, gerr)
			}
		})
	}
}

// consumerToken starts a consumer session by an email code and returns its token.
func consumerToken(t *testing.T, f *flowEnv) string {
	t.Helper()
	email := flowEmail("example.com")
	res, err := f.Service.SendOTP(t.Context(), f.Project, auth.SendOTPInput{Channel: auth.ChannelEmail, To: email, LoginOrCreate: true})
	if err != nil {
		t.Fatal(err)
	}
	ar, err := f.Service.AuthenticateOTP(t.Context(), f.Project, auth.AuthenticateOTPInput{MethodID: res.MethodID, Code: f.LastCode(email), Session: auth.SessionRequest{Duration: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	return ar.SessionToken
}

func TestB2BSendSMSPhoneRules(t *testing.T) {
	const verified, other = "+14155550141", "+14155550142"
	tests := []struct {
		name string
		// setup returns the member to send to and the input.
		run       func(t *testing.T, f *flowEnv, o *auth.Organization) (*auth.B2BSendResult, error)
		code      auth.Code
		wantPhone string
	}{
		{"ErrBypassNewNumberWithoutProof", func(t *testing.T, f *flowEnv, o *auth.Organization) (*auth.B2BSendResult, error) {
			m := f.member(o, flowEmail("acme.test"), nil)
			f.enroll(o, m, verified)
			return f.Service.B2BSendSMS(t.Context(), f.Project, auth.B2BSendSMSInput{OrganizationID: o.ID, MemberID: m.ID, MFAPhoneNumber: other})
		}, auth.EMFABypass, ""},
		{"ErrNewNumberWithISTMismatch", func(t *testing.T, f *flowEnv, o *auth.Organization) (*auth.B2BSendResult, error) {
			m := f.member(o, flowEmail("acme.test"), nil)
			f.enroll(o, m, verified)
			ist := f.primary(o, m).IST
			return f.Service.B2BSendSMS(t.Context(), f.Project, auth.B2BSendSMSInput{OrganizationID: o.ID, MemberID: m.ID, MFAPhoneNumber: other, IST: ist})
		}, auth.EMFAPhoneMismatch, ""},
		{"OKSameVerifiedNumberWithoutProof", func(t *testing.T, f *flowEnv, o *auth.Organization) (*auth.B2BSendResult, error) {
			m := f.member(o, flowEmail("acme.test"), nil)
			f.enroll(o, m, verified)
			return f.Service.B2BSendSMS(t.Context(), f.Project, auth.B2BSendSMSInput{OrganizationID: o.ID, MemberID: m.ID, MFAPhoneNumber: "+1 (415) 555-0141"})
		}, "", verified},
		{"OKUnverifiedPhoneReplaced", func(t *testing.T, f *flowEnv, o *auth.Organization) (*auth.B2BSendResult, error) {
			m := f.member(o, flowEmail("acme.test"), func(in *auth.MemberInput) { in.MFAPhoneNumber = flowStr(verified) })
			res, err := f.Service.B2BSendSMS(t.Context(), f.Project, auth.B2BSendSMSInput{OrganizationID: o.ID, MemberID: m.ID, MFAPhoneNumber: other})
			if err == nil && (res.Member.MFAPhoneID == m.MFAPhoneID || res.Member.MFAPhoneVerified) {
				t.Fatalf("phone id %q unchanged or verified", res.Member.MFAPhoneID)
			}
			return res, err
		}, "", other},
		{"ErrNoPhoneAnywhere", func(t *testing.T, f *flowEnv, o *auth.Organization) (*auth.B2BSendResult, error) {
			m := f.member(o, flowEmail("acme.test"), nil)
			return f.Service.B2BSendSMS(t.Context(), f.Project, auth.B2BSendSMSInput{OrganizationID: o.ID, MemberID: m.ID})
		}, auth.EMemberPhoneNotFound, ""},
		{"ErrInvalidPhone", func(t *testing.T, f *flowEnv, o *auth.Organization) (*auth.B2BSendResult, error) {
			m := f.member(o, flowEmail("acme.test"), nil)
			return f.Service.B2BSendSMS(t.Context(), f.Project, auth.B2BSendSMSInput{OrganizationID: o.ID, MemberID: m.ID, MFAPhoneNumber: "4155550100"})
		}, auth.EInvalidPhone, ""},
		{"ErrPendingMember", func(t *testing.T, f *flowEnv, o *auth.Organization) (*auth.B2BSendResult, error) {
			m := f.member(o, flowEmail("acme.test"), func(in *auth.MemberInput) { in.CreatePending = true })
			return f.Service.B2BSendSMS(t.Context(), f.Project, auth.B2BSendSMSInput{OrganizationID: o.ID, MemberID: m.ID, MFAPhoneNumber: other})
		}, auth.EInactiveMember, ""},
		{"ErrSMSNotAmongAllowedMFAMethods", func(t *testing.T, f *flowEnv, _ *auth.Organization) (*auth.B2BSendResult, error) {
			o := f.org(func(in *auth.OrganizationInput) {
				in.MFAMethods, in.AllowedMFAMethods = flowStr(auth.Restricted), []string{auth.MFAMethodTOTP}
			})
			m := f.member(o, flowEmail("acme.test"), nil)
			return f.Service.B2BSendSMS(t.Context(), f.Project, auth.B2BSendSMSInput{OrganizationID: o.ID, MemberID: m.ID, MFAPhoneNumber: other})
		}, auth.EMFAMethodNotAllowed, ""},
		{"ErrISTOfAnotherMember", func(t *testing.T, f *flowEnv, o *auth.Organization) (*auth.B2BSendResult, error) {
			m := f.member(o, flowEmail("acme.test"), nil)
			ist := f.mfaIST(o, f.member(o, flowEmail("acme.test"), nil))
			return f.Service.B2BSendSMS(t.Context(), f.Project, auth.B2BSendSMSInput{OrganizationID: o.ID, MemberID: m.ID, MFAPhoneNumber: other, IST: ist})
		}, auth.EISTOrgMismatch, ""},
		{"ErrMemberOfAnotherOrganization", func(t *testing.T, f *flowEnv, o *auth.Organization) (*auth.B2BSendResult, error) {
			m := f.member(f.org(nil), flowEmail("acme.test"), nil)
			return f.Service.B2BSendSMS(t.Context(), f.Project, auth.B2BSendSMSInput{OrganizationID: o.ID, MemberID: m.ID, MFAPhoneNumber: other})
		}, auth.EMemberNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFlowEnv(t)
			o := f.org(requireMFA)
			before := len(f.Events())
			res, err := tt.run(t, f, o)
			wantErr(t, err, tt.code)
			if tt.code != "" {
				if ev := f.Publisher.Last(other, auth.KindOTP); ev != nil {
					t.Fatalf("a refused send published a code to %s", other)
				}
				return
			}
			if res.Member.MFAPhoneNumber != tt.wantPhone || f.LastCode(tt.wantPhone) == "" || len(f.Events()) <= before {
				t.Fatalf("member phone = %q, want %q with a code sent", res.Member.MFAPhoneNumber, tt.wantPhone)
			}
		})
	}
}

func TestB2BMFAPolicy(t *testing.T) {
	tests := []struct {
		name     string
		policy   string
		enrolled bool
		wantMFA  bool
	}{
		{"RequiredForAllUnenrolledGetsIST", auth.MFARequiredForAll, false, true},
		{"RequiredForAllEnrolledGetsIST", auth.MFARequiredForAll, true, true},
		{"OptionalEnrolledGetsIST", auth.MFAOptional, true, true},
		{"OptionalUnenrolledGetsSession", auth.MFAOptional, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFlowEnv(t)
			o := f.org(func(in *auth.OrganizationInput) { in.MFAPolicy = flowStr(tt.policy) })
			m := f.member(o, flowEmail("acme.test"), func(in *auth.MemberInput) { in.MFAEnrolled = &tt.enrolled })
			res := f.primary(o, m)
			if got := res.MFARequired != nil; got != tt.wantMFA || res.Authenticated == tt.wantMFA || (res.IST != "") != tt.wantMFA || (res.Session != nil) == tt.wantMFA {
				t.Fatalf("result = %+v, want MFA pending %v", res, tt.wantMFA)
			}
		})
	}
}

func TestB2BPrimaryWithLiveSessionSkipsMFA(t *testing.T) {
	f := newFlowEnv(t)
	o := f.org(requireMFA)
	m := f.member(o, flowEmail("acme.test"), nil)
	first := f.enroll(o, m, "+14155550151")
	res, err := f.Service.B2BAuthenticateMagicLink(t.Context(), f.Project, auth.B2BAuthenticateMagicLinkInput{
		Token: f.link(o, m.EmailAddress), Session: auth.B2BSessionRequest{Token: first.SessionToken, Duration: 2 * time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Authenticated || res.Session.ID != first.Session.ID || res.IST != "" {
		t.Fatalf("result = %+v, want the same session extended", res)
	}
	if got := time.Until(res.Session.ExpiresAt); got < 119*time.Minute {
		t.Fatalf("session expires in %v, want 2h", got)
	}
	// A session of another member is refused.
	other := f.member(o, flowEmail("acme.test"), nil)
	_, err = f.Service.B2BAuthenticateMagicLink(t.Context(), f.Project, auth.B2BAuthenticateMagicLinkInput{
		Token: f.link(o, other.EmailAddress), Session: auth.B2BSessionRequest{Token: first.SessionToken}})
	wantErr(t, err, auth.EForbidden)
}

func TestB2BSMSEnrollmentSettings(t *testing.T) {
	tests := []struct {
		name         string
		policy       string
		set          string
		setDefault   bool
		wantEnrolled bool
	}{
		{"RequiredForAllEnrollsEvenOnUnenroll", auth.MFARequiredForAll, "unenroll", false, true},
		{"OptionalEnroll", auth.MFAOptional, "enroll", true, true},
		{"OptionalUnenroll", auth.MFAOptional, "unenroll", false, false},
		{"OptionalUnchanged", auth.MFAOptional, "", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFlowEnv(t)
			o := f.org(func(in *auth.OrganizationInput) { in.MFAPolicy = flowStr(tt.policy) })
			m := f.member(o, flowEmail("acme.test"), nil)
			first := f.primary(o, m)
			sess := auth.B2BSessionRequest{IST: first.IST}
			if first.Authenticated {
				sess = auth.B2BSessionRequest{Token: first.SessionToken}
			}
			code := f.sendSMS(o, m, "+14155550161", "")
			res, err := f.Service.B2BAuthenticateSMS(t.Context(), f.Project, auth.B2BAuthenticateSMSInput{
				OrganizationID: o.ID, MemberID: m.ID, Code: code, Session: sess, SetMFAEnrollment: tt.set, SetDefaultMFA: tt.setDefault})
			if err != nil {
				t.Fatal(err)
			}
			if res.Member.MFAEnrolled != tt.wantEnrolled || !res.Member.MFAPhoneVerified || res.Member.DefaultMFAMethod != auth.MFAMethodSMS {
				t.Fatalf("member = %+v, want enrolled %v", res.Member, tt.wantEnrolled)
			}
			if got := factorKinds(res.Session.Factors); !reflect.DeepEqual(got, []string{"magic_link/email", "otp/sms"}) {
				t.Fatalf("factors = %v", got)
			}
			if first.Authenticated && res.Session.ID != first.Session.ID {
				t.Fatal("the session passed was not the one extended")
			}
		})
	}
}

func TestB2BLoginOrSignup(t *testing.T) {
	jit := func(in *auth.OrganizationInput) {
		in.EmailJITProvisioning, in.EmailAllowedDomains = flowStr(auth.Restricted), []string{"acme.test"}
	}
	tests := []struct {
		name        string
		mods        func(in *auth.OrganizationInput)
		email       func(f *flowEnv, o *auth.Organization) string
		code        auth.Code
		wantCreated bool
		wantKind    auth.MagicLinkKind
	}{
		{"OKActiveMemberGetsLoginLink", nil, func(f *flowEnv, o *auth.Organization) string {
			return f.member(o, flowEmail("acme.test"), nil).EmailAddress
		}, "", false, auth.MagicLinkLogin},
		{"OKPendingMemberGetsSignupLink", nil, func(f *flowEnv, o *auth.Organization) string {
			return f.member(o, flowEmail("acme.test"), func(in *auth.MemberInput) { in.CreatePending = true }).EmailAddress
		}, "", false, auth.MagicLinkSignup},
		{"OKJITByAllowedDomainCreatesPendingMember", jit, func(*flowEnv, *auth.Organization) string { return flowEmail("ACME.test") }, "", true, auth.MagicLinkSignup},
		{"ErrJITRefusedForOtherDomain", jit, func(*flowEnv, *auth.Organization) string { return flowEmail("other.test") }, auth.EJITNotAllowed, false, ""},
		{"ErrJITNotAllowedByDefault", nil, func(*flowEnv, *auth.Organization) string { return flowEmail("acme.test") }, auth.EJITNotAllowed, false, ""},
		{"ErrMagicLinkNotAllowedAuthMethod", func(in *auth.OrganizationInput) {
			in.AuthMethods, in.AllowedAuthMethods = flowStr(auth.Restricted), []string{auth.AuthMethodEmailOTP}
		}, func(f *flowEnv, o *auth.Organization) string {
			return f.member(o, flowEmail("acme.test"), nil).EmailAddress
		}, auth.EAuthMethodNotAllowed, false, ""},
		{"OKBreakglassMemberExemptFromAuthMethods", func(in *auth.OrganizationInput) {
			in.AuthMethods, in.AllowedAuthMethods = flowStr(auth.Restricted), []string{auth.AuthMethodEmailOTP}
		}, func(f *flowEnv, o *auth.Organization) string {
			yes := true
			return f.member(o, flowEmail("acme.test"), func(in *auth.MemberInput) { in.IsBreakglass = &yes }).EmailAddress
		}, "", false, auth.MagicLinkLogin},
		{"ErrDeletedMember", nil, func(f *flowEnv, o *auth.Organization) string {
			m := f.member(o, flowEmail("acme.test"), nil)
			if _, err := f.Service.DeleteMember(f.t.Context(), f.Project, o.ID, m.ID, auth.Caller{}); err != nil {
				f.t.Fatal(err)
			}
			return m.EmailAddress
		}, auth.EMemberDeleted, false, ""},
		{"ErrInvalidEmail", nil, func(*flowEnv, *auth.Organization) string { return "not-an-email" }, auth.EInvalidEmail, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFlowEnv(t)
			o := f.org(tt.mods)
			email := tt.email(f, o)
			before := len(f.Events())
			res, err := f.Service.B2BLoginOrSignup(t.Context(), f.Project, auth.B2BEmailLoginInput{OrganizationID: o.Slug, EmailAddress: email})
			wantErr(t, err, tt.code)
			if tt.code != "" {
				if len(f.Events()) != before {
					t.Fatal("a refused send published a link")
				}
				return
			}
			ev := f.Publisher.Last(strings.ToLower(email), auth.KindMagicLink)
			if res.MemberCreated != tt.wantCreated || ev == nil || ev.LinkKind != tt.wantKind || ev.MessageID != res.MessageID {
				t.Fatalf("result = %+v, event = %+v", res, ev)
			}
			if tt.wantCreated && res.Member.Status != auth.MemberPending {
				t.Fatalf("JIT member status = %q", res.Member.Status)
			}
			// The link authenticates and activates the member.
			ar, err := f.Service.B2BAuthenticateMagicLink(t.Context(), f.Project, auth.B2BAuthenticateMagicLinkInput{Token: authtest.TokenFromURL(ev.URL)})
			if err != nil || ar.Member.Status != auth.MemberActive || !ar.Member.EmailVerified || !ar.Authenticated {
				t.Fatalf("authenticate = %+v, %v", ar, err)
			}
		})
	}
}

func TestB2BAuthenticateMagicLinkRefusals(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, f *flowEnv, o *auth.Organization, m *auth.Member) error
		code auth.Code
	}{
		{"ErrLinkReused", func(t *testing.T, f *flowEnv, o *auth.Organization, m *auth.Member) error {
			tok := f.link(o, m.EmailAddress)
			if _, err := f.Service.B2BAuthenticateMagicLink(t.Context(), f.Project, auth.B2BAuthenticateMagicLinkInput{Token: tok}); err != nil {
				t.Fatal(err)
			}
			_, err := f.Service.B2BAuthenticateMagicLink(t.Context(), f.Project, auth.B2BAuthenticateMagicLinkInput{Token: tok})
			return err
		}, auth.EMagicLinkUsed},
		{"ErrConsumerLink", func(t *testing.T, f *flowEnv, o *auth.Organization, m *auth.Member) error {
			email := flowEmail("example.com")
			if _, err := f.Service.SendMagicLink(t.Context(), f.Project, auth.SendMagicLinkInput{Email: email, LoginOrCreate: true}); err != nil {
				t.Fatal(err)
			}
			_, err := f.Service.B2BAuthenticateMagicLink(t.Context(), f.Project, auth.B2BAuthenticateMagicLinkInput{Token: f.LastToken(email)})
			return err
		}, auth.EMagicLinkNotFound},
		{"ErrDiscoveryLink", func(t *testing.T, f *flowEnv, o *auth.Organization, m *auth.Member) error {
			if err := f.Service.SendDiscoveryMagicLink(t.Context(), f.Project, auth.DiscoverySendInput{EmailAddress: m.EmailAddress}); err != nil {
				t.Fatal(err)
			}
			_, err := f.Service.B2BAuthenticateMagicLink(t.Context(), f.Project, auth.B2BAuthenticateMagicLinkInput{Token: f.LastToken(m.EmailAddress)})
			return err
		}, auth.EMagicLinkNotFound},
		{"ErrPKCEMismatch", func(t *testing.T, f *flowEnv, o *auth.Organization, m *auth.Member) error {
			if _, err := f.Service.B2BLoginOrSignup(t.Context(), f.Project, auth.B2BEmailLoginInput{OrganizationID: o.ID, EmailAddress: m.EmailAddress, CodeChallenge: auth.PKCEChallenge("verifier-1")}); err != nil {
				t.Fatal(err)
			}
			_, err := f.Service.B2BAuthenticateMagicLink(t.Context(), f.Project, auth.B2BAuthenticateMagicLinkInput{Token: f.LastToken(m.EmailAddress), CodeVerifier: "verifier-2"})
			return err
		}, auth.EPKCEMismatch},
		{"OKPKCEMatch", func(t *testing.T, f *flowEnv, o *auth.Organization, m *auth.Member) error {
			if _, err := f.Service.B2BLoginOrSignup(t.Context(), f.Project, auth.B2BEmailLoginInput{OrganizationID: o.ID, EmailAddress: m.EmailAddress, CodeChallenge: auth.PKCEChallenge("verifier-1")}); err != nil {
				t.Fatal(err)
			}
			_, err := f.Service.B2BAuthenticateMagicLink(t.Context(), f.Project, auth.B2BAuthenticateMagicLinkInput{Token: f.LastToken(m.EmailAddress), CodeVerifier: "verifier-1"})
			return err
		}, ""},
		{"ErrISTOfAnotherOrganization", func(t *testing.T, f *flowEnv, o *auth.Organization, m *auth.Member) error {
			o2 := f.org(requireMFA)
			ist := f.mfaIST(o2, f.member(o2, m.EmailAddress, nil))
			_, err := f.Service.B2BAuthenticateMagicLink(t.Context(), f.Project, auth.B2BAuthenticateMagicLinkInput{Token: f.link(o, m.EmailAddress), Session: auth.B2BSessionRequest{IST: ist}})
			return err
		}, auth.EISTOrgMismatch},
		{"ErrConsumerSessionNotAMemberSession", func(t *testing.T, f *flowEnv, o *auth.Organization, m *auth.Member) error {
			tok := f.link(o, m.EmailAddress)
			_, err := f.Service.B2BAuthenticateMagicLink(t.Context(), f.Project, auth.B2BAuthenticateMagicLinkInput{Token: tok, Session: auth.B2BSessionRequest{Token: consumerToken(t, f)}})
			if err == nil {
				return nil
			}
			// The link was not spent by the bad session argument.
			if _, err2 := f.Service.B2BAuthenticateMagicLink(t.Context(), f.Project, auth.B2BAuthenticateMagicLinkInput{Token: tok}); err2 != nil {
				t.Fatalf("link spent by a refused call: %v", err2)
			}
			return err
		}, auth.ESessionNotFound},
		{"ErrDurationTooShort", func(t *testing.T, f *flowEnv, o *auth.Organization, m *auth.Member) error {
			_, err := f.Service.B2BAuthenticateMagicLink(t.Context(), f.Project, auth.B2BAuthenticateMagicLinkInput{Token: f.link(o, m.EmailAddress), Session: auth.B2BSessionRequest{Duration: time.Minute}})
			return err
		}, auth.EInvalidDuration},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFlowEnv(t)
			o := f.org(nil)
			m := f.member(o, flowEmail("acme.test"), nil)
			wantErr(t, tt.run(t, f, o, m), tt.code)
		})
	}
}
