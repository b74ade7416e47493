package streambird_test

import (
	"strconv"
	"testing"

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
