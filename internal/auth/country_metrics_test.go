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
