package streambird_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/api/streambird"
	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/authtest"
)

func TestSendOverTheLimitIs429WithRetryAfter(t *testing.T) {
	env := authtest.New(t, authtest.WithConfig(auth.Config{SendLimit: 1}))
	h := streambird.NewHandler(env.Service, streambird.Options{})
	f := &fixture{t: t, env: env, h: h, c: &client{t: t, h: h, secret: env.Secret}}
	phone := newPhone()
	f.createPhoneUser(phone)
	if r := f.c.do("POST", "/v1/auth/otps/sms/send", `{"phone_number":`+q(phone)+`}`); r.Status != 200 {
		t.Fatalf("first send: %d %s", r.Status, r.Raw)
	}
	r := f.c.do("POST", "/v1/auth/otps/sms/send", `{"phone_number":`+q(phone)+`}`)
	if r.Status != 429 {
		t.Fatalf("second send: %d %s, want 429", r.Status, r.Raw)
	}
	// One per 10 minutes: the next send is 600 s away.
	if s, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || s < 599 || s > 600 {
		t.Fatalf("Retry-After = %q, want about 600", r.Header.Get("Retry-After"))
	}
}

func TestTOTPLockoutIs429WithRetryAfterUntilTheLockLifts(t *testing.T) {
	f := newFixture(t)
	userID, cr, now := f.totpSetup()
	good := totpAt(t, str(t, cr, "secret"), *now)
	wrong := "000000"
	if wrong == good {
		wrong = "111111"
	}
	verify := func(code string) *response {
		return f.c.do("POST", "/v1/auth/totps/verify", `{"user_id":`+q(userID)+`,"totp":`+q(code)+`}`)
	}
	for i := range 5 { // Config.MaxOTPAttempts defaults to 5
		if r := verify(wrong); r.Status != 400 || r.Header.Get("Retry-After") != "" {
			t.Fatalf("wrong code %d: %d, Retry-After %q", i+1, r.Status, r.Header.Get("Retry-After"))
		}
	}
	tests := []struct {
		name  string
		after time.Duration
		want  int
	}{
		{"right after the last wrong code, the whole lockout", 0, int(auth.TOTPLockout / time.Second)},
		{"five minutes later, what is left", 5 * time.Minute, int((auth.TOTPLockout - 5*time.Minute) / time.Second)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			*now = now.Add(tc.after)
			r := verify(good)
			if s, err := strconv.Atoi(r.Header.Get("Retry-After")); r.Status != 429 || err != nil || s != tc.want {
				t.Fatalf("%d, Retry-After %q; want 429 and %d", r.Status, r.Header.Get("Retry-After"), tc.want)
			}
		})
	}
}

// TestVerifyOverTheLimitIs429WithRetryAfter: past VERIFY_LIMIT code checks
// on one method, even the right code is refused with 429 and Retry-After
// (that nothing was counted or consumed is internal/auth's TestVerifyLimits).
func TestVerifyOverTheLimitIs429WithRetryAfter(t *testing.T) {
	env := authtest.New(t, authtest.WithConfig(auth.Config{SendLimit: 100, VerifyLimit: 2}))
	h := streambird.NewHandler(env.Service, streambird.Options{})
	f := &fixture{t: t, env: env, h: h, c: &client{t: t, h: h, secret: env.Secret}}
	phone := newPhone()
	f.createPhoneUser(phone)
	mid, code := f.sendSMS(phone)
	verify := func(code string) *response {
		return f.c.do("POST", "/v1/auth/otps/verify", `{"method_id":`+q(mid)+`,"otp":`+q(code)+`}`)
	}
	for i := range 2 {
		if r := verify(wrongCode(code)); r.Status != 400 || r.Header.Get("Retry-After") != "" {
			t.Fatalf("wrong code %d: %d %s", i+1, r.Status, r.Raw)
		}
	}
	r := verify(code)
	// Two at once, then one per 10 minutes.
	if s, err := strconv.Atoi(r.Header.Get("Retry-After")); r.Status != 429 || err != nil || s < 299 || s > 600 {
		t.Fatalf("right code past the limit: %d %s, Retry-After %q; want 429 and 300..600", r.Status, r.Raw, r.Header.Get("Retry-After"))
	}
}
