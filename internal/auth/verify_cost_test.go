package auth_test

import (
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/auth"
)

// TestVerifyCostsOneRoundTrip counts what a consumer verify sends to
// Postgres: counting the attempt, comparing, consuming, starting the
// session and reading the user back are one round trip, whether the code is
// right or wrong and with or without a new session. (Before VerifyCode: 3
// round trips without a session and 4 with one for a code, 2 and 3 for a
// link.) Each case also checks the verify's outcome, so that a cheap
// failure cannot pass.
func TestVerifyCostsOneRoundTrip(t *testing.T) {
	c, env := countedEnv(t)
	ctx, p := t.Context(), env.Project
	if _, err := env.Signer.JWKS(ctx, p.ID); err != nil { // the signing keys exist before counting
		t.Fatal(err)
	}
	sendCode := func() (methodID, code string) {
		email := "code" + auth.NewUUID()[:8] + "@example.com"
		res, err := env.Service.SendOTP(ctx, p, auth.SendOTPInput{Channel: auth.ChannelEmail, To: email, LoginOrCreate: true})
		if err != nil {
			t.Fatal(err)
		}
		return res.MethodID, env.LastCode(email)
	}
	sendLink := func() string {
		email := "link" + auth.NewUUID()[:8] + "@example.com"
		if _, err := env.Service.SendMagicLink(ctx, p, auth.SendMagicLinkInput{Email: email, LoginOrCreate: true}); err != nil {
			t.Fatal(err)
		}
		return env.LastToken(email)
	}
	withSession := auth.SessionRequest{Duration: time.Hour}
	code := func(session auth.SessionRequest, wrong bool) func() func() (*auth.AuthResult, error) {
		return func() func() (*auth.AuthResult, error) {
			m, code := sendCode()
			if wrong {
				code = map[bool]string{true: "123456", false: "654321"}[code == "654321"] // not the sandbox code either
			}
			return func() (*auth.AuthResult, error) {
				return env.Service.AuthenticateOTP(ctx, p, auth.AuthenticateOTPInput{MethodID: m, Code: code, Session: session})
			}
		}
	}
	link := func(session auth.SessionRequest) func() func() (*auth.AuthResult, error) {
		return func() func() (*auth.AuthResult, error) {
			token := sendLink()
			return func() (*auth.AuthResult, error) {
				return env.Service.AuthenticateMagicLink(ctx, p, auth.AuthenticateMagicLinkInput{Token: token, Session: session})
			}
		}
	}
	tests := []struct {
		name    string
		prepare func() func() (*auth.AuthResult, error) // sends, and returns the verify
		session bool
		wantErr auth.Code
	}{
		{"right code without session", code(auth.SessionRequest{}, false), false, ""},
		{"right code with a new session", code(withSession, false), true, ""},
		{"wrong code with a session asked", code(withSession, true), false, auth.EOTPWrong},
		{"link without session", link(auth.SessionRequest{}), false, ""},
		{"link with a new session", link(withSession), true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _ = tt.prepare()() // warm-up: the statements get prepared on a connection
			verify := tt.prepare()
			var res *auth.AuthResult
			var verr error
			got := c.count(t, func() error {
				res, verr = verify()
				return nil
			})
			if auth.ErrorCode(verr) != tt.wantErr {
				t.Fatalf("error %v, want code %q", verr, tt.wantErr)
			}
			if verr == nil && (res.User == nil || res.User.Status != auth.UserActive || (res.SessionJWT != "") != tt.session) {
				t.Fatalf("result user %+v, jwt %q: want an active user and a session %v", res.User, res.SessionJWT, tt.session)
			}
			t.Logf("%d statements in %d round trips", got.statements, got.trips)
			if got.trips != 1 {
				t.Errorf("%d round trips (%d statements), want 1", got.trips, got.statements)
			}
		})
	}
}

// TestVerifyAcceptsCodesBoundToTheirChallenge: a code issued before codes
// were bound to their project and method (its MAC bound to the challenge
// id) still authenticates once, after its attempt was counted; wrong codes
// and a second use are refused as for any code.
func TestVerifyAcceptsCodesBoundToTheirChallenge(t *testing.T) {
	f := newFlowEnv(t)
	ctx, p := t.Context(), f.Project
	to := flowEmail("example.com")
	sent, err := f.Service.SendOTP(ctx, p, auth.SendOTPInput{Channel: auth.ChannelEmail, To: to, LoginOrCreate: true})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	c := &auth.Challenge{ID: auth.NewID(auth.PrefixChallenge, p), ProjectID: p.ID, UserID: sent.UserID, MethodID: sent.MethodID,
		Channel: auth.ChannelEmail, ExpiresAt: now.Add(5 * time.Minute), CreatedAt: now.Add(time.Second)} // supersedes the new-style code
	const code = "424242"
	c.CodeHMAC = f.Keys.CodeMAC(c.ID, code)
	if err := f.Store.CreateChallenge(ctx, c, nil, nil); err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		name, code string
		wantErr    auth.Code
	}{
		{"WrongCodeRefused", "123123", auth.EOTPWrong},
		{"NewStyleCodeOfTheSupersededChallengeRefused", f.LastCode(to), auth.EOTPWrong},
		{"OldStyleCodeAuthenticates", code, ""},
		{"SecondUseRefused", code, auth.EOTPExpired},
	} {
		res, err := f.Service.AuthenticateOTP(ctx, p, auth.AuthenticateOTPInput{MethodID: sent.MethodID, Code: step.code,
			Session: auth.SessionRequest{Duration: time.Hour}})
		if auth.ErrorCode(err) != step.wantErr {
			t.Fatalf("%s: error %v, want %q", step.name, err, step.wantErr)
		}
		if err == nil && (res.User.Status != auth.UserActive || res.SessionJWT == "" || res.Factor.Value != to) {
			t.Fatalf("%s: result %+v", step.name, res)
		}
	}
}
