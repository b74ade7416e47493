package auth_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/authtest"
)

const phone = "+14152222222"

func mustSend(t *testing.T, env *authtest.Env, p *auth.Project, in auth.SendOTPInput) *auth.SendResult {
	t.Helper()
	res, err := env.Service.SendOTP(t.Context(), p, in)
	if err != nil {
		t.Fatalf("SendOTP: %v", err)
	}
	return res
}

func TestSendOTP(t *testing.T) {
	env := authtest.New(t, authtest.WithConfig(auth.Config{SendLimit: 3}))
	ctx := t.Context()
	other, err := env.Service.CreateUser(ctx, env.Project, auth.CreateUserInput{Phone: "+14155550100"})
	if err != nil {
		t.Fatal(err)
	}
	owner, err := env.Service.CreateUser(ctx, env.Project, auth.CreateUserInput{Email: "owner@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		in          auth.SendOTPInput
		code        auth.Code
		wantCreated bool
	}{
		{"OKLoginOrCreateCreatesUser", auth.SendOTPInput{Channel: auth.ChannelSMS, To: "+1 415 222 2222", LoginOrCreate: true}, "", true},
		{"OKLoginOrCreateFindsUser", auth.SendOTPInput{Channel: auth.ChannelSMS, To: phone, LoginOrCreate: true}, "", false},
		{"OKSendToKnownPhone", auth.SendOTPInput{Channel: auth.ChannelWhatsApp, To: phone}, "", false},
		{"OKAttachToUser", auth.SendOTPInput{Channel: auth.ChannelSMS, To: "+14155550111", UserID: owner.ID}, "", false},
		{"ErrUnknownRecipient", auth.SendOTPInput{Channel: auth.ChannelEmail, To: "nobody@example.com"}, auth.EEmailNotFound, false},
		{"ErrInvalidPhone", auth.SendOTPInput{Channel: auth.ChannelSMS, To: "415-222-2222", LoginOrCreate: true}, auth.EInvalidPhone, false},
		{"ErrInvalidEmail", auth.SendOTPInput{Channel: auth.ChannelEmail, To: "not-an-email", LoginOrCreate: true}, auth.EInvalidEmail, false},
		{"ErrExpirationTooLong", auth.SendOTPInput{Channel: auth.ChannelSMS, To: phone, Expiration: 11 * time.Minute}, auth.EInvalidExpiration, false},
		{"ErrAttachPhoneOfAnotherUser", auth.SendOTPInput{Channel: auth.ChannelSMS, To: other.Phones[0].Number, UserID: owner.ID}, auth.EDuplicatePhone, false},
		{"ErrAttachToUnknownUser", auth.SendOTPInput{Channel: auth.ChannelSMS, To: "+14155550112", UserID: "user-test-nope"}, auth.EUserNotFound, false},
		{"ErrRateLimitedFourthSend", auth.SendOTPInput{Channel: auth.ChannelSMS, To: phone}, auth.ERateLimited, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(env.Events())
			res, err := env.Service.SendOTP(ctx, env.Project, tt.in)
			if auth.ErrorCode(err) != tt.code {
				t.Fatalf("err = %v, want code %q", err, tt.code)
			}
			if tt.code != "" {
				if len(env.Events()) != before {
					t.Fatal("a failed send published an event")
				}
				return
			}
			if res.UserCreated != tt.wantCreated || res.UserID == "" || res.MethodID == "" {
				t.Fatalf("result = %+v", res)
			}
			evs := env.Events()
			if len(evs) != before+1 {
				t.Fatalf("events = %d, want %d", len(evs), before+1)
			}
			ev := evs[len(evs)-1]
			if ev.Channel != tt.in.Channel || len(ev.Code) != 6 || ev.MessageID != res.MessageID {
				t.Fatalf("event = %+v", ev)
			}
		})
	}
}

func TestAuthenticateOTP(t *testing.T) {
	ctx := t.Context()
	tests := []struct {
		name string
		// run sends and authenticates; it returns the error of the final authenticate.
		run  func(t *testing.T, env *authtest.Env, methodID string) error
		code auth.Code
	}{
		{"OKRightCode", func(t *testing.T, env *authtest.Env, m string) error {
			_, err := env.Service.AuthenticateOTP(ctx, env.Project, auth.AuthenticateOTPInput{MethodID: m, Code: env.LastCode(phone)})
			return err
		}, ""},
		{"ErrWrongCode", func(t *testing.T, env *authtest.Env, m string) error {
			_, err := env.Service.AuthenticateOTP(ctx, env.Project, auth.AuthenticateOTPInput{MethodID: m, Code: wrong(env.LastCode(phone))})
			return err
		}, auth.EOTPWrong},
		{"ErrRightCodeAfterFiveWrong", func(t *testing.T, env *authtest.Env, m string) error {
			for i := 0; i < 5; i++ {
				if _, err := env.Service.AuthenticateOTP(ctx, env.Project, auth.AuthenticateOTPInput{MethodID: m, Code: wrong(env.LastCode(phone))}); auth.ErrorCode(err) != auth.EOTPWrong {
					t.Fatalf("attempt %d: %v", i+1, err)
				}
			}
			_, err := env.Service.AuthenticateOTP(ctx, env.Project, auth.AuthenticateOTPInput{MethodID: m, Code: env.LastCode(phone)})
			return err
		}, auth.EOTPExpired},
		{"ErrCodeReused", func(t *testing.T, env *authtest.Env, m string) error {
			code := env.LastCode(phone)
			if _, err := env.Service.AuthenticateOTP(ctx, env.Project, auth.AuthenticateOTPInput{MethodID: m, Code: code}); err != nil {
				t.Fatal(err)
			}
			_, err := env.Service.AuthenticateOTP(ctx, env.Project, auth.AuthenticateOTPInput{MethodID: m, Code: code})
			return err
		}, auth.EOTPExpired},
		{"ErrSupersededByNewSend", func(t *testing.T, env *authtest.Env, m string) error {
			old := env.LastCode(phone)
			// Resend until the new code differs (equal by chance 1 in a million).
			for env.LastCode(phone) == old {
				mustSend(t, env, env.Project, auth.SendOTPInput{Channel: auth.ChannelSMS, To: phone})
			}
			_, err := env.Service.AuthenticateOTP(ctx, env.Project, auth.AuthenticateOTPInput{MethodID: m, Code: old})
			return err
		}, auth.EOTPWrong},
		{"ErrExpired", func(t *testing.T, env *authtest.Env, m string) error {
			later := func() time.Time { return time.Now().Add(3 * time.Minute) }
			env.Service.SetClock(later)
			env.Store.SetClock(later)
			_, err := env.Service.AuthenticateOTP(ctx, env.Project, auth.AuthenticateOTPInput{MethodID: m, Code: env.LastCode(phone)})
			return err
		}, auth.EOTPExpired},
		{"ErrOtherProjectsMethod", func(t *testing.T, env *authtest.Env, m string) error {
			p2, _ := env.NewProject(t, false)
			_, err := env.Service.AuthenticateOTP(ctx, p2, auth.AuthenticateOTPInput{MethodID: m, Code: env.LastCode(phone)})
			return err
		}, auth.EOTPNotFound},
		{"ErrBadSessionArgsDoNotConsume", func(t *testing.T, env *authtest.Env, m string) error {
			_, err := env.Service.AuthenticateOTP(ctx, env.Project, auth.AuthenticateOTPInput{MethodID: m, Code: env.LastCode(phone), Session: auth.SessionRequest{Duration: time.Minute}})
			if auth.ErrorCode(err) != auth.EInvalidDuration {
				t.Fatalf("err = %v", err)
			}
			_, err = env.Service.AuthenticateOTP(ctx, env.Project, auth.AuthenticateOTPInput{MethodID: m, Code: env.LastCode(phone)})
			return err
		}, ""},
		{"OKUnknownSessionTokenDoesNotBurnCode", func(t *testing.T, env *authtest.Env, m string) error {
			_, err := env.Service.AuthenticateOTP(ctx, env.Project, auth.AuthenticateOTPInput{MethodID: m, Code: env.LastCode(phone), Session: auth.SessionRequest{Token: auth.NewToken()}})
			if auth.ErrorCode(err) != auth.ESessionNotFound {
				t.Fatalf("err = %v", err)
			}
			_, err = env.Service.AuthenticateOTP(ctx, env.Project, auth.AuthenticateOTPInput{MethodID: m, Code: env.LastCode(phone)})
			return err
		}, ""},
		{"OKOtherUsersSessionDoesNotBurnCode", func(t *testing.T, env *authtest.Env, m string) error {
			other := mustSend(t, env, env.Project, auth.SendOTPInput{Channel: auth.ChannelSMS, To: "+14155550199", LoginOrCreate: true})
			res, err := env.Service.AuthenticateOTP(ctx, env.Project, auth.AuthenticateOTPInput{MethodID: other.MethodID, Code: env.LastCode("+14155550199"), Session: auth.SessionRequest{Duration: time.Hour}})
			if err != nil {
				t.Fatal(err)
			}
			_, err = env.Service.AuthenticateOTP(ctx, env.Project, auth.AuthenticateOTPInput{MethodID: m, Code: env.LastCode(phone), Session: auth.SessionRequest{Token: res.SessionToken}})
			if auth.ErrorCode(err) != auth.EUserMismatch {
				t.Fatalf("err = %v", err)
			}
			_, err = env.Service.AuthenticateOTP(ctx, env.Project, auth.AuthenticateOTPInput{MethodID: m, Code: env.LastCode(phone)})
			return err
		}, ""},
		{"ErrMalformedCode", func(t *testing.T, env *authtest.Env, m string) error {
			_, err := env.Service.AuthenticateOTP(ctx, env.Project, auth.AuthenticateOTPInput{MethodID: m, Code: "12a456"})
			return err
		}, auth.EInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := authtest.New(t)
			res := mustSend(t, env, env.Project, auth.SendOTPInput{Channel: auth.ChannelSMS, To: phone, LoginOrCreate: true})
			if err := tt.run(t, env, res.MethodID); auth.ErrorCode(err) != tt.code {
				t.Fatalf("err = %v, want code %q", err, tt.code)
			}
		})
	}
}

func wrong(code string) string {
	if code == "000001" {
		return "000002"
	}
	return "000001"
}

func TestAuthenticateOTP_ConcurrentRightCodeConsumedOnce(t *testing.T) {
	env := authtest.New(t)
	res := mustSend(t, env, env.Project, auth.SendOTPInput{Channel: auth.ChannelSMS, To: phone, LoginOrCreate: true})
	code := env.LastCode(phone)
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := env.Service.AuthenticateOTP(context.Background(), env.Project, auth.AuthenticateOTPInput{MethodID: res.MethodID, Code: code}); err == nil {
				mu.Lock()
				ok++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if ok != 1 {
		t.Fatalf("%d concurrent verifications succeeded, want exactly 1", ok)
	}
}

func TestAuthenticateOTP_SessionLifecycle(t *testing.T) {
	env := authtest.New(t)
	ctx := t.Context()
	sms := mustSend(t, env, env.Project, auth.SendOTPInput{Channel: auth.ChannelSMS, To: phone, LoginOrCreate: true})
	first, err := env.Service.AuthenticateOTP(ctx, env.Project, auth.AuthenticateOTPInput{MethodID: sms.MethodID, Code: env.LastCode(phone),
		Session: auth.SessionRequest{Duration: time.Hour, CustomClaims: map[string]any{"tier": "gold", "sub": "ignored"}, Attributes: auth.Attributes{IPAddress: "203.0.113.1"}}})
	if err != nil {
		t.Fatal(err)
	}
	if first.SessionToken == "" || first.SessionJWT == "" || first.Session == nil {
		t.Fatalf("no session: %+v", first)
	}
	if first.Session.CustomClaims["tier"] != "gold" || first.Session.CustomClaims["sub"] != nil {
		t.Fatalf("claims = %v", first.Session.CustomClaims)
	}
	if !first.User.Phones[0].Verified || first.User.Status != auth.UserActive {
		t.Fatalf("phone not verified or user not active: %+v", first.User)
	}
	// A second factor by email extends the same session.
	if _, err := env.Service.UpdateUser(ctx, env.Project, first.User.ID, auth.UpdateUserInput{AddEmails: []string{"ada@example.com"}}); err != nil {
		t.Fatal(err)
	}
	em := mustSend(t, env, env.Project, auth.SendOTPInput{Channel: auth.ChannelEmail, To: "ada@example.com"})
	second, err := env.Service.AuthenticateOTP(ctx, env.Project, auth.AuthenticateOTPInput{MethodID: em.MethodID, Code: env.LastCode("ada@example.com"),
		Session: auth.SessionRequest{JWT: first.SessionJWT}})
	if err != nil {
		t.Fatal(err)
	}
	if second.Session.ID != first.Session.ID || len(second.Session.Factors) != 2 || second.SessionToken != first.SessionToken {
		t.Fatalf("session not extended with a second factor: %+v", second.Session)
	}

	tests := []struct {
		name string
		in   auth.AuthenticateSessionInput
		code auth.Code
	}{
		{"OKByToken", auth.AuthenticateSessionInput{Token: first.SessionToken}, ""},
		{"OKByJWT", auth.AuthenticateSessionInput{JWT: first.SessionJWT, Duration: 2 * time.Hour}, ""},
		{"OKIPMatch", auth.AuthenticateSessionInput{Token: first.SessionToken, Attributes: auth.Attributes{IPAddress: "203.0.113.1"}, Options: auth.SessionOptions{IPMatchRequired: true}}, ""},
		{"ErrIPMismatch", auth.AuthenticateSessionInput{Token: first.SessionToken, Attributes: auth.Attributes{IPAddress: "198.51.100.7"}, Options: auth.SessionOptions{IPMatchRequired: true}}, auth.EIPMismatch},
		{"ErrBothArgs", auth.AuthenticateSessionInput{Token: first.SessionToken, JWT: first.SessionJWT}, auth.ETooManySessionArgs},
		{"ErrNoArgs", auth.AuthenticateSessionInput{}, auth.ENoSessionArgs},
		{"ErrUnknownToken", auth.AuthenticateSessionInput{Token: auth.NewToken()}, auth.ESessionNotFound},
		{"ErrGarbageJWT", auth.AuthenticateSessionInput{JWT: "not.a.jwt"}, auth.EJWTInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := env.Service.AuthenticateSession(ctx, env.Project, tt.in)
			if auth.ErrorCode(err) != tt.code {
				t.Fatalf("err = %v, want %q", err, tt.code)
			}
			if err == nil && (res.SessionJWT == "" || res.User.ID != first.User.ID) {
				t.Fatalf("result = %+v", res)
			}
		})
	}
	t.Run("ErrOtherProjectCannotUseToken", func(t *testing.T) {
		p2, _ := env.NewProject(t, false)
		if _, err := env.Service.AuthenticateSession(ctx, p2, auth.AuthenticateSessionInput{Token: first.SessionToken}); auth.ErrorCode(err) != auth.ESessionNotFound {
			t.Fatalf("err = %v", err)
		}
		if _, err := env.Service.AuthenticateSession(ctx, p2, auth.AuthenticateSessionInput{JWT: first.SessionJWT}); auth.ErrorCode(err) != auth.EJWTInvalid {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("OKRevokeThenNotFound", func(t *testing.T) {
		if err := env.Service.RevokeSession(ctx, env.Project, auth.RevokeSessionInput{Token: first.SessionToken}); err != nil {
			t.Fatal(err)
		}
		if _, err := env.Service.AuthenticateSession(ctx, env.Project, auth.AuthenticateSessionInput{JWT: first.SessionJWT}); auth.ErrorCode(err) != auth.ESessionNotFound {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestSandbox(t *testing.T) {
	env := authtest.New(t)
	ctx := t.Context()
	live, _ := env.NewProject(t, true)
	tests := []struct {
		name       string
		p          *auth.Project
		wantEvents int
		code       auth.Code
	}{
		{"OKTestProjectSendsNothingAndAcceptsSandboxCode", env.Project, 0, ""},
		{"ErrLiveProjectHasNoBypass", live, 1, auth.EOTPWrong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(env.Events())
			res := mustSend(t, env, tt.p, auth.SendOTPInput{Channel: auth.ChannelSMS, To: auth.SandboxPhone, LoginOrCreate: true})
			if got := len(env.Events()) - before; got != tt.wantEvents {
				t.Fatalf("events = %d, want %d", got, tt.wantEvents)
			}
			code := auth.SandboxCode
			for tt.p.Live() && env.LastCode(auth.SandboxPhone) == code {
				// The random code equals the sandbox code (1 in a million): get another.
				res = mustSend(t, env, tt.p, auth.SendOTPInput{Channel: auth.ChannelSMS, To: auth.SandboxPhone})
			}
			_, err := env.Service.AuthenticateOTP(ctx, tt.p, auth.AuthenticateOTPInput{MethodID: res.MethodID, Code: code})
			if auth.ErrorCode(err) != tt.code {
				t.Fatalf("err = %v, want %q", err, tt.code)
			}
		})
	}
}

func TestMagicLink(t *testing.T) {
	env := authtest.New(t)
	ctx := t.Context()
	const email = "ml@example.com"
	res, err := env.Service.SendMagicLink(ctx, env.Project, auth.SendMagicLinkInput{Email: email, LoginOrCreate: true, SignupURL: "https://app.example.com/signup?x=1", CodeChallenge: auth.PKCEChallenge("verifier-123")})
	if err != nil {
		t.Fatal(err)
	}
	ev := env.Events()[len(env.Events())-1]
	if ev.LinkKind != auth.MagicLinkSignup || ev.Kind != auth.KindMagicLink {
		t.Fatalf("event = %+v", ev)
	}
	token := env.LastToken(email)
	tests := []struct {
		name     string
		token    string
		verifier string
		code     auth.Code
	}{
		{"ErrPKCEMismatch", token, "wrong-verifier", auth.EPKCEMismatch},
		{"ErrUnknownToken", auth.NewToken(), "", auth.EMagicLinkNotFound},
		{"OK", token, "verifier-123", ""},
		{"ErrReused", token, "verifier-123", auth.EMagicLinkUsed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := env.Service.AuthenticateMagicLink(ctx, env.Project, auth.AuthenticateMagicLinkInput{Token: tt.token, CodeVerifier: tt.verifier, Session: auth.SessionRequest{Duration: time.Hour}})
			if auth.ErrorCode(err) != tt.code {
				t.Fatalf("err = %v, want %q", err, tt.code)
			}
			if err == nil && (out.User.ID != res.UserID || out.Factor.Type != auth.FactorMagicLink || !out.User.Emails[0].Verified || out.SessionToken == "") {
				t.Fatalf("result = %+v", out)
			}
		})
	}
}

func TestRelay_RepublishesWhatTheInlinePublishMissed(t *testing.T) {
	env := authtest.New(t)
	ctx := t.Context()
	env.Publisher.SetFail(errors.New("nats: no responders"))
	for _, to := range []string{"+14155550101", "+14155550102", "+14155550103"} {
		if _, err := env.Service.SendOTP(ctx, env.Project, auth.SendOTPInput{Channel: auth.ChannelSMS, To: to, LoginOrCreate: true}); err != nil {
			t.Fatalf("send during outage must be accepted: %v", err)
		}
	}
	if n := len(env.Events()); n != 0 {
		t.Fatalf("events during outage = %d", n)
	}
	relay := &auth.Relay{Store: env.Store, Publisher: env.Publisher, Keys: env.Keys, MinAge: time.Nanosecond}
	if n, err := relay.RunOnce(ctx); err == nil {
		c, _ := env.Store.CountOutbox(ctx)
		t.Fatalf("relay publish during outage should fail (published %d, queued %d)", n, c)
	}
	env.Publisher.SetFail(nil)
	time.Sleep(2 * time.Millisecond)
	// The failed relay run leased its rows for Lease (10 s); the others go now.
	total := 0
	n, err := relay.RunOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	total += n
	if pending, _ := env.Store.CountOutbox(ctx); pending+total != 3 {
		t.Fatalf("published %d, pending %d: want 3 in all", total, pending)
	}
	if len(env.Events()) != total {
		t.Fatalf("events = %d, relay reported %d", len(env.Events()), total)
	}
	if n, _ := relay.RunOnce(ctx); n != 0 {
		t.Fatalf("second relay run published %d, want 0", n)
	}
}

type fakeSender struct {
	mu    sync.Mutex
	calls int
	errs  []error
}

func (f *fakeSender) Send(_ context.Context, m *auth.OutboundMessage) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if len(f.errs) > 0 {
		err := f.errs[0]
		f.errs = f.errs[1:]
		if err != nil {
			return "", err
		}
	}
	return "SM-fake", nil
}

func TestDeliverer(t *testing.T) {
	render := func(ev *auth.Event) *auth.OutboundMessage {
		return &auth.OutboundMessage{Channel: ev.Channel, To: ev.To, Text: ev.Code}
	}
	tests := []struct {
		name      string
		errs      []error
		prepare   func(t *testing.T, env *authtest.Env, ev *auth.Event)
		wantCalls int
		wantErr   bool
		permanent bool
		status    auth.MessageStatus
	}{
		{"OKSent", nil, nil, 1, false, false, auth.MessageSent},
		{"OKAlreadySentNotResent", nil, func(t *testing.T, env *authtest.Env, ev *auth.Event) {
			d := &auth.Deliverer{Store: env.Store, Sender: &fakeSender{}, Render: render}
			if err := d.Deliver(t.Context(), ev); err != nil {
				t.Fatal(err)
			}
		}, 0, false, false, auth.MessageSent},
		{"ErrPermanentRecordedFailed", []error{auth.Permanent("twilio 21211", nil)}, nil, 1, true, true, auth.MessageFailed},
		{"ErrTransientRecordedRetrying", []error{auth.Retryable("twilio 503", 0, nil)}, nil, 1, true, false, auth.MessageRetrying},
		{"OKSupersededSkipped", nil, func(t *testing.T, env *authtest.Env, ev *auth.Event) {
			mustSend(t, env, env.Project, auth.SendOTPInput{Channel: auth.ChannelSMS, To: phone})
		}, 0, false, false, auth.MessageSkipped},
		{"OKExpiredSkipped", nil, func(t *testing.T, env *authtest.Env, ev *auth.Event) {
			ev.ExpiresAt = time.Now().Add(-time.Second)
		}, 0, false, false, auth.MessageSkipped},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := authtest.New(t)
			mustSend(t, env, env.Project, auth.SendOTPInput{Channel: auth.ChannelSMS, To: phone, LoginOrCreate: true})
			ev := env.Events()[0]
			if tt.prepare != nil {
				tt.prepare(t, env, ev)
			}
			s := &fakeSender{errs: tt.errs}
			d := &auth.Deliverer{Store: env.Store, Sender: s, Render: render}
			err := d.Deliver(t.Context(), ev)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			if err != nil && auth.AsDeliveryError(err).Permanent != tt.permanent {
				t.Fatalf("permanent = %v", auth.AsDeliveryError(err).Permanent)
			}
			if s.calls != tt.wantCalls {
				t.Fatalf("provider calls = %d, want %d", s.calls, tt.wantCalls)
			}
			m, err := env.Service.GetMessage(t.Context(), env.Project, ev.MessageID)
			if err != nil {
				t.Fatal(err)
			}
			if m.Status != tt.status {
				t.Fatalf("status = %s, want %s (last error %q)", m.Status, tt.status, m.LastError)
			}
		})
	}
}

func TestSendOTP_AbuseLimits(t *testing.T) {
	tests := []struct {
		name string
		cfg  auth.Config
		ctx  func(context.Context) context.Context
		to   []string
		code auth.Code // of the last send
	}{
		{"OKAllowedCountry", auth.Config{AllowedCountries: []string{"us", "CA"}}, nil, []string{"+14152222222"}, ""},
		{"ErrCountryNotAllowed", auth.Config{AllowedCountries: []string{"US"}}, nil, []string{"+447911123456"}, auth.ECountryNotAllowed},
		{"OKUnderIPLimit", auth.Config{IPSendLimit: 2}, func(c context.Context) context.Context { return auth.WithClientIP(c, "198.51.100.1") }, []string{"+14155550001", "+14155550002"}, ""},
		{"ErrOverIPLimitAcrossRecipients", auth.Config{IPSendLimit: 2}, func(c context.Context) context.Context { return auth.WithClientIP(c, "198.51.100.1") }, []string{"+14155550001", "+14155550002", "+14155550003"}, auth.ERateLimited},
		{"ErrOverRecipientLimit", auth.Config{SendLimit: 2}, nil, []string{"+14155550001", "+14155550001", "+14155550001"}, auth.ERateLimited},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			if cfg.SendLimit == 0 {
				cfg.SendLimit = 100
			}
			env := authtest.New(t, authtest.WithConfig(cfg))
			ctx := t.Context()
			if tt.ctx != nil {
				ctx = tt.ctx(ctx)
			}
			var err error
			for _, to := range tt.to {
				_, err = env.Service.SendOTP(ctx, env.Project, auth.SendOTPInput{Channel: auth.ChannelSMS, To: to, LoginOrCreate: true})
			}
			if auth.ErrorCode(err) != tt.code {
				t.Fatalf("last send err = %v, want %q", err, tt.code)
			}
		})
	}
}

func TestSendOTP_IdempotencyKey(t *testing.T) {
	env := authtest.New(t)
	keyed := func(key string) context.Context { return auth.WithIdempotencyKey(t.Context(), key) }
	in := auth.SendOTPInput{Channel: auth.ChannelSMS, To: phone, LoginOrCreate: true}
	first, err := env.Service.SendOTP(keyed("k-1"), env.Project, in)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		ctx        context.Context
		p          func() *auth.Project
		in         auth.SendOTPInput
		code       auth.Code
		sameResult bool
		newEvents  int
	}{
		{"OKRetrySameKeyReturnsFirstResultAndSendsNothing", keyed("k-1"), func() *auth.Project { return env.Project }, in, "", true, 0},
		{"ErrSameKeyDifferentRequest", keyed("k-1"), func() *auth.Project { return env.Project }, auth.SendOTPInput{Channel: auth.ChannelSMS, To: "+14155550177", LoginOrCreate: true}, auth.EConflict, false, 0},
		{"OKOtherKeySendsAgain", keyed("k-2"), func() *auth.Project { return env.Project }, in, "", false, 1},
		{"OKNoKeySendsAgain", t.Context(), func() *auth.Project { return env.Project }, in, "", false, 1},
		{"OKKeysAreScopedPerProject", keyed("k-1"), func() *auth.Project { p, _ := env.NewProject(t, false); return p }, in, "", false, 1},
		{"ErrKeyTooLong", keyed(strings.Repeat("k", 256)), func() *auth.Project { return env.Project }, in, auth.EInvalid, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(env.Events())
			res, err := env.Service.SendOTP(tt.ctx, tt.p(), tt.in)
			if auth.ErrorCode(err) != tt.code {
				t.Fatalf("err = %v, want %q", err, tt.code)
			}
			if got := len(env.Events()) - before; got != tt.newEvents {
				t.Fatalf("new events = %d, want %d", got, tt.newEvents)
			}
			if err == nil && (res.MessageID == first.MessageID) != tt.sameResult {
				t.Fatalf("message id %s vs first %s, want same=%v", res.MessageID, first.MessageID, tt.sameResult)
			}
		})
	}
	t.Run("OKFailedRequestReleasesTheKey", func(t *testing.T) {
		bad := auth.SendOTPInput{Channel: auth.ChannelSMS, To: "+1415", LoginOrCreate: true}
		if _, err := env.Service.SendOTP(keyed("k-3"), env.Project, bad); auth.ErrorCode(err) != auth.EInvalidPhone {
			t.Fatalf("err = %v", err)
		}
		if _, err := env.Service.SendOTP(keyed("k-3"), env.Project, bad); auth.ErrorCode(err) != auth.EInvalidPhone {
			t.Fatalf("retry of a failed request: err = %v, want the same validation error", err)
		}
	})
}
