package auth_test

import (
	"slices"
	"sync"
	"testing"

	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/authtest"
)

// countryMetrics records Metrics.OTPCountry calls as "channel/region/stage".
type countryMetrics struct {
	auth.NopMetrics
	mu    sync.Mutex
	calls []string
}

func (m *countryMetrics) OTPCountry(ch auth.Channel, region, stage string) {
	m.mu.Lock()
	m.calls = append(m.calls, string(ch)+"/"+region+"/"+stage)
	m.mu.Unlock()
}

func TestOTPCountry_CountsSendsAndVerifiesByChannelAndPhoneRegion(t *testing.T) {
	env := authtest.New(t)
	m := &countryMetrics{}
	svc := auth.NewService(env.Store, env.Publisher, env.Keys, env.Signer, m, nil, auth.Config{SendLimit: 1000})
	ctx := t.Context()
	for _, c := range []struct {
		ch     auth.Channel
		to     string
		verify bool
	}{
		{auth.ChannelSMS, "+14155550123", true},
		{auth.ChannelWhatsApp, "+33612345678", false},
		{auth.ChannelEmail, "country@example.com", true},
	} {
		res, err := svc.SendOTP(ctx, env.Project, auth.SendOTPInput{Channel: c.ch, To: c.to, LoginOrCreate: true})
		if err != nil {
			t.Fatalf("send %s: %v", c.to, err)
		}
		if c.verify {
			if _, err := svc.AuthenticateOTP(ctx, env.Project, auth.AuthenticateOTPInput{MethodID: res.MethodID, Code: env.LastCode(c.to)}); err != nil {
				t.Fatalf("verify %s: %v", c.to, err)
			}
		}
	}
	// A wrong code is not a verification.
	res, err := svc.SendOTP(ctx, env.Project, auth.SendOTPInput{Channel: auth.ChannelSMS, To: "+14155550124", LoginOrCreate: true})
	if err != nil {
		t.Fatal(err)
	}
	wrong := "000000"
	if env.LastCode("+14155550124") == wrong {
		wrong = "111111"
	}
	if _, err := svc.AuthenticateOTP(ctx, env.Project, auth.AuthenticateOTPInput{MethodID: res.MethodID, Code: wrong}); auth.ErrorCode(err) != auth.EOTPWrong {
		t.Fatalf("wrong code: %v", err)
	}
	want := []string{"sms/US/sent", "sms/US/verified", "whatsapp/FR/sent", "email//sent", "email//verified", "sms/US/sent"}
	if !slices.Equal(m.calls, want) {
		t.Fatalf("OTPCountry calls = %q, want %q", m.calls, want)
	}
}

func TestOTPCountry_CountsB2BSMSAndEmailCodesLikeConsumerOnes(t *testing.T) {
	f := newFlowEnv(t)
	m := &countryMetrics{}
	f.Service = auth.NewService(f.Store, f.Publisher, f.Keys, f.Signer, m, nil, auth.Config{SendLimit: 1000})
	o := f.org(func(in *auth.OrganizationInput) {
		requireMFA(in)
		in.EmailJITProvisioning, in.EmailAllowedDomains = flowStr(auth.Restricted), []string{"acme.test"}
	})
	mem := f.member(o, flowEmail("acme.test"), nil)
	f.enroll(o, mem, "+33612345678") // magic link (not counted), then an SMS code sent and verified
	// A wrong SMS code is not a verification.
	ist := f.mfaIST(o, mem)
	code := f.sendSMS(o, mem, "", ist)
	if _, err := f.Service.B2BAuthenticateSMS(t.Context(), f.Project, auth.B2BAuthenticateSMSInput{
		OrganizationID: o.ID, MemberID: mem.ID, Code: wrong(code), Session: auth.B2BSessionRequest{IST: ist}}); auth.ErrorCode(err) != auth.EOTPWrong {
		t.Fatalf("wrong code: %v", err)
	}
	email := flowEmail("acme.test")
	if _, err := f.Service.B2BEmailOTPLoginOrSignup(t.Context(), f.Project, auth.B2BEmailLoginInput{OrganizationID: o.ID, EmailAddress: email}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Service.B2BAuthenticateEmailOTP(t.Context(), f.Project, auth.B2BAuthenticateEmailOTPInput{OrganizationID: o.ID, EmailAddress: email, Code: f.LastCode(email)}); err != nil {
		t.Fatal(err)
	}
	// The second sign-in texts the enrolled phone by itself, then sendSMS asks again.
	want := []string{"sms/FR/sent", "sms/FR/verified", "sms/FR/sent", "sms/FR/sent", "email//sent", "email//verified"}
	if !slices.Equal(m.calls, want) {
		t.Fatalf("OTPCountry calls = %q, want %q", m.calls, want)
	}
}
