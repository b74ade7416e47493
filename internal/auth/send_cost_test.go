package auth_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/authtest"
	"github.com/sesame-auth/sesame/internal/jwt"
	"github.com/sesame-auth/sesame/internal/pgtest"
	"github.com/sesame-auth/sesame/internal/postgres"
)

// TestSend_OneRoundTrip: resolving the project from its secret (cached)
// and a consumer send, limits, SMS-pumping guard, resolve-or-create of
// the recipient, code or link and outbox row, cost one round trip
// together, for each channel and kind, for a new and a known recipient;
// so do a send refused by a limit (which writes nothing) and a send to an
// unknown recipient. Before: 4 to 5 round trips (limits, guard for SMS,
// recipient, code with outbox, published mark).
func TestSend_OneRoundTrip(t *testing.T) {
	c := &stmtCounter{}
	db := pgtest.MustOpenDB(t, postgres.WithTracer(c))
	keys, err := auth.NewKeyring([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	pub := &authtest.Publisher{}
	svc := auth.NewService(db, pub, keys, jwt.New(db, keys, jwt.Options{}), nil, nil, auth.Config{SendLimit: 1000, IPSendLimit: 1})
	env := &authtest.Env{Store: db, Keys: keys, Publisher: pub, Service: svc}
	p, secret := env.NewProject(t, false)
	ctx := t.Context()
	if _, err := svc.AuthenticateBasic(ctx, p.ID, secret); err != nil {
		t.Fatal(err)
	}
	n := 0
	fresh := func(prefix string) string { n++; return fmt.Sprintf("%s%04d", prefix, n) }
	ip := func() context.Context { return auth.WithClientIP(ctx, fresh("198.51.")) }
	otp := func(ch auth.Channel, to string, create bool) func() error {
		return func() error {
			_, err := svc.SendOTP(ip(), p, auth.SendOTPInput{Channel: ch, To: to, LoginOrCreate: create})
			return err
		}
	}
	link := func(email string, create bool) func() error {
		return func() error {
			_, err := svc.SendMagicLink(ip(), p, auth.SendMagicLinkInput{Email: email, LoginOrCreate: create})
			return err
		}
	}
	phone := func() string { return fresh("+1415555") }
	email := func() string { return fresh("one-trip-") + "@example.com" }
	tests := []struct {
		name  string
		send  func() func() error // a new send each call, to a fresh recipient
		known bool                // send once before counting (a known recipient)
		code  auth.Code
	}{
		{"OKSMSNewRecipient", func() func() error { return otp(auth.ChannelSMS, phone(), true) }, false, ""},
		{"OKSMSKnownRecipient", func() func() error { return otp(auth.ChannelSMS, phone(), true) }, true, ""},
		{"OKWhatsAppNewRecipient", func() func() error { return otp(auth.ChannelWhatsApp, phone(), true) }, false, ""},
		{"OKEmailCodeKnownRecipient", func() func() error { return otp(auth.ChannelEmail, email(), true) }, true, ""},
		{"OKSignupLink", func() func() error { return link(email(), true) }, false, ""},
		{"OKLoginLink", func() func() error { return link(email(), true) }, true, ""},
		{"ErrUnknownPhone", func() func() error { return otp(auth.ChannelSMS, phone(), false) }, false, auth.EPhoneNotFound},
		{"ErrUnknownEmailLink", func() func() error { return link(email(), false) }, false, auth.EEmailNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i := range 2 { // the first warms the statement cache
				send := tt.send()
				if tt.known {
					if err := send(); err != nil {
						t.Fatal(err)
					}
				}
				var sendErr error
				got := c.count(t, func() error {
					if _, err := svc.AuthenticateBasic(ctx, p.ID, secret); err != nil {
						return err
					}
					sendErr = send()
					return nil
				})
				if auth.ErrorCode(sendErr) != tt.code {
					t.Fatalf("err = %v, want %q", sendErr, tt.code)
				}
				if i == 1 && got.trips != 1 {
					t.Fatalf("round trips = %d (%d statements), want 1", got.trips, got.statements)
				}
			}
		})
	}
	t.Run("ErrLimitedWritesNothing", func(t *testing.T) {
		limited := auth.WithClientIP(ctx, "203.0.113.9")
		for i := range 2 {
			if _, err := svc.SendOTP(limited, p, auth.SendOTPInput{Channel: auth.ChannelSMS, To: phone(), LoginOrCreate: true}); err != nil {
				t.Fatal(err) // warm-up: the IP's one send
			}
			to := phone()
			var sendErr error
			got := c.count(t, func() error {
				_, sendErr = svc.SendOTP(limited, p, auth.SendOTPInput{Channel: auth.ChannelSMS, To: to, LoginOrCreate: true})
				return nil
			})
			if auth.ErrorCode(sendErr) != auth.ERateLimited || auth.RetryAfter(sendErr) <= 0 {
				t.Fatalf("err = %v, want rate_limited with Retry-After", sendErr)
			}
			if i == 1 && got.trips != 1 {
				t.Fatalf("round trips = %d, want 1", got.trips)
			}
			if _, _, _, _, err := db.ResolveMethod(ctx, p, auth.ChannelSMS, to, false, false); auth.ErrorCode(err) != auth.EPhoneNotFound {
				t.Fatalf("limited recipient: err = %v, want it never created", err)
			}
			limited = auth.WithClientIP(ctx, "203.0.113.10")
		}
	})
}

// BenchmarkSend_SMSKnownRecipient measures a consumer SMS send to a known
// recipient against real Postgres (one round trip: limits, guard, code and
// outbox row; the publish is a no-op recorder and the published mark is
// batched in the background).
func BenchmarkSend_SMSKnownRecipient(b *testing.B) {
	env := authtest.New(b, authtest.WithConfig(auth.Config{SendLimit: 1 << 30, Abuse: auth.AbuseConfig{PerCountry: auth.Rate{Limit: -1}, PerPrefix: auth.Rate{Limit: -1}}}))
	ctx := context.Background()
	const to = "+14155550150"
	if _, err := env.Service.SendOTP(ctx, env.Project, auth.SendOTPInput{Channel: auth.ChannelSMS, To: to, LoginOrCreate: true}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := env.Service.SendOTP(ctx, env.Project, auth.SendOTPInput{Channel: auth.ChannelSMS, To: to, LoginOrCreate: true}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
